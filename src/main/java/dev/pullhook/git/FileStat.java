package dev.pullhook.git;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;

/**
 * What {@code lstat} says of a path, with the fields git compares to decide whether a tracked file may
 * have changed: type and mode, size, modification and change times (nanoseconds), inode. Read through
 * the {@code unix} attribute view (one {@code lstat}, never following a symbolic link).
 *
 * @param mode the raw {@code st_mode}: type bits and permissions
 */
record FileStat(long size, Instant mtime, Instant ctime, long ino, int mode) {
    private static final String ATTRIBUTES = "unix:size,lastModifiedTime,ctime,ino,mode";
    private static final int TYPE = 0170000;

    /** The path's own attributes (a symbolic link is not followed), or null when nothing is there. */
    static FileStat of(Path path) {
        try {
            return read(path);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Like {@link #of} but failing with the reason. */
    static FileStat read(Path path) throws IOException {
        Map<String, Object> a = Files.readAttributes(path, ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
        return new FileStat((Long) a.get("size"), ((FileTime) a.get("lastModifiedTime")).toInstant(),
                ((FileTime) a.get("ctime")).toInstant(), (Long) a.get("ino"), (Integer) a.get("mode"));
    }

    boolean isFile() {
        return (mode & TYPE) == 0100000;
    }

    boolean isDirectory() {
        return (mode & TYPE) == 0040000;
    }

    boolean isSymlink() {
        return (mode & TYPE) == 0120000;
    }

    boolean executable() {
        return (mode & 0100) != 0;
    }

    /** The change time in whole milliseconds, as JGit's index entries keep it. */
    long ctimeMillis() {
        return ctime.toEpochMilli();
    }

    /** What kind of thing this is, for messages: "file", "folder", "symbolic link" or "special file". */
    String kind() {
        return isFile() ? "file" : isDirectory() ? "folder" : isSymlink() ? "symbolic link" : "special file";
    }

    /** Whether nothing git compares has changed between {@code this} and {@code now}. */
    boolean sameAs(FileStat now) {
        return now != null && size == now.size && mtime.equals(now.mtime) && ctime.equals(now.ctime)
                && ino == now.ino && mode == now.mode;
    }
}
