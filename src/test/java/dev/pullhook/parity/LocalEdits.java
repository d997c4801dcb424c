package dev.pullhook.parity;

import dev.pullhook.testing.WorkTreeState;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * What a server admin (or a tool) does to a deployed working copy between two deploys, done identically to
 * the site and its twin: edits of tracked files (also a same-size edit that puts the old time back, and one
 * in the same second as the deploy), mode changes, deletions, untracked and ignored files, also exactly where
 * the next push brings a file. Never writes through a symlink: every leading folder must be a real one.
 */
final class LocalEdits {
    private final Random rnd;
    private final Supplier<List<Path>> trees;
    private int counter;

    /** @param trees the working copies to edit alike (the sites still compared, and the twin) */
    LocalEdits(Random rnd, Supplier<List<Path>> trees) {
        this.rnd = rnd;
        this.trees = trees;
    }

    private List<Path> roots() {
        return trees.get();
    }

    /**
     * Applies {@code count} random edits.
     *
     * @param state  the twin's state after the last deploy (which files are tracked)
     * @param coming files the next push adds (for untracked files in their way)
     * @return what was done, for the failure message
     */
    String apply(int count, WorkTreeState state, Collection<String> coming) {
        List<String> tracked = trackedFiles(state);
        List<String> done = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int op = rnd.nextInt(18);
            String d;
            if (op < 3) {
                d = edit(pick(tracked));
            } else if (op < 6) {
                d = sameSizeKeepingTime(pick(tracked));
            } else if (op < 8) {
                d = chmod(pick(tracked));
            } else if (op < 10) {
                d = delete(pick(tracked));
            } else if (op < 13) {
                d = untracked(tracked);
            } else if (op < 16) {
                d = inTheWay(coming);
            } else {
                d = ignoredAndUntrackedFolder(tracked);
            }
            if (d != null) {
                done.add(d);
            }
        }
        return String.join("; ", done);
    }

    /** A same-size edit right after a deploy: same second as the index was written (racy git). */
    String sameSecondEdit(WorkTreeState state) {
        String path = pick(trackedFiles(state));
        if (path == null || !realFileEverywhere(path)) {
            return null;
        }
        for (Path root : roots()) {
            byte[] old = read(root.resolve(path));
            if (old.length == 0) {
                return null;
            }
            write(root.resolve(path), changedSameSize(old));
        }
        return "same-second same-size edit of " + path;
    }

    private String edit(String path) {
        if (path == null || !realFileEverywhere(path)) {
            return null;
        }
        byte[] content = ("edited on the server " + (++counter) + "\n" + "x".repeat(rnd.nextInt(40))).getBytes(StandardCharsets.UTF_8);
        for (Path root : roots()) {
            write(root.resolve(path), content);
        }
        return "edit " + path;
    }

    private String sameSizeKeepingTime(String path) {
        if (path == null || !realFileEverywhere(path)) {
            return null;
        }
        for (Path root : roots()) {
            Path p = root.resolve(path);
            try {
                FileTime old = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                byte[] bytes = Files.readAllBytes(p);
                if (bytes.length == 0) {
                    return null;
                }
                Files.write(p, changedSameSize(bytes));
                Files.setLastModifiedTime(p, old);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return "same-size edit keeping the old mtime of " + path;
    }

    private String chmod(String path) {
        if (path == null || !realFileEverywhere(path)) {
            return null;
        }
        boolean exec = false;
        for (Path root : roots()) {
            Path p = root.resolve(path);
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
                exec = !perms.contains(PosixFilePermission.OWNER_EXECUTE);
                for (PosixFilePermission x : List.of(PosixFilePermission.OWNER_EXECUTE,
                        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE)) {
                    if (exec) {
                        perms.add(x);
                    } else {
                        perms.remove(x);
                    }
                }
                Files.setPosixFilePermissions(p, perms);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return "chmod " + (exec ? "+x " : "-x ") + path;
    }

    private String delete(String path) {
        if (path == null || !realFileEverywhere(path)) {
            return null;
        }
        for (Path root : roots()) {
            try {
                Files.delete(root.resolve(path));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return "delete " + path;
    }

    private String untracked(List<String> tracked) {
        String dir = rnd.nextInt(3) == 0 || tracked.isEmpty() ? "" : parent(pick(tracked));
        String[] names = {"notes-%d.tmp", "debug-%d.log", "build/out-%d.o", "cache-%d/entry.txt", "upload %d.jpg"};
        String path = dir + String.format(names[rnd.nextInt(names.length)], ++counter);
        return writeUntracked(path) ? "untracked " + path : null;
    }

    private String inTheWay(Collection<String> coming) {
        if (coming.isEmpty()) {
            return null;
        }
        List<String> list = new ArrayList<>(coming);
        // not git's own files: an untracked .gitmodules that is no config file stops git itself
        list.removeIf(p -> p.substring(p.lastIndexOf('/') + 1).startsWith(".git"));
        if (list.isEmpty()) {
            return null;
        }
        String path = list.get(rnd.nextInt(list.size()));
        return writeUntracked(path) ? "untracked file where the push brings one: " + path : null;
    }

    private String ignoredAndUntrackedFolder(List<String> tracked) {
        String dir = (rnd.nextBoolean() || tracked.isEmpty() ? "" : parent(pick(tracked))) + "scratch-" + (++counter) + "/";
        if (!writeUntracked(dir + "kept.log") || !writeUntracked(dir + "junk.txt")) {
            return null;
        }
        return "untracked folder with an ignored and a plain file: " + dir;
    }

    private boolean writeUntracked(String path) {
        for (Path root : roots()) {
            if (!leadingFoldersReal(root, path) || Files.exists(root.resolve(path), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
        }
        byte[] content = ("untracked " + (++counter) + "\n").getBytes(StandardCharsets.UTF_8);
        for (Path root : roots()) {
            Path p = root.resolve(path);
            try {
                Files.createDirectories(p.getParent());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            write(p, content);
        }
        return true;
    }

    /** Every existing leading folder of {@code path} is a real folder (not a symlink, not a file). */
    private static boolean leadingFoldersReal(Path root, String path) {
        Path p = root;
        String[] parts = path.split("/");
        for (int i = 0; i < parts.length - 1; i++) {
            p = p.resolve(parts[i]);
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            if (parts[i].equals(".git") || Files.exists(p.resolve(".git"), LinkOption.NOFOLLOW_LINKS)) {
                return false;  // never inside a submodule
            }
        }
        return true;
    }

    private boolean realFileEverywhere(String path) {
        for (Path root : roots()) {
            if (!leadingFoldersReal(root, path) || !Files.isRegularFile(root.resolve(path), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
        }
        return true;
    }

    /** The same length, other bytes: letters shifted by one (staying lower or upper case), else a bit flipped. */
    private static byte[] changedSameSize(byte[] old) {
        byte[] b = old.clone();
        boolean changed = false;
        for (int i = 0; i < b.length; i++) {
            if (b[i] >= 'a' && b[i] <= 'z') {
                b[i] = (byte) (b[i] == 'z' ? 'a' : b[i] + 1);
                changed = true;
            } else if (b[i] >= 'A' && b[i] <= 'Z') {
                b[i] = (byte) (b[i] == 'Z' ? 'A' : b[i] + 1);
                changed = true;
            }
        }
        if (!changed) {
            b[0] ^= 1;
        }
        return b;
    }

    /** Regular files in the index (not git's own dot files, whose edits would change the rules). */
    private static List<String> trackedFiles(WorkTreeState state) {
        List<String> out = new ArrayList<>();
        state.index().forEach((path, modeAndId) -> {
            String name = path.substring(path.lastIndexOf('/') + 1);
            if ((modeAndId.startsWith("100644") || modeAndId.startsWith("100755")) && !path.contains(" (stage ")
                    && !name.startsWith(".git")) {
                out.add(path);
            }
        });
        return out;
    }

    private String pick(List<String> list) {
        return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
    }

    private static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? "" : path.substring(0, slash + 1);
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path p, byte[] content) {
        try {
            Files.write(p, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Regular files in {@code to}'s tree that {@code from}'s tree does not have at that path. */
    static Collection<String> addedFiles(Repository repo, ObjectId from, ObjectId to) {
        try (RevWalk walk = new RevWalk(repo)) {
            Set<String> before = files(repo, walk.parseCommit(from).getTree());
            Set<String> after = files(repo, walk.parseCommit(to).getTree());
            after.removeAll(before);
            return after;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Set<String> files(Repository repo, ObjectId tree) throws IOException {
        Set<String> out = new TreeSet<>();
        try (TreeWalk tw = new TreeWalk(repo)) {
            tw.addTree(tree);
            tw.setRecursive(true);
            while (tw.next()) {
                if (FileMode.REGULAR_FILE.equals(tw.getRawMode(0)) || FileMode.EXECUTABLE_FILE.equals(tw.getRawMode(0))) {
                    out.add(tw.getPathString());
                }
            }
        }
        return out;
    }
}
