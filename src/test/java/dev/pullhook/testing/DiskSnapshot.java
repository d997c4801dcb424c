package dev.pullhook.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * What a folder holds, seen with {@code lstat} only (links are never followed): for every path under it,
 * its type and permissions, and a file's size and content hash or a link's target. Two snapshots compare
 * equal when nothing was created, removed, rewritten, re-linked or re-permissioned; {@link #diff} says what.
 */
public final class DiskSnapshot {
    private final Path root;
    private final SortedMap<String, String> entries;

    private DiskSnapshot(Path root, SortedMap<String, String> entries) {
        this.root = root;
        this.entries = entries;
    }

    /** Everything under {@code root} (the root itself as path {@code ""}). */
    public static DiskSnapshot of(Path root) {
        return of(root, rel -> false);
    }

    /**
     * Everything under {@code root} except the paths {@code skip} accepts (relative, '/'-separated; a skipped
     * folder is not entered).
     */
    public static DiskSnapshot of(Path root, Predicate<String> skip) {
        TreeMap<String, String> entries = new TreeMap<>();
        visit(root, "", skip, entries);
        return new DiskSnapshot(root, entries);
    }

    private static void visit(Path path, String rel, Predicate<String> skip, Map<String, String> out) {
        if (skip.test(rel)) {
            return;
        }
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            if (rel.isEmpty()) {
                out.put(rel, "missing");
            }
            return;
        } catch (IOException e) {
            out.put(rel, "unreadable (" + e.getClass().getSimpleName() + ")");
            return;
        }
        String perms = PosixFilePermissions.toString(a.permissions());
        if (a.isSymbolicLink()) {
            out.put(rel, "link -> " + target(path));
        } else if (a.isDirectory()) {
            out.put(rel, "dir " + perms);
            TreeSet<Path> children = new TreeSet<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(path)) {
                s.forEach(children::add);
            } catch (IOException e) {
                out.put(rel, "dir " + perms + " unlistable (" + e.getClass().getSimpleName() + ")");
                return;
            }
            for (Path child : children) {
                String name = child.getFileName().toString();
                visit(child, rel.isEmpty() ? name : rel + "/" + name, skip, out);
            }
        } else if (a.isRegularFile()) {
            out.put(rel, "file " + perms + " " + a.size() + " bytes sha256:" + hash(path));
        } else {
            out.put(rel, "other " + perms);
        }
    }

    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "(unreadable)";
        }
    }

    private static String hash(Path file) {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) > 0; ) {
                md.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (IOException e) {
            return "(unreadable)";
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Path root() {
        return root;
    }

    /** Each path and what it is. */
    public SortedMap<String, String> entries() {
        return entries;
    }

    /** The description of {@code rel}, or null when there is nothing there. */
    public String get(String rel) {
        return entries.get(rel);
    }

    /** The differences from this snapshot to {@code later}, one line each ({@code + - ~}); empty when equal. */
    public List<String> diff(DiskSnapshot later) {
        List<String> lines = new ArrayList<>();
        TreeSet<String> all = new TreeSet<>(entries.keySet());
        all.addAll(later.entries.keySet());
        for (String p : all) {
            String was = entries.get(p);
            String now = later.entries.get(p);
            String shown = root.resolve(p).toString();
            if (was == null) {
                lines.add("+ " + shown + ": " + now);
            } else if (now == null) {
                lines.add("- " + shown + ": " + was);
            } else if (!was.equals(now)) {
                lines.add("~ " + shown + ": " + was + "  =>  " + now);
            }
        }
        return lines;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DiskSnapshot s && s.entries.equals(entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(root.toString()).append(":\n");
        entries.forEach((p, d) -> b.append("  ").append(p.isEmpty() ? "." : p).append(": ").append(d).append('\n'));
        return b.toString();
    }

    /** Removes {@code path} and everything under it without following links (a link is removed, not its target). */
    public static void deleteTree(Path path) {
        try {
            if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                List<Path> children = new ArrayList<>();
                try (DirectoryStream<Path> s = Files.newDirectoryStream(path)) {
                    s.forEach(children::add);
                }
                for (Path child : children) {
                    deleteTree(child);
                }
            }
            Files.delete(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies the tree at {@code from} to {@code to} (which must not exist), links as links, keeping times and modes. */
    public static void copyTree(Path from, Path to) {
        try {
            Files.copy(from, to, LinkOption.NOFOLLOW_LINKS, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
                List<Path> children = new ArrayList<>();
                try (DirectoryStream<Path> s = Files.newDirectoryStream(from)) {
                    s.forEach(children::add);
                }
                for (Path child : children) {
                    copyTree(child, to.resolve(child.getFileName()));
                }
                Files.setLastModifiedTime(to, Files.getLastModifiedTime(from, LinkOption.NOFOLLOW_LINKS));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
