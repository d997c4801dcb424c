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
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

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
        try (ObjectInserter ins = r.newObjectInserter(); RevWalk rw = new RevWalk(r)) {
            RevCommit headCommit = rw.parseCommit(head.getObjectId());
            PersonIdent who = new PersonIdent(r);
            ObjectId indexCommit = indexCommit(index, ins, headCommit, branch, who);
            OnDisk onDisk = onDisk(r, index, changed, ins);
            CommitBuilder c = new CommitBuilder();
            c.setAuthor(who);
            c.setCommitter(who);
            c.setParentIds(headCommit, indexCommit);
            c.setTreeId(stashTree(index, onDisk).writeTree(ins));
            c.setMessage(message + "\n");
            ObjectId stash = ins.insert(c);
            ins.flush();
            updateStashRef(r, stash, who, message);
            return stash;
        }
    }

    /** The commit of the index on HEAD ({@code index on <branch>: <commit> <subject>}). */
    private static ObjectId indexCommit(DirCache index, ObjectInserter ins, RevCommit headCommit, String branch,
                                        PersonIdent who) throws IOException {
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
        return ins.insert(c);
    }

    /** The edited tracked files as they are on disk (their new entries, blobs inserted), and the deleted ones. */
    private record OnDisk(Map<String, DirCacheEntry> edited, Set<String> deleted) {
    }

    private static OnDisk onDisk(Repository r, DirCache index, Collection<String> changed, ObjectInserter ins)
            throws IOException {
        boolean fileMode = r.getConfig().get(WorkingTreeOptions.KEY).isFileMode();
        OnDisk found = new OnDisk(new HashMap<>(), new HashSet<>());
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
                    found.deleted().add(tw.getPathString());
                    continue;
                }
                found.edited().put(tw.getPathString(), entryOf(entry, onDisk, fileMode, ins));
            }
        }
        return found;
    }

    /** The entry of a file as it is on disk: its mode (unless core.fileMode is false) and its content. */
    private static DirCacheEntry entryOf(DirCacheEntry entry, WorkingTreeIterator onDisk, boolean fileMode,
                                         ObjectInserter ins) throws IOException {
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
        return e;
    }

    /** The index with each edited file as it is on disk and without the deleted ones. */
    private static DirCache stashTree(DirCache index, OnDisk onDisk) {
        DirCache tree = DirCache.newInCore();
        DirCacheBuilder builder = tree.builder();
        for (int i = 0; i < index.getEntryCount(); i++) {
            DirCacheEntry e = index.getEntry(i);
            String path = e.getPathString();
            if (onDisk.deleted().contains(path)) {
                continue;
            }
            DirCacheEntry replaced = onDisk.edited().get(path);
            builder.add(replaced != null ? replaced : new DirCacheEntry(e));
        }
        builder.finish();
        return tree;
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
