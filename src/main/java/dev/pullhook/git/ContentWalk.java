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
import org.eclipse.jgit.treewalk.filter.PathFilterGroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.TreeSet;

/**
 * The second look of {@link LocalChanges}, over the paths the stat pass left in doubt only: JGit's walk of
 * HEAD, the index and the working tree, which reads files, applies filters and decides.
 */
final class ContentWalk {
    private ContentWalk() {
    }

    /**
     * JGit's walk of HEAD, the index and the working tree over {@code paths}: it reads files and decides.
     * The index it walks is a copy of the entries of those paths (and of every .gitattributes), the files
     * among them marked "smudged": the stat pass already doubted their stat data (a change time or inode JGit
     * does not look at, or a racy time), so JGit must read the content, never take the index's word for
     * it; yet the file must be hashed against its index entry, as git's {@code text=auto} conversion
     * depends on whether the indexed blob holds CRLF.
     */
    static TreeSet<String> walk(Repository r, DirCache index, ObjectId head, Set<String> paths)
            throws IOException {
        TreeSet<String> changed = new TreeSet<>();
        try (ObjectReader reader = r.newObjectReader(); TreeWalk walk = new TreeWalk(r, reader)) {
            walk.setOperationType(TreeWalk.OperationType.CHECKIN_OP);  // content is hashed as git add would
            int headIdx = head == null ? walk.addTree(new EmptyTreeIterator()) : walk.addTree(head);
            int indexIdx = walk.addTree(new DirCacheIterator(doubtedCopy(index, paths)));
            FileTreeIterator files = new FileTreeIterator(r);
            int treeIdx = walk.addTree(files);
            files.setDirCacheIterator(walk, indexIdx);
            walk.setRecursive(true);
            walk.setFilter(AndTreeFilter.create(PathFilterGroup.createFromStrings(paths),
                    new Tracked(headIdx, indexIdx)));
            while (walk.next()) {
                DirCacheIterator inIndex = walk.getTree(indexIdx, DirCacheIterator.class);
                WorkingTreeIterator onDisk = walk.getTree(treeIdx, WorkingTreeIterator.class);
                DirCacheEntry entry = inIndex == null ? null : inIndex.getDirCacheEntry();
                boolean gitlink = entry != null && entry.getFileMode() == FileMode.GITLINK;
                boolean differs = entry == null                       // only in HEAD: a staged deletion
                        || entry.getStage() != DirCacheEntry.STAGE_0  // in conflict
                        || !walk.getObjectId(headIdx).equals(entry.getObjectId())   // staged
                        || walk.getFileMode(headIdx) != entry.getFileMode()
                        || (!gitlink && onDisk == null)               // deleted on disk
                        || (!gitlink && onDisk.isModified(entry, true, reader));
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

    /** The entries of {@code paths} (files smudged) and of every .gitattributes, in an index of their own. */
    private static DirCache doubtedCopy(DirCache index, Set<String> paths) {
        java.util.TreeMap<Integer, Boolean> picked = new java.util.TreeMap<>();  // position -> doubted
        for (String path : paths) {
            EntryRange range = EntryRange.of(index, path);
            for (int i = range.from(); i < range.to(); i++) {
                picked.put(i, true);
            }
        }
        byte[] attributes = Constants.DOT_GIT_ATTRIBUTES.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < index.getEntryCount(); i++) {
            byte[] raw = index.getEntry(i).getRawPath();
            int at = raw.length - attributes.length;
            if (at >= 0 && (at == 0 || raw[at - 1] == '/')
                    && java.util.Arrays.equals(raw, at, raw.length, attributes, 0, attributes.length)) {
                picked.putIfAbsent(i, false);
            }
        }
        DirCache copy = DirCache.newInCore();
        org.eclipse.jgit.dircache.DirCacheBuilder builder = copy.builder();
        picked.forEach((i, doubted) -> {
            DirCacheEntry c = new DirCacheEntry(index.getEntry(i));
            if (doubted && (c.getFileMode() == FileMode.REGULAR_FILE || c.getFileMode() == FileMode.EXECUTABLE_FILE)) {
                c.setLength(0);  // a non-empty blob recorded with length 0 is "smudged": JGit reads the file
            }
            builder.add(c);
        });
        builder.finish();
        return copy;
    }

    /** Keeps only paths the index or HEAD knows, so untracked folders are never entered. */
    private static final class Tracked extends StatelessFilter {
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

    }
}
