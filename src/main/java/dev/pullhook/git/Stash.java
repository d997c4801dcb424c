package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.errors.UnmergedPathException;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;
import org.eclipse.jgit.treewalk.filter.PathFilterGroup;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * A stash entry of the edits of tracked files, as {@code git stash push} records it: a commit of the
 * index on HEAD, and the stash commit (parents HEAD and that one) whose tree is the index with each edited
 * file's working-tree content and mode (a {@code chmod} is an edit) and without the deleted ones, on
 * {@code refs/stash} with its reflog entry. Untracked files are not part of it, and it leaves the working
 * tree and the index file as they are: the reset that follows overwrites them. JGit's
 * {@code StashCreateCommand} drops a mode-only change, which is why this is built from JGit's parts.
 */
final class Stash {
    private Stash() {
    }

    /**
     * @param changed the tracked paths found edited, deleted or staged (from {@link LocalChanges})
     * @return the stash commit, or null when there was nothing to save
     */
    static ObjectId create(Repository r, DirCache index, Collection<String> changed, String message) throws IOException {
        if (changed.isEmpty()) {
            return null;
        }
        Ref head = r.exactRef(Constants.HEAD);
        if (head == null || head.getObjectId() == null) {
            return null;
        }
        String branch = Repository.shortenRefName(head.getTarget().getName());
        boolean fileMode = r.getConfig().get(WorkingTreeOptions.KEY).isFileMode();
        try (ObjectInserter ins = r.newObjectInserter(); RevWalk rw = new RevWalk(r)) {
            RevCommit headCommit = rw.parseCommit(head.getObjectId());
            PersonIdent who = new PersonIdent(r);
            ObjectId indexTree;
            try {
                indexTree = index.writeTree(ins);
            } catch (UnmergedPathException e) {
                throw new IOException("the index has unresolved conflicts (git status lists them): resolve them, or"
                        + " set deploy.local.changes=discard", e);
            }
            CommitBuilder c = new CommitBuilder();
            c.setAuthor(who);
            c.setCommitter(who);
            c.setParentId(headCommit);
            c.setTreeId(indexTree);
            c.setMessage("index on " + branch + ": " + headCommit.abbreviate(7).name() + " "
                    + headCommit.getShortMessage() + "\n");
            ObjectId indexCommit = ins.insert(c);

            Map<String, DirCacheEntry> edited = new HashMap<>();
            java.util.Set<String> deleted = new java.util.HashSet<>();
            try (TreeWalk tw = new TreeWalk(r)) {
                tw.setOperationType(TreeWalk.OperationType.CHECKIN_OP);  // through the clean filters, as git add
                int dci = tw.addTree(new DirCacheIterator(index));
                FileTreeIterator wti = new FileTreeIterator(r);
                int wt = tw.addTree(wti);
                wti.setDirCacheIterator(tw, dci);
                tw.setRecursive(true);
                tw.setFilter(PathFilterGroup.createFromStrings(changed));
                while (tw.next()) {
                    DirCacheIterator inIndex = tw.getTree(dci, DirCacheIterator.class);
                    WorkingTreeIterator onDisk = tw.getTree(wt, WorkingTreeIterator.class);
                    if (inIndex == null || inIndex.getDirCacheEntry() == null) {
                        continue;  // untracked: not part of a stash without -u
                    }
                    DirCacheEntry entry = inIndex.getDirCacheEntry();
                    if (entry.getFileMode() == FileMode.GITLINK) {
                        continue;
                    }
                    if (onDisk == null) {
                        deleted.add(tw.getPathString());
                        continue;
                    }
                    DirCacheEntry e = new DirCacheEntry(entry.getRawPath());
                    FileMode mode = onDisk.getEntryFileMode();
                    if (!fileMode && (mode == FileMode.EXECUTABLE_FILE || mode == FileMode.REGULAR_FILE)
                            && (entry.getFileMode() == FileMode.EXECUTABLE_FILE || entry.getFileMode() == FileMode.REGULAR_FILE)) {
                        mode = entry.getFileMode();
                    }
                    e.setFileMode(mode);
                    try (InputStream in = onDisk.openEntryStream()) {  // through git's clean filters, as git add
                        e.setObjectId(ins.insert(Constants.OBJ_BLOB, onDisk.getEntryContentLength(), in));
                    }
                    edited.put(tw.getPathString(), e);
                }
            }
            DirCache tree = DirCache.newInCore();
            DirCacheBuilder builder = tree.builder();
            for (int i = 0; i < index.getEntryCount(); i++) {
                DirCacheEntry e = index.getEntry(i);
                String path = e.getPathString();
                if (deleted.contains(path)) {
                    continue;
                }
                DirCacheEntry replaced = edited.get(path);
                builder.add(replaced != null ? replaced : new DirCacheEntry(e));
            }
            builder.finish();
            c = new CommitBuilder();
            c.setAuthor(who);
            c.setCommitter(who);
            c.setParentIds(headCommit, indexCommit);
            c.setTreeId(tree.writeTree(ins));
            c.setMessage(message + "\n");
            ObjectId stash = ins.insert(c);
            ins.flush();
            updateStashRef(r, stash, who, message);
            return stash;
        }
    }

    private static void updateStashRef(Repository r, ObjectId stash, PersonIdent who, String message) throws IOException {
        Ref current = r.exactRef(Constants.R_STASH);
        RefUpdate u = r.updateRef(Constants.R_STASH);
        u.setNewObjectId(stash);
        u.setRefLogIdent(who);
        u.setRefLogMessage(message, false);
        u.setForceRefLog(true);
        u.setExpectedOldObjectId(current == null ? ObjectId.zeroId() : current.getObjectId());
        RefUpdate.Result result = u.forceUpdate();
        if (result != RefUpdate.Result.NEW && result != RefUpdate.Result.FORCED
                && result != RefUpdate.Result.FAST_FORWARD) {
            throw new IOException("cannot update " + Constants.R_STASH + ": " + result);
        }
    }
}
