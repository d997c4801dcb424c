package dev.pullhook.deploy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * The permissions of what pullhook writes in {@code state.dir}: files {@code 0600}, a folder it creates
 * {@code 0700}, given on create (so the umask can only narrow them, never widen them) and tightened at start
 * when found wider, with a warning naming the path. An existing folder may keep group read and search
 * ({@code 0750}, what the unit's {@code StateDirectoryMode=} gives {@code /var/lib/pullhook}): only its
 * files' names show, never their content. Not the working copy's files: those are the site's, written
 * under the daemon's umask as git writes them.
 */
final class PrivateFiles {
    private static final Logger log = LoggerFactory.getLogger(PrivateFiles.class);
    static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> FOLDER = PosixFilePermissions.fromString("rwx------");
    /** What an existing folder may keep: the group may list it, nobody else may do anything. */
    static final Set<PosixFilePermission> FOLDER_AT_MOST = PosixFilePermissions.fromString("rwxr-x---");

    private PrivateFiles() {
    }

    /** Makes {@code dir} (and missing parents) {@code 0700}, or narrows an existing one to at most {@code 0750}. */
    static void folder(Path dir) throws IOException {
        if (!posix(dir)) {
            Files.createDirectories(dir);
            return;
        }
        if (!Files.exists(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(FOLDER));
            return;
        }
        narrow(dir, FOLDER_AT_MOST);
    }

    /** Narrows an existing file to {@code 0600}; nothing when it does not exist. */
    static void tighten(Path file) throws IOException {
        if (posix(file) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            narrow(file, FILE);
        }
    }

    /** Opens {@code file} with {@code options}; when they create it, it is created {@code 0600}. */
    static FileChannel open(Path file, OpenOption... options) throws IOException {
        Set<OpenOption> set = Set.of(options);
        return posix(file) ? FileChannel.open(file, set, attribute()) : FileChannel.open(file, set);
    }

    private static FileAttribute<Set<PosixFilePermission>> attribute() {
        return PosixFilePermissions.asFileAttribute(FILE);
    }

    /** Takes away every permission of {@code path} that {@code allowed} does not hold. */
    private static void narrow(Path path, Set<PosixFilePermission> allowed) throws IOException {
        Set<PosixFilePermission> now;
        try {
            now = Files.getPosixFilePermissions(path);
        } catch (NoSuchFileException e) {
            return;
        }
        Set<PosixFilePermission> wanted = EnumSet.noneOf(PosixFilePermission.class);
        wanted.addAll(now);
        wanted.retainAll(allowed);
        if (!wanted.equals(now)) {
            Files.setPosixFilePermissions(path, wanted);
            log.warn("state permissions tightened path={} was={} now={} (other users may not read pullhook's state)",
                    path, PosixFilePermissions.toString(now), PosixFilePermissions.toString(wanted));
        }
    }

    private static boolean posix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
