package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code git clean -fd}: removes untracked files and folders that are not ignored. Ignored files stay, also
 * inside untracked folders (such a folder stays, holding only its ignored files: JGit's own clean removes
 * the whole folder), and a nested repository is never entered. Walks the index and the working tree with
 * JGit's ignore rules; removes without following any link.
 */
final class Cleaner {
    private Cleaner() {
    }

    /** Cleans the working tree of {@code r}; returns how many files, links and folders it removed. */
    static int clean(Repository r) throws IOException {
        Path workTree = r.getWorkTree().toPath();
        List<String> remove = new ArrayList<>();
        try (TreeWalk tw = new TreeWalk(r)) {
            int dci = tw.addTree(new DirCacheIterator(r.readDirCache()));
            FileTreeIterator wti = new FileTreeIterator(r);
            int wt = tw.addTree(wti);
            wti.setDirCacheIterator(tw, dci);
            tw.setRecursive(false);
            walk(tw, dci, wt, remove);
        }
        int removed = 0;
        for (String path : remove) {
            NoFollow.removeTree(workTree.resolve(path));
            removed++;
        }
        return removed;
    }

    /**
     * Collects what to remove, outermost first: an untracked folder holding nothing ignored and no nested
     * repository is removed whole; one that does is entered, so that only its other files go.
     */
    private static void walk(TreeWalk tw, int dci, int wt, List<String> remove) throws IOException {
        while (tw.next()) {
            WorkingTreeIterator onDisk = tw.getTree(wt, WorkingTreeIterator.class);
            boolean tracked = tw.getTree(dci, DirCacheIterator.class) != null;
            if (onDisk == null || onDisk.isEntryIgnored()) {
                continue;
            }
            String path = tw.getPathString();
            FileMode mode = onDisk.getEntryFileMode();
            if (tracked) {
                if (tw.isSubtree()) {
                    tw.enterSubtree();
                }
                continue;
            }
            if (mode == FileMode.GITLINK) {
                continue;  // a nested repository: git clean -fd skips it ("Skipping repository")
            }
            if (mode != FileMode.TREE) {
                remove.add(path);
                continue;
            }
            if (keepsSomething(tw, wt)) {
                tw.enterSubtree();
            } else {
                remove.add(path);
            }
        }
    }

    /** Whether an untracked folder holds an ignored entry or a nested repository at any depth. */
    private static boolean keepsSomething(TreeWalk outer, int wt) throws IOException {
        WorkingTreeIterator it = outer.getTree(wt, WorkingTreeIterator.class);
        try (TreeWalk tw = new TreeWalk(outer.getObjectReader())) {
            tw.addTree(it.createSubtreeIterator(outer.getObjectReader()));
            tw.setRecursive(false);
            while (tw.next()) {
                WorkingTreeIterator e = tw.getTree(0, WorkingTreeIterator.class);
                if (e.isEntryIgnored() || e.getEntryFileMode() == FileMode.GITLINK) {
                    return true;
                }
                if (tw.isSubtree()) {
                    tw.enterSubtree();
                }
            }
        }
        return false;
    }
}
