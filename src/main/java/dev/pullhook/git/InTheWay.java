package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What stands where a reset is about to write or delete, found before anything changes, by {@code lstat}
 * of every folder on the way (a symbolic link is never followed, as git's {@code has_symlink_leading_path}
 * rule asks):
 * <ul>
 *   <li><b>untracked</b> files, links and folders that the reset replaces (git overwrites or removes them;
 *       pullhook saves them first, see {@link SavedFiles}): an untracked file at a path the target brings,
 *       a file or link where the target needs a folder, the untracked content of a folder where the target
 *       puts a file;</li>
 *   <li><b>tracked blockers</b>: a tracked file or link where the target needs a folder, or a tracked
 *       folder where it puts a file (git removes them; JGit's checkout does not always, and would write
 *       through a link), removed by the caller before the reset, after the untracked content is saved;</li>
 *   <li><b>unreachable</b> deletions: tracked paths to delete behind a link or file that replaced one of
 *       their folders; git leaves the disk alone there, so the caller only drops them from the index.</li>
 * </ul>
 */
final class InTheWay {
    /** What was found; paths relative to the working tree, sorted. */
    record Found(List<String> untracked, List<String> trackedBlockers, List<String> unreachable) {
        boolean isEmpty() {
            return untracked.isEmpty() && trackedBlockers.isEmpty() && unreachable.isEmpty();
        }
    }

    private final Path workTree;
    private final DirCache index;
    /** What each folder on the way is: a real folder, nothing, or something else (a blocker). */
    private final Map<String, FileStat> seen = new HashMap<>();
    private final TreeSet<String> untracked = new TreeSet<>();
    private final TreeSet<String> blockers = new TreeSet<>();
    private final TreeSet<String> unreachable = new TreeSet<>();

    private InTheWay(Path workTree, DirCache index) {
        this.workTree = workTree;
        this.index = index;
    }

    /**
     * Looks at every path {@code plan} writes or deletes.
     *
     * @param index   the index as it is now (tracked paths)
     * @param deleted tracked paths the reset deletes beyond the plan's changes (staged additions), may be empty
     */
    static Found find(Path workTree, DirCache index, ResetPlan plan, Set<String> deleted) throws IOException {
        InTheWay w = new InTheWay(workTree, index);
        Map<String, ObjectId> blobs = new HashMap<>();
        Set<String> gitlinks = new java.util.HashSet<>();
        TreeSet<String> deletions = new TreeSet<>(deleted);
        for (ResetPlan.Change c : plan.changes) {
            if (c.deleted()) {
                deletions.add(c.path());
            } else if (c.newMode() == FileMode.GITLINK || c.oldMode() == FileMode.GITLINK) {
                gitlinks.add(c.path());  // a submodule's folder is its own: only the folders on the way matter
                blobs.put(c.path(), null);
            } else {
                blobs.put(c.path(), c.newMode() == FileMode.REGULAR_FILE || c.newMode() == FileMode.EXECUTABLE_FILE
                        ? c.newId() : null);
            }
        }
        for (String p : plan.rewritten) {
            blobs.putIfAbsent(p, null);
        }
        for (String path : new TreeSet<>(blobs.keySet())) {
            w.written(path, blobs.get(path), gitlinks.contains(path));
        }
        for (String path : deletions) {
            if (w.blockedFolder(path) != null) {
                w.unreachable.add(path);
            }
        }
        return new Found(List.copyOf(outermost(w.untracked)), List.copyOf(w.blockers), List.copyOf(w.unreachable));
    }

    private void written(String path, ObjectId blob, boolean gitlink) throws IOException {
        String folder = blockedFolder(path);
        if (folder != null) {
            if (tracked(folder)) {
                blockers.add(folder);
            } else {
                untracked.add(folder);
            }
            return;
        }
        if (gitlink) {
            // a submodule's folder is its own; but a link or file there must go, or the submodule would be
            // cloned through it
            FileStat there = FileStat.of(workTree.resolve(path));
            if (there != null && !there.isDirectory()) {
                if (tracked(path)) {
                    blockers.add(path);
                } else {
                    untracked.add(path);
                }
            }
            return;
        }
        FileStat here = FileStat.of(workTree.resolve(path));
        if (here == null) {
            return;
        }
        if (here.isDirectory()) {
            if (EntryRange.within(index, path).isEmpty()) {
                untracked.add(path);  // an untracked folder where a file goes: git removes all of it
            } else {
                // a tracked folder where a file goes: its untracked content is saved, then the folder goes
                // whole, as git removes it (JGit's reset cannot remove one that is two levels deep)
                untrackedWithin(path);
                blockers.add(path);
            }
            return;
        }
        if (tracked(path)) {
            return;  // the reset overwrites tracked content; the local-changes step looked after edits
        }
        if (blob != null && here.isFile() && blob.equals(LocalChanges.blobOf(workTree.resolve(path), here.size()))) {
            return;  // already what the push brings: nothing would be lost
        }
        untracked.add(path);
    }

    /** Adds the untracked files, links and folders under a folder that also holds tracked files. */
    private void untrackedWithin(String folder) throws IOException {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(workTree.resolve(folder))) {
            for (Path child : children) {
                String path = folder + "/" + child.getFileName();
                FileStat stat = FileStat.of(child);
                if (stat == null) {
                    continue;
                }
                if (stat.isDirectory() && !EntryRange.within(index, path).isEmpty()) {
                    untrackedWithin(path);
                } else if (!tracked(path)) {
                    untracked.add(path);
                }
            }
        }
    }

    /**
     * The first folder on the way to {@code path} that is not a real folder (a file, a link or anything
     * else: the path cannot be reached without following it); null when every one is a folder or missing.
     */
    private String blockedFolder(String path) {
        for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
            String folder = path.substring(0, slash);
            FileStat stat = seen.computeIfAbsent(folder, f -> {
                FileStat s = FileStat.of(workTree.resolve(f));
                return s == null ? MISSING : s;
            });
            if (stat == MISSING) {
                return null;
            }
            if (!stat.isDirectory()) {
                return folder;
            }
        }
        return null;
    }

    private boolean tracked(String path) {
        return index.findEntry(path) >= 0;
    }

    /** Drops paths inside another path of the set: saving or removing a folder covers its content. */
    private static List<String> outermost(TreeSet<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) {
            boolean inside = false;
            for (int slash = p.indexOf('/'); slash > 0 && !inside; slash = p.indexOf('/', slash + 1)) {
                inside = paths.contains(p.substring(0, slash));
            }
            if (!inside) {
                out.add(p);
            }
        }
        return out;
    }

    private static final FileStat MISSING = new FileStat(-1, java.time.Instant.EPOCH, java.time.Instant.EPOCH, -1, 0);
}
