package dev.pullhook.git;

import org.eclipse.jgit.errors.CorruptObjectException;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectChecker;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The names git refuses to check out, applied to every path a deploy writes before anything is written:
 * JGit's {@link ObjectChecker} path rules ({@code .}, {@code ..}, empty names, {@code .git} in any case,
 * {@code git~1}, {@code .git} with trailing dots or spaces) plus the HFS+ ignorable-Unicode spellings and the
 * NTFS spellings git refuses everywhere ({@code .git::$INDEX_ALLOCATION}, {@code git~1.}, a backslash after
 * {@code .git}), a {@code .gitmodules} that is a symbolic link, and what this JVM cannot write byte for
 * byte: a name that is not valid UTF-8, or any non-ASCII name when file names are not UTF-8 (under
 * {@code LANG=C}). Stateless and thread-safe.
 */
final class PathRules {
    private PathRules() {
    }

    /**
     * Why git would not check out a tree entry named {@code name[from, to)} of mode {@code mode}, or why
     * pullhook cannot write it as git would; null when it is fine. One path segment only.
     */
    static String segmentProblem(byte[] name, int from, int to, FileMode mode) {
        try {
            new ObjectChecker().checkPathSegment(name, from, to);
        } catch (CorruptObjectException e) {
            return "git refuses this name (" + e.getMessage() + ")";
        }
        if (isHfsDotGit(name, from, to)) {
            return "git refuses this name (an HFS+ spelling of .git)";
        }
        for (int i = from; i < to; i++) {
            if (name[i] == 0 || name[i] == '/') {
                return "git refuses this name (it contains " + (name[i] == 0 ? "NUL" : "'/'") + ")";
            }
        }
        if (isNtfsDotGit(name, from, to)) {
            return "git refuses this name (an NTFS spelling of .git)";
        }
        if (mode == FileMode.SYMLINK && isDotGitmodules(name, from, to)) {
            return "git refuses a .gitmodules that is a symbolic link";
        }
        return encodingProblem(name, from, to);
    }

    /** Whether this JVM writes file names as UTF-8; when not (LANG=C), only ASCII names can be written. */
    static boolean namesAreUtf8() {
        return WorkingCopy.fileNamesNotUtf8() == null;
    }

    private static String encodingProblem(byte[] name, int from, int to) {
        boolean ascii = true;
        for (int i = from; i < to && ascii; i++) {
            ascii = name[i] >= 0;
        }
        if (ascii) {
            return null;
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(name, from, to - from));
        } catch (CharacterCodingException e) {
            return "the name is not valid UTF-8, and Java can only write names it can decode; rename it in the"
                    + " repository";
        }
        if (!namesAreUtf8()) {
            return "the name is not ASCII and this Java writes file names as " + WorkingCopy.fileNamesNotUtf8()
                    + " (start pullhook under a UTF-8 locale, e.g. LANG=C.UTF-8 as the shipped unit does)";
        }
        return null;
    }

    /**
     * git's {@code is_hfs_dotgit}: {@code .git} in any case once the code points HFS+ ignores are dropped
     * (git's fsck refuses it on every platform; JGit's checker only when told the platform is macOS, which
     * would also refuse names that differ only in case, as Linux allows).
     */
    static boolean isHfsDotGit(byte[] b, int from, int to) {
        boolean nonAscii = false;
        for (int i = from; i < to && !nonAscii; i++) {
            nonAscii = b[i] < 0;
        }
        if (!nonAscii) {
            return false;  // plain ".git" in any case is JGit's own rule
        }
        String name = new String(b, from, to - from, StandardCharsets.UTF_8).replaceAll(HFS_IGNORABLE, "");
        return name.equalsIgnoreCase(".git");
    }

    /** The code points HFS+ ignores in names (git's {@code next_hfs_char}). */
    private static final String HFS_IGNORABLE = "[\\u200c-\\u200f\\u202a-\\u202e\\u206a-\\u206f\\ufeff]";

    /** git's {@code is_ntfs_dotgit}: {@code .git} or {@code git~1}, then only dots and spaces, up to the end, ':' or '\'. */
    static boolean isNtfsDotGit(byte[] b, int from, int to) {
        int p;
        if (startsWithIgnoreCase(b, from, to, ".git")) {
            p = from + 4;
        } else if (startsWithIgnoreCase(b, from, to, "git~1")) {
            p = from + 5;
        } else {
            return false;
        }
        for (; p < to; p++) {
            if (b[p] == ':' || b[p] == '\\') {
                return true;
            }
            if (b[p] != '.' && b[p] != ' ') {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code .gitmodules} in the spellings git refuses as a symbolic link: any case, trailing dots or
     * spaces, an NTFS stream, the NTFS short names {@code gitmod~<n>} and {@code gi7eba~<n>}, and HFS+
     * ignorable code points anywhere.
     */
    static boolean isDotGitmodules(byte[] b, int from, int to) {
        String name = new String(b, from, to - from, StandardCharsets.UTF_8).replaceAll(HFS_IGNORABLE, "");
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        int colon = lower.indexOf(':');
        if (colon >= 0) {
            lower = lower.substring(0, colon);
        }
        lower = lower.replaceAll("[. ]+$", "");
        return lower.equals(".gitmodules") || lower.matches("(gitmod|gi7eba)~[1-9]");
    }

    private static boolean startsWithIgnoreCase(byte[] b, int from, int to, String prefix) {
        if (to - from < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            int c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** A path as git's messages quote it: printable ASCII as is, anything else as octal escapes, in quotes. */
    static String quote(byte[] path, int from, int to) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = from; i < to; i++) {
            int c = path[i] & 0xff;
            if (c == '"' || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c >= 0x20 && c < 0x7f) {
                out.append((char) c);
            } else {
                out.append('\\').append(String.format("%03o", c));
            }
        }
        return out.append('"').toString();
    }
}
