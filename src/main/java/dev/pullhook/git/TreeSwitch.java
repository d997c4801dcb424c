package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheCheckout;
import org.eclipse.jgit.dircache.DirCacheEditor;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.errors.LockFailedException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fast path of a hard reset, for a working copy known to be clean (no edits of tracked files): only the
 * paths that differ between the HEAD tree and the target tree are written or deleted, and their index
 * entries updated, then HEAD's branch moves. Comparing trees by id skips unchanged folders whole, so a
 * deploy of a 3-file commit touches 3 files instead of walking the entire working tree (and any big
 * untracked folder in it) twice, as a general reset must. Anything unusual (submodules, symbolic links,
 * a file turning into a folder, a very large change) is declined: the caller then does the general reset.
 */
final class TreeSwitch {
    private static final int MAX_CHANGES = 5_000;

    private record Change(String path, ObjectId id, FileMode mode, DirCacheCheckout.CheckoutMetadata metadata) {
    }

    private TreeSwitch() {
    }

    /**
     * Moves HEAD (and the checked-out branch) from {@code from} to {@code to} by writing only what differs.
     *
     * @param kept the index as last read by the caller: locked here and read again only if it changed on
     *             disk since; on an exception its in-memory state is undefined and must be dropped. When it
     *             was known to hold {@code from}'s tree, it is known to hold {@code to}'s afterwards.
     * @return false, having changed nothing, when the fast path does not apply
     */
    static boolean apply(Repository repo, KeptIndex kept, ObjectId from, ObjectId to) throws IOException {
        if (from == null) {
            return false;
        }
        Path workTree = repo.getWorkTree().toPath();
        List<String> deletions = new ArrayList<>();
        List<Change> writes = new ArrayList<>();
        try (ObjectReader reader = repo.newObjectReader(); RevWalk rw = new RevWalk(reader);
             TreeWalk tw = new TreeWalk(repo, reader)) {
            tw.setOperationType(TreeWalk.OperationType.CHECKOUT_OP);
            ObjectId fromTree = rw.parseCommit(from).getTree();
            ObjectId toTree = rw.parseCommit(to).getTree();
            tw.addTree(fromTree);
            tw.addTree(toTree);
            tw.setFilter(TreeFilter.ANY_DIFF);
            tw.setRecursive(true);
            while (tw.next()) {
                FileMode old = tw.getFileMode(0);
                FileMode nu = tw.getFileMode(1);
                if (unusual(old) || unusual(nu) || deletions.size() + writes.size() >= MAX_CHANGES) {
                    return false;
                }
                String path = tw.getPathString();
                if (nu == FileMode.MISSING) {
                    deletions.add(path);
                } else {
                    writes.add(new Change(path, tw.getObjectId(1), nu, new DirCacheCheckout.CheckoutMetadata(
                            tw.getEolStreamType(TreeWalk.OperationType.CHECKOUT_OP),
                            tw.getFilterCommand(Constants.ATTR_FILTER_TYPE_SMUDGE))));
                }
            }
            for (Change w : writes) {
                // a folder where the file goes, or a file where a folder is needed: leave it to the general reset
                if (Files.isDirectory(workTree.resolve(w.path), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        || blockedByFile(workTree, w.path, deletions)) {
                    return false;
                }
            }
            DirCache index = kept.read(repo);
            if (!index.lock()) {
                throw new LockFailedException(repo.getIndexFile());
            }
            try {
                kept.read(repo);  // the same object, read again if changed on disk since
                // only the paths that differ are edited: the result is the target tree if the start was HEAD's
                boolean exact = fromTree.equals(kept.knownTree());
                DirCacheEditor editor = index.editor();
                WorkingTreeOptions options = repo.getConfig().get(WorkingTreeOptions.KEY);
                for (String path : deletions) {
                    deleteFile(workTree, path);
                    editor.add(new DirCacheEditor.DeletePath(path));
                }
                refresh(index, editor, kept.takeRefreshes(), deletions, writes);
                for (Change w : writes) {
                    Path file = workTree.resolve(w.path);
                    write(repo, reader, options, w, file);
                    long length = Files.size(file);
                    java.time.Instant modified = Files.getLastModifiedTime(file).toInstant();
                    editor.add(new DirCacheEditor.PathEdit(w.path) {
                        @Override
                        public void apply(DirCacheEntry ent) {
                            ent.setFileMode(w.mode);
                            ent.setObjectId(w.id);
                            ent.setLength(length);
                            ent.setLastModified(modified);
                        }
                    });
                }
                editor.finish();
                kept.holds(null);
                index.write();
                if (!index.commit()) {
                    throw new IOException("cannot commit the index");
                }
                kept.holds(exact ? toTree : null);
            } finally {
                index.unlock();
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        RefUpdate update = repo.updateRef(Constants.HEAD);
        update.setNewObjectId(to);
        update.setForceUpdate(true);
        update.setRefLogMessage("reset: moving to " + to.name(), false);
        RefUpdate.Result result = update.forceUpdate();
        if (result != RefUpdate.Result.FORCED && result != RefUpdate.Result.FAST_FORWARD
                && result != RefUpdate.Result.NEW && result != RefUpdate.Result.NO_CHANGE) {
            throw new IOException("cannot move HEAD to " + to.name() + ": " + result);
        }
        repo.writeOrigHead(from);
        return true;
    }

    private static boolean unusual(FileMode mode) {
        return mode == FileMode.GITLINK || mode == FileMode.SYMLINK;
    }

    /** True when a parent folder of {@code path} exists as a file that is not about to be deleted. */
    /**
     * New stat data for files the check found unchanged ({@link KeptIndex#takeRefreshes}), where the index
     * still has that content for them and this switch does not rewrite them. A time too close to the
     * index write is smudged by JGit when it writes, as git does (the next check reads that file again).
     */
    private static void refresh(DirCache index, DirCacheEditor editor, Map<String, KeptIndex.Refresh> refreshes,
                                List<String> deletions, List<Change> writes) {
        if (refreshes.isEmpty()) {
            return;
        }
        Set<String> rewritten = new HashSet<>(deletions);
        writes.forEach(w -> rewritten.add(w.path));
        refreshes.forEach((path, r) -> {
            DirCacheEntry now = index.getEntry(path);
            if (now == null || rewritten.contains(path) || !r.id().equals(now.getObjectId())) {
                return;
            }
            editor.add(new DirCacheEditor.PathEdit(path) {
                @Override
                public void apply(DirCacheEntry ent) {
                    ent.setLength(r.length());
                    ent.setLastModified(r.modified());
                }
            });
        });
    }

    private static boolean blockedByFile(Path workTree, String path, List<String> deletions) {
        int slash = path.indexOf('/');
        while (slash > 0) {
            String parent = path.substring(0, slash);
            Path p = workTree.resolve(parent);
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return true;  // even if it is deleted first, keep the unusual case on the general path
            }
            slash = path.indexOf('/', slash + 1);
        }
        return false;
    }

    /** Writes the blob through git's filters (eol, smudge) to a temporary file, then moves it in place. */
    private static void write(Repository repo, ObjectReader reader, WorkingTreeOptions options, Change w, Path file)
            throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling("." + file.getFileName() + ".pullhook-tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            DirCacheCheckout.getContent(repo, w.path, w.metadata, reader.open(w.id, Constants.OBJ_BLOB), options, out);
        }
        if (w.mode == FileMode.EXECUTABLE_FILE) {
            Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(tmp));
            perms.addAll(EnumSet.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE));
            Files.setPosixFilePermissions(tmp, perms);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Deletes a file and the folders it leaves empty, as git does. */
    private static void deleteFile(Path workTree, String path) throws IOException {
        Path file = workTree.resolve(path);
        Files.deleteIfExists(file);
        for (Path dir = file.getParent(); dir != null && !dir.equals(workTree); dir = dir.getParent()) {
            try {
                Files.delete(dir);
            } catch (DirectoryNotEmptyException | java.nio.file.NoSuchFileException e) {
                break;
            }
        }
    }
}
