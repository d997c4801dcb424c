package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEditor;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.PathSuffixFilter;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code .gitattributes} files of a reset's target, staged before JGit's reset runs. git checks a tree
 * out with the attributes of the tree being checked out (its new index; where that has none in a folder,
 * an untracked file there). JGit's checkout looks in the target tree, then in the index being replaced,
 * then in the working tree, so a push that removes a {@code .gitattributes} would be written with the old
 * one's line endings. So the index is given the target's attribute files beforehand, and those the target
 * removes are removed from the index and the disk (the reset would remove them anyway): JGit then finds
 * what git finds.
 */
final class AttributesFiles {
    private AttributesFiles() {
    }

    /**
     * The {@code .gitattributes} paths where the index differs from {@code targetTree}, with the blob each
     * must hold, or null where the target has none.
     */
    static Map<String, ObjectId> differing(Repository r, DirCache index, ObjectId targetTree) throws IOException {
        Map<String, ObjectId> target = new HashMap<>();
        try (TreeWalk tw = new TreeWalk(r)) {
            tw.addTree(targetTree);
            tw.setRecursive(true);
            tw.setFilter(PathSuffixFilter.create(Constants.DOT_GIT_ATTRIBUTES));
            while (tw.next()) {
                FileMode mode = tw.getFileMode(0);
                if (tw.getNameString().equals(Constants.DOT_GIT_ATTRIBUTES)
                        && (mode == FileMode.REGULAR_FILE || mode == FileMode.EXECUTABLE_FILE)) {
                    target.put(tw.getPathString(), tw.getObjectId(0));
                }
            }
        }
        Map<String, ObjectId> differing = new HashMap<>();
        for (int i = 0; i < index.getEntryCount(); i++) {
            DirCacheEntry e = index.getEntry(i);
            String path = e.getPathString();
            if (!isAttributesFile(path) || e.getStage() != DirCacheEntry.STAGE_0) {
                continue;
            }
            ObjectId want = target.remove(path);
            if (want == null) {
                differing.put(path, null);
            } else if (!want.equals(e.getObjectId())) {
                differing.put(path, want);
            }
        }
        differing.putAll(target);  // in the target only
        return differing;
    }

    /**
     * Stages each attribute file with its target content, marked for a content check; removes those the
     * target does not have from the index and from the disk (never through a link).
     */
    static void stage(DirCacheEditor editor, Map<String, ObjectId> files, TreeSwitch.Folders disk) throws IOException {
        for (Map.Entry<String, ObjectId> f : files.entrySet()) {
            String path = f.getKey();
            ObjectId id = f.getValue();
            if (id == null) {
                disk.delete(path);
                editor.add(new DirCacheEditor.DeletePath(path));
                continue;
            }
            editor.add(new DirCacheEditor.PathEdit(path) {
                @Override
                public void apply(DirCacheEntry ent) {
                    ent.setFileMode(FileMode.REGULAR_FILE);
                    ent.setObjectId(id);
                    ent.setLength(0);  // with a non-empty blob: "smudged", JGit compares the file's content
                }
            });
        }
    }

    private static boolean isAttributesFile(String path) {
        return path.equals(Constants.DOT_GIT_ATTRIBUTES) || path.endsWith("/" + Constants.DOT_GIT_ATTRIBUTES);
    }
}
