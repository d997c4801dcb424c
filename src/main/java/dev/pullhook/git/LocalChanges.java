package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;
import org.eclipse.jgit.treewalk.filter.AndTreeFilter;
import org.eclipse.jgit.treewalk.filter.IndexDiffFilter;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.util.TreeSet;

/**
 * Finds the tracked files whose content differs from HEAD: edited or deleted on disk, staged, or in
 * conflict. Like {@code git status --untracked-files=no}, in one walk of HEAD, the index and the working
 * tree: folders that neither the index nor HEAD knows are never entered, so a big untracked or ignored
 * folder (uploads, caches, node_modules) costs nothing, and a file is read only when its size or time
 * differs from the index.
 */
final class LocalChanges {
    private LocalChanges() {
    }

    /** @param index the index as read by the caller (read again here only if it changed on disk) */
    static TreeSet<String> find(Repository r, DirCache index) throws IOException {
        TreeSet<String> changed = new TreeSet<>();
        try (ObjectReader reader = r.newObjectReader(); TreeWalk walk = new TreeWalk(r, reader)) {
            ObjectId head = r.resolve(Constants.HEAD + "^{tree}");
            int headIdx = head == null ? walk.addTree(new EmptyTreeIterator()) : walk.addTree(head);
            int indexIdx = walk.addTree(new DirCacheIterator(index));
            int treeIdx = walk.addTree(new FileTreeIterator(r));
            walk.setRecursive(true);
            walk.setFilter(AndTreeFilter.create(new Tracked(headIdx, indexIdx),
                    new IndexDiffFilter(indexIdx, treeIdx, false)));
            while (walk.next()) {
                DirCacheIterator inIndex = walk.getTree(indexIdx, DirCacheIterator.class);
                WorkingTreeIterator onDisk = walk.getTree(treeIdx, WorkingTreeIterator.class);
                DirCacheEntry entry = inIndex == null ? null : inIndex.getDirCacheEntry();
                boolean differs = entry == null                       // only in HEAD: a staged deletion
                        || entry.getStage() != DirCacheEntry.STAGE_0  // in conflict
                        || onDisk == null                             // deleted on disk
                        || !walk.getObjectId(headIdx).equals(entry.getObjectId())   // staged
                        || walk.getFileMode(headIdx) != entry.getFileMode()
                        || (entry.getFileMode() != FileMode.GITLINK && onDisk.isModified(entry, true, reader));
                if (differs) {
                    changed.add(walk.getPathString());
                }
            }
            for (int i = 0; i < index.getEntryCount(); i++) {
                // a conflict's higher stages may not line up with the walk's entries: name them all
                if (index.getEntry(i).getStage() != DirCacheEntry.STAGE_0) {
                    changed.add(index.getEntry(i).getPathString());
                }
            }
        }
        return changed;
    }

    /** Keeps only paths the index or HEAD knows, so untracked folders are never entered. */
    private static final class Tracked extends TreeFilter {
        private final int headIdx;
        private final int indexIdx;

        Tracked(int headIdx, int indexIdx) {
            this.headIdx = headIdx;
            this.indexIdx = indexIdx;
        }

        @Override
        public boolean include(TreeWalk walk) {
            return walk.getTree(indexIdx, DirCacheIterator.class) != null || walk.getRawMode(headIdx) != 0;
        }

        @Override
        public boolean shouldBeRecursive() {
            return false;
        }

        @Override
        public TreeFilter clone() {
            return this;
        }
    }
}
