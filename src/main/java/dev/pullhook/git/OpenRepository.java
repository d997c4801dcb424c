package dev.pullhook.git;

import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;

/**
 * A working copy's repository, kept open between deploys and dropped after any failure (opened again at the
 * next use), with what is kept beside it: the index as this daemon last read or wrote it ({@link KeptIndex}),
 * what changed in the working tree since the last check ({@link TreeWatchSlot}), and the transports to the
 * remote. The index and the watch have their own lock, the index's: {@link WorkingCopy#head()} may be asked
 * from other threads while a deploy checks or resets.
 */
final class OpenRepository implements AutoCloseable {
    private final Path path;
    private final RemoteTransports transports;
    /** The bare repository of an atomic deploy's releases ({@link GitRepoCheck#openStore}), not a working copy. */
    private final boolean bare;
    private volatile Repository repo;
    /** Dropped on any failure, when it may differ from the file. */
    final KeptIndex index = new KeptIndex();
    /** Guarded by {@link #index}, like the index. */
    final TreeWatchSlot watch;

    OpenRepository(Path path, RemoteTransports transports) {
        this(path, transports, false);
    }

    OpenRepository(Path path, RemoteTransports transports, boolean bare) {
        this.bare = bare;
        this.path = path;
        this.transports = transports;
        this.watch = new TreeWatchSlot(path);
    }

    /** The open repository, opened now if needed. */
    synchronized Repository get() throws GitException {
        if (repo != null && !(Files.isDirectory(path) && repo.getDirectory().isDirectory())) {
            // moved or removed under the running daemon: the open handle would give misleading errors
            repo.close();
            repo = null;
        }
        if (repo == null) {
            if (!Files.isDirectory(path)) {
                throw new GitException(GitException.Phase.OPEN, "the working copy " + path
                        + " does not exist or is not a folder (moved or removed?)", null);
            }
            try {
                repo = bare ? GitRepoCheck.openStore(path) : GitRepoCheck.open(path);
            } catch (IOException | IllegalArgumentException e) {
                throw new GitException(GitException.Phase.OPEN, path + " cannot be opened as a git working copy: "
                        + e.getMessage(), e);
            }
        }
        return repo;
    }

    /** Every tracked file whose content differs from HEAD ({@link LocalChanges}), asking the watch first. */
    TreeSet<String> localChanges(Repository r) throws IOException {
        synchronized (index) {
            TreeSet<String> changed = LocalChanges.find(r, index, watch.get(r.getDirectory().toPath()));
            watch.giveUpIfFailed();
            return changed;
        }
    }

    void watchTree() {
        synchronized (index) {
            watch.want();
        }
    }

    /** Whether the next local-changes check takes the tree watch's word. */
    boolean watchAnswersNext() {
        synchronized (index) {
            return watch.answersNext();
        }
    }

    /** Drops the kept index and the watch's word: the index on disk may differ from them now. */
    void forgetIndex() {
        synchronized (index) {
            index.forget();
            watch.invalidate();
        }
    }

    /** After a failure: drops everything kept, and the repository is opened again at the next use. */
    synchronized void reopenLater() {
        forgetIndex();
        transports.close();
        if (repo != null) {
            repo.close();
            repo = null;
        }
    }

    @Override
    public void close() {
        reopenLater();
        synchronized (index) {
            watch.close();
        }
    }
}
