package dev.pullhook.config;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Locale;
import java.util.Set;

/**
 * Says why a file or folder cannot be used, the way a sysadmin fixes it: the operating system's reason, the
 * user pullhook runs as, and the permission that user lacks on which path, with that path's owner and mode:
 * {@code permission denied for user pullhook (needs write on /var/lib/x, which is root:root 0755)}. It only
 * looks (stat and access checks, as the running user); it never changes anything.
 */
public final class FileAccess {
    /** What pullhook wants to do with a path. */
    public enum Need {
        /** read a file, or list a folder */
        READ,
        /** write a file or in a folder, creating it (and missing folders above it) if needed */
        WRITE
    }

    private FileAccess() {
    }

    /** The user this process runs as, by name. */
    public static String user() {
        return System.getProperty("user.name", "?");
    }

    /**
     * {@code <reason> for user <user>}, plus {@code (needs <permission> on <path>, which is <owner:group mode>)}
     * when a missing permission explains it.
     *
     * @param path what pullhook wanted to use
     * @param need what it wanted to do with it
     * @param e    what the operating system said, or null when a check (not an attempt) failed
     */
    public static String explain(Path path, Need need, IOException e) {
        String missing = missingPermission(path, need);
        if (missing == null && e != null && "operation not permitted".equals(reason(e)) && Files.exists(path)) {
            missing = "to own " + path.toAbsolutePath().normalize() + which(path) + ", to change its mode";
        }
        String reason = e != null ? reason(e)
                : missing != null ? "permission denied"
                : Files.exists(path) ? "not usable" : "no such file or folder";
        return reason + " for user " + user() + (missing == null ? "" : " (needs " + missing + ")");
    }

    /** Why {@code path} cannot be used for {@code need}, found by looking; null when nothing is missing. */
    public static String explain(Path path, Need need) {
        String missing = missingPermission(path, need);
        if (missing != null) {
            return "permission denied for user " + user() + " (needs " + missing + ")";
        }
        return null;
    }

    /** The operating system's reason, in its words but lower-case: "permission denied", "read-only file system". */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or folder";
        }
        if (e instanceof NotDirectoryException) {
            return "not a folder";
        }
        String text = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        if (text == null || text.isBlank()) {
            return e.getClass().getSimpleName();
        }
        return text.substring(0, 1).toLowerCase(Locale.ROOT) + text.substring(1);
    }

    /**
     * The first permission the running user lacks on the way to {@code path}: search (x) on a folder above
     * it, then read or write on the path itself (or, to create it, write on the nearest existing folder).
     */
    static String missingPermission(Path path, Need need) {
        Path abs = path.toAbsolutePath().normalize();
        Path existing = null;
        Path parent = abs.getParent();
        if (parent != null) {
            for (Path folder : ancestors(parent)) {
                if (!Files.exists(folder)) {
                    break;
                }
                if (!Files.isDirectory(folder)) {
                    return "a folder at " + folder + ", which is a file";
                }
                if (!Files.isExecutable(folder)) {
                    return "search (x) on " + folder + which(folder);
                }
                existing = folder;
            }
        }
        if (!Files.exists(abs)) {
            if (need == Need.WRITE && existing != null && !Files.isWritable(existing)) {
                return "write on " + existing + which(existing) + ", to create " + abs;
            }
            return null;
        }
        if (need == Need.READ && !Files.isReadable(abs)) {
            return "read on " + abs + which(abs);
        }
        if (need == Need.WRITE && !Files.isWritable(abs)) {
            return "write on " + abs + which(abs);
        }
        if (Files.isDirectory(abs) && !Files.isExecutable(abs)) {
            return "search (x) on " + abs + which(abs);
        }
        return null;
    }

    private static Iterable<Path> ancestors(Path folder) {
        java.util.List<Path> list = new java.util.ArrayList<>();
        for (Path p = folder; p != null; p = p.getParent()) {
            list.add(0, p);
        }
        return list;
    }

    /** {@code , which is owner:group 0750}, or nothing when the owner cannot be read. */
    static String which(Path path) {
        try {
            PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class);
            return ", which is " + a.owner().getName() + ":" + a.group().getName() + " " + mode(a.permissions());
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }

    private static String mode(Set<PosixFilePermission> permissions) {
        int bits = 0;
        for (PosixFilePermission p : permissions) {
            bits |= 1 << (8 - p.ordinal());
        }
        return String.format("%04o", bits);
    }
}
