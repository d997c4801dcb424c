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
import org.eclipse.jgit.treewalk.WorkingTreeOptions;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fast path of a hard reset, for a working copy known to be clean (no edits of tracked files): only
 * the paths of a {@link ResetPlan} (those that differ between HEAD's tree and the target's) are deleted or
 * written, and their index entries updated, then HEAD's branch moves. A deploy of a 3-file commit touches
 * 3 files instead of walking the whole working tree, as JGit's reset does.
 * <p>
 * It writes as git does: deletions first, deepest first, removing the folders they leave empty; then each
 * file through a temporary file of unpredictable name in its own folder, created exclusively (never
 * through a link), with mode {@code 0666} or {@code 0777} so that the umask applies as it does to git,
 * and renamed over the old one. Every folder on the way is checked with {@code lstat} and never followed:
 * what stood in the way was saved and removed before ({@link InTheWay}). A plan the fast path does not
 * handle ({@link ResetPlan#notFast}) is left to the reference, JGit's own reset.
 */
final class TreeSwitch {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final FileAttribute<Set<PosixFilePermission>> REGULAR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-rw-rw-"));
    private static final FileAttribute<Set<PosixFilePermission>> EXECUTABLE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx"));

    private TreeSwitch() {
    }

    /**
     * Moves HEAD (and the checked-out branch) from the plan's HEAD to its target by writing only what differs.
     *
     * @param kept the index as last read by the caller: locked here and read again only if it changed on
     *             disk since; on an exception its in-memory state is undefined and must be dropped. When it
     *             was known to hold HEAD's tree, it is known to hold the target's afterwards.
     * @return false, having changed nothing, when the fast path does not apply
     */
    static boolean apply(Repository repo, KeptIndex kept, ResetPlan plan) throws IOException {
        if (plan.notFast != null || plan.head == null) {
            return false;
        }
        DirCache index = kept.read(repo);
        if (!index.lock()) {
            throw new LockFailedException(repo.getIndexFile());
        }
        try {
            kept.read(repo);  // the same object, read again if changed on disk since
            boolean exact = plan.headTree.equals(kept.knownTree());
            Folders folders = new Folders(repo.getWorkTree().toPath());
            Edits edits = new Edits(new ArrayList<>(), new HashSet<>());
            delete(plan, folders, kept, edits);
            write(repo, plan, folders, kept, edits);
            // A new lock, taken after the files are written: JGit marks as "racily clean" every entry whose
            // file is not older than the lock file, which would make the next check read back every file
            // written here; git compares with the moment the index is written, as this now does.
            index.unlock();
            if (!index.lock()) {
                throw new LockFailedException(repo.getIndexFile());
            }
            exact &= kept.read(repo) == index && !kept.reread();
            commit(index, kept, edits, exact ? plan.targetTree : null);
        } finally {
            index.unlock();
        }
        moveHead(repo, plan);
        return true;
    }

    /** The index edits of the paths written or deleted so far, and those paths. */
    private record Edits(List<DirCacheEditor.PathEdit> list, Set<String> paths) {
        void add(DirCacheEditor.PathEdit edit, String path) {
            list.add(edit);
            paths.add(path);
        }
    }

    /** The deletions first, deepest first, removing the folders they leave empty. */
    private static void delete(ResetPlan plan, Folders folders, KeptIndex kept, Edits edits) throws IOException {
        List<ResetPlan.Change> changes = plan.changes;
        for (int i = changes.size() - 1; i >= 0; i--) {  // deepest first
            ResetPlan.Change c = changes.get(i);
            if (c.deleted()) {
                folders.delete(c.path());
                edits.add(new DirCacheEditor.DeletePath(c.path()), c.path());
                kept.wrote(c.path(), null);
            }
        }
    }

    /** Then every added or changed file, as checkout writes it (filters, eol), with its entry as written. */
    private static void write(Repository repo, ResetPlan plan, Folders folders, KeptIndex kept, Edits edits)
            throws IOException {
        WorkingTreeOptions options = repo.getConfig().get(WorkingTreeOptions.KEY);
        try (ObjectReader reader = repo.newObjectReader()) {
            for (ResetPlan.Change c : plan.changes) {
                if (c.deleted()) {
                    continue;
                }
                FileStat written = folders.write(c.path(), out -> DirCacheCheckout.getContent(repo, c.path(),
                        c.metadata(), reader.open(c.newId(), Constants.OBJ_BLOB), options, out),
                        c.newMode() == FileMode.EXECUTABLE_FILE);
                kept.wrote(c.path(), written);
                edits.add(new DirCacheEditor.PathEdit(c.path()) {
                    @Override
                    public void apply(DirCacheEntry ent) {
                        ent.setFileMode(c.newMode());
                        ent.setObjectId(c.newId());
                        record(ent, written);
                    }
                }, c.path());
            }
        }
    }

    /**
     * Writes the locked index with the edits and the stat data an earlier check verified.
     *
     * @param holds the tree the index now holds exactly, or null when not known
     */
    private static void commit(DirCache index, KeptIndex kept, Edits edits, ObjectId holds) throws IOException {
        DirCacheEditor editor = index.editor();
        edits.list().forEach(editor::add);
        refresh(index, editor, kept.takeRefreshes(), edits.paths());
        editor.finish();
        kept.holds(null);
        index.write();
        if (!index.commit()) {
            throw new IOException("cannot commit the index");
        }
        kept.holds(holds);
    }

    /** Points HEAD's branch at the target, with the reflog entry git's reset writes, and ORIG_HEAD at the old one. */
    static void moveHead(Repository repo, ResetPlan plan) throws IOException {
        RefUpdate update = repo.updateRef(Constants.HEAD);
        update.setNewObjectId(plan.target);
        update.setForceUpdate(true);
        update.setRefLogMessage("reset: moving to " + plan.target.name(), false);
        RefUpdate.Result result = update.forceUpdate();
        if (result != RefUpdate.Result.FORCED && result != RefUpdate.Result.FAST_FORWARD
                && result != RefUpdate.Result.NEW && result != RefUpdate.Result.NO_CHANGE) {
            throw new IOException("cannot move HEAD to " + plan.target.name() + ": " + result);
        }
        if (plan.head != null) {
            repo.writeOrigHead(plan.head);
        }
    }

    /** The stat data git keeps in an index entry, from what {@code lstat} said right after the write. */
    static void record(DirCacheEntry ent, FileStat stat) {
        ent.setLength(stat.size());
        ent.setLastModified(stat.mtime());
        ent.setCreationTime(stat.ctimeMillis());
    }

    /**
     * New stat data for files the check found unchanged ({@link KeptIndex#takeRefreshes}), where the index
     * still has that content for them and this switch does not rewrite them. A time too close to the
     * index write is smudged by JGit when it writes, as git does (the next check reads that file again).
     */
    private static void refresh(DirCache index, DirCacheEditor editor, Map<String, KeptIndex.Refresh> refreshes,
                                Set<String> rewritten) {
        refreshes.forEach((path, r) -> {
            DirCacheEntry now = index.getEntry(path);
            if (now == null || rewritten.contains(path) || !r.id().equals(now.getObjectId())) {
                return;
            }
            editor.add(new DirCacheEditor.PathEdit(path) {
                @Override
                public void apply(DirCacheEntry ent) {
                    record(ent, r.stat());
                }
            });
        });
    }

    /** What writes a file's content. */
    @FunctionalInterface
    interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * File work inside the working tree that never follows a link: every folder on the way is checked with
     * {@code lstat} (and remembered for the rest of the switch), created when missing, and anything else
     * there is an error, not something to write through.
     */
    static final class Folders {
        private final Path workTree;
        private final Map<String, Boolean> real = new HashMap<>();

        Folders(Path workTree) {
            this.workTree = workTree;
        }

        /** Deletes a tracked file or link, and the folders it leaves empty; nothing behind a link or a file. */
        void delete(String path) throws IOException {
            if (!reachable(path)) {
                return;  // a link or a file replaced one of its folders: git leaves the disk alone there too
            }
            Path file = workTree.resolve(path);
            FileStat stat = FileStat.of(file);
            if (stat == null) {
                return;
            }
            if (stat.isDirectory()) {
                return;  // a folder where the file was: git does not remove it either
            }
            Files.delete(file);
            removeEmptyParents(path);
        }

        private void removeEmptyParents(String path) throws IOException {
            for (int slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
                String folder = path.substring(0, slash);
                try {
                    Files.delete(workTree.resolve(folder));  // a real folder: reachable() checked each one
                    real.remove(folder);
                    forgetBelow(folder);
                } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                    return;
                }
            }
        }

        private void forgetBelow(String folder) {
            real.keySet().removeIf(k -> k.startsWith(folder + "/"));
        }

        /**
         * Writes {@code path} through a temporary file in its folder, renamed over whatever file or link is
         * there; creates missing folders. Returns the stat data of the file written.
         */
        FileStat write(String path, Content content, boolean executable) throws IOException {
            makeFolders(path);
            Path file = workTree.resolve(path);
            FileStat there = FileStat.of(file);
            if (there != null && there.isDirectory()) {
                try {
                    Files.delete(file);  // emptied by the deletions of this switch
                    forgetBelow(path);
                    real.remove(path);
                } catch (DirectoryNotEmptyException e) {
                    throw new IOException("the folder " + path + " is still in the way of a file the push brings", e);
                }
            }
            Path tmp = InterruptedWrites.tempFor(file, randomBytes());
            try (var channel = Files.newByteChannel(tmp, EnumSet.of(StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), executable ? EXECUTABLE : REGULAR);
                 OutputStream out = Channels.newOutputStream(channel)) {
                content.writeTo(out);
            } catch (IOException | RuntimeException e) {
                if (!(e instanceof FileAlreadyExistsException)) {
                    Files.deleteIfExists(tmp);
                }
                throw e;
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            return FileStat.read(file);
        }

        private static byte[] randomBytes() {
            byte[] b = new byte[8];
            RANDOM.nextBytes(b);
            return b;
        }

        /** Creates the folders of {@code path} that are missing; fails on anything that is not a real folder. */
        /** Makes the link {@code path} pointing to {@code target}, creating missing folders; follows nothing. */
        void link(String path, String target) throws IOException {
            makeFolders(path);
            Files.createSymbolicLink(workTree.resolve(path), Path.of(target));
        }

        /** Makes the (empty) folder {@code path} and the missing folders above it; follows nothing. */
        void folder(String path) throws IOException {
            makeFolders(path + "/");
        }

        private void makeFolders(String path) throws IOException {
            for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
                String folder = path.substring(0, slash);
                if (Boolean.TRUE.equals(real.get(folder))) {
                    continue;
                }
                Path dir = workTree.resolve(folder);
                FileStat stat = FileStat.of(dir);
                if (stat == null) {
                    Files.createDirectory(dir);  // mode 0777 less the umask, as git's mkdir
                } else if (!stat.isDirectory()) {
                    throw new IOException("a " + stat.kind() + " is in the way of the folder " + folder);
                }
                real.put(folder, true);
            }
        }

        /** Whether every folder on the way to {@code path} is a real folder (none missing, none a link). */
        private boolean reachable(String path) {
            for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
                String folder = path.substring(0, slash);
                Boolean ok = real.get(folder);
                if (ok == null) {
                    FileStat stat = FileStat.of(workTree.resolve(folder));
                    ok = stat != null && stat.isDirectory();
                    real.put(folder, ok);
                }
                if (!ok) {
                    return false;
                }
            }
            return true;
        }
    }
}
