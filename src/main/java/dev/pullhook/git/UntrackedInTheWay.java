package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a reset to a commit would overwrite or delete although git does not track it: an untracked or
 * ignored file, link or folder at a path the commit brings, or a file where one of its paths needs a
 * folder (a config written on the server, an upload, at a path a push now adds). {@code git reset --hard}
 * overwrites them; pullhook moves them aside first. Only the paths where HEAD and the commit differ are
 * looked at (their trees are compared, unchanged folders skipped), so this costs a few lstat calls.
 */
public final class UntrackedInTheWay {
    private UntrackedInTheWay() {
    }

    /** What was moved, and where to. */
    public record MovedAside(Path folder, List<String> paths) {
    }

    /**
     * The working-tree paths (files, links or folders) in the way of a reset to {@code target}, sorted; a
     * file whose content is already the one the commit brings is not in the way.
     */
    static TreeSet<String> find(Repository r, DirCache index, ObjectId target) throws IOException {
        Path workTree = r.getWorkTree().toPath();
        TreeSet<String> inTheWay = new TreeSet<>();
        Map<String, Boolean> realFolders = new HashMap<>();  // a push of many files shares its folders
        try (ObjectReader reader = r.newObjectReader(); RevWalk rw = new RevWalk(reader);
             TreeWalk tw = new TreeWalk(r, reader)) {
            ObjectId head = r.resolve(Constants.HEAD + "^{tree}");
            if (head == null) {
                tw.addTree(new EmptyTreeIterator());
            } else {
                tw.addTree(head);
            }
            tw.addTree(rw.parseCommit(target).getTree());
            tw.setFilter(TreeFilter.ANY_DIFF);
            tw.setRecursive(true);
            while (tw.next()) {
                FileMode mode = tw.getFileMode(1);
                if (mode == FileMode.MISSING || mode == FileMode.GITLINK) {
                    continue;
                }
                String path = tw.getPathString();
                if (index.findEntry(path) >= 0) {
                    continue;  // tracked: the local-changes check and the stash looked after it
                }
                String blocking = blockingFolder(workTree, index, path, realFolders);
                if (blocking != null) {
                    inTheWay.add(blocking);
                    continue;
                }
                Path file = workTree.resolve(path);
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException absent) {
                    continue;
                }
                if (!(a.isRegularFile() && mode != FileMode.SYMLINK
                        && tw.getObjectId(1).equals(LocalChanges.blobOf(file, a.size())))) {
                    inTheWay.add(path);
                }
            }
        }
        return inTheWay;
    }

    /**
     * An untracked file or link where {@code path} needs a folder, or null.
     *
     * @param realFolders what is known of folders already: true a real folder, false missing
     */
    private static String blockingFolder(Path workTree, DirCache index, String path, Map<String, Boolean> realFolders) {
        for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
            String folder = path.substring(0, slash);
            Boolean real = realFolders.get(folder);
            if (real == null) {
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(workTree.resolve(folder), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                } catch (IOException missing) {
                    realFolders.put(folder, false);
                    return null;
                }
                if (!a.isDirectory()) {
                    return index.findEntry(folder) >= 0 ? null : folder;
                }
                realFolders.put(folder, true);
            } else if (!real) {
                return null;
            }
        }
        return null;
    }

    /** Moves each path to the same path under {@code folder}, which is created. */
    static MovedAside move(Path workTree, TreeSet<String> paths, Path folder) throws IOException {
        for (String path : paths) {
            Path to = folder.resolve(path);
            Files.createDirectories(to.getParent());
            Files.move(workTree.resolve(path), to);
        }
        return new MovedAside(folder, List.copyOf(paths));
    }
}
