package dev.pullhook.parity;

import dev.pullhook.testing.TreeWriter.File;
import dev.pullhook.testing.TreeWriter.Leaf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The random names and contents generated commits are made of, and the edits of a commit's file map
 * ({@code path -> leaf}) that keep it a tree git can hold. Contents round-trip through every attribute set the
 * generator uses, so git status never depends on timing. Paths under {@code ext/} and git's own files are
 * the generator's alone.
 */
final class RandomFiles {
    private static final String[] DIRS = {"", "", "src/", "src/util/", "docs/", "docs/deep/er/", "a/", "x y/",
        "\u00fcn\u00ef/", "-opt/"};
    private static final String[] EXTENSIONS = {"txt", "txt", "md", "bin", "up", "raw", "sh", "log"};
    private static final String[] ODD_NAMES = {"with space.txt", "hash#tag.md", "-leading-dash.txt", "#start.txt",
        "caf\u00e9.txt", "cafe\u0301.txt", "l".repeat(200) + ".txt", "new\nline.txt", "trailing space .md",
        "\u00fc/\u00f1/deep.txt", "quote\"d 'name'.txt", "semi;colon&amp.md"};
    static final Set<String> RESERVED = Set.of(".gitignore", ".gitattributes", "docs/.gitattributes",
        ".gitmodules", "ext/lib");

    private final Random rnd;
    private int counter;

    RandomFiles(Random rnd) {
        this.rnd = rnd;
    }

    /** Puts {@code leaf} at {@code path}, removing whatever is in its way (a file at a leading folder, a folder). */
    static void put(TreeMap<String, Leaf> m, String path, Leaf leaf) {
        for (int i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
            m.remove(path.substring(0, i));
        }
        m.subMap(path + "/", path + "0").clear();
        m.put(path, leaf);
    }

    /** A fresh number, for unique names. */
    int next() {
        return ++counter;
    }

    /** One of the folders new files go to ({@code ""}: the top). */
    String dir() {
        return DIRS[rnd.nextInt(DIRS.length)];
    }

    /** A path with an odd name: spaces, {@code #}, a leading {@code -}, NFC and NFD, 204 bytes, a newline... */
    String oddPath() {
        return dir() + ODD_NAMES[rnd.nextInt(ODD_NAMES.length)];
    }

    String newPath() {
        String ext = EXTENSIONS[rnd.nextInt(EXTENSIONS.length)];
        return dir() + "f" + next() + "." + ext;
    }

    File newFile(String path) {
        String ext = path.substring(path.lastIndexOf('.') + 1);
        if (ext.equals("bin")) {
            return new File(binary(), false);
        }
        return new File(content(ext).getBytes(StandardCharsets.UTF_8), ext.equals("sh"));
    }

    /**
     * Text whose round trip through every attribute set used here gives the blob back (LF only; lower case
     * only for the filter's files), so that git status never depends on whether an entry is racily clean.
     */
    String content(String ext) {
        if (rnd.nextInt(20) == 0) {
            return "";
        }
        StringBuilder b = new StringBuilder(ext.equals("sh") ? "#!/bin/sh\n" : "");
        String[] words = {"alpha", "Beta", "gamma", "Delta", "eps", "zeta", "ETA", "theta"};
        int lines = 1 + rnd.nextInt(6);
        for (int i = 0; i < lines; i++) {
            for (int w = 0; w < 1 + rnd.nextInt(6); w++) {
                b.append(words[rnd.nextInt(words.length)]).append(w % 3 == 2 ? "" : " ");
            }
            b.append(counter++).append('\n');
        }
        String s = b.toString();
        return ext.equals("up") ? s.toLowerCase(Locale.ROOT) : s;
    }

    /** Binary content: NUL bytes and CRLF, which no conversion may touch. */
    byte[] binary() {
        byte[] b = new byte[8 + rnd.nextInt(64)];
        rnd.nextBytes(b);
        b[0] = 0;
        b[1] = '\r';
        b[2] = '\n';
        return b;
    }

    static File text(String s) {
        return new File(s.getBytes(StandardCharsets.UTF_8), false);
    }

    /** A random path holding a {@code type} (not git's own files, not the gitlink). */
    String pick(TreeMap<String, Leaf> m, Class<? extends Leaf> type) {
        List<String> paths = new ArrayList<>();
        m.forEach((p, l) -> {
            if (type.isInstance(l) && !RESERVED.contains(p) && !p.startsWith("ext/")) {
                paths.add(p);
            }
        });
        return paths.isEmpty() ? null : paths.get(rnd.nextInt(paths.size()));
    }

    String pickDir(TreeMap<String, Leaf> m) {
        TreeSet<String> dirs = new TreeSet<>();
        for (String p : m.keySet()) {
            for (int i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
                dirs.add(p.substring(0, i));
            }
        }
        dirs.removeIf(d -> d.equals("ext") || d.startsWith("ext/"));
        List<String> list = new ArrayList<>(dirs);
        return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
    }

    /** The relative link target from the folder of {@code link} to {@code target} (both from the top). */
    static String relative(String link, String target) {
        String[] from = link.split("/");
        String[] to = target.split("/");
        int common = 0;
        while (common < from.length - 1 && common < to.length && from[common].equals(to[common])) {
            common++;
        }
        StringBuilder b = new StringBuilder();
        for (int i = common; i < from.length - 1; i++) {
            b.append("../");
        }
        for (int i = common; i < to.length; i++) {
            b.append(to[i]).append(i < to.length - 1 ? "/" : "");
        }
        // "../../" (a link to the top folder) would end in '/': Java cannot make such a link (it drops the
        // slash), so pullhook refuses it (RefusalParityIT); "../.." is what a link to a folder looks like here
        String t = b.toString().replaceAll("/+$", "");
        return t.isEmpty() ? "." : t;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
