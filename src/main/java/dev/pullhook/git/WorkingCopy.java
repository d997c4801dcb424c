package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import dev.pullhook.config.GitOptions;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.util.FS;

import static dev.pullhook.git.Failures.lockAwareMessage;
import static dev.pullhook.git.Failures.rootMessage;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The deployed git working copy: everything the deploy layer asks of git, and this package's one way in.
 * Each step of a deploy is one method (check the branch, clear locks, fetch, find local changes, stash,
 * plan, back up, make room, reset, clean, update submodules, repack), done by the classes its comment names,
 * and failing with a {@link GitException} that names the phase. The repository stays open between deploys
 * and is opened again after a failure ({@link OpenRepository}). It knows nothing of HTTP, queues or
 * history. Not safe for two deploys at once: {@code DeployService} serialises them; {@link #head()} may be
 * called from any thread.
 */
public final class WorkingCopy implements AutoCloseable {
    private final Path path;
    private final String remote;
    private final String branch;
    private final Duration timeout;
    private final RemoteAuth auth;
    private final GitOptions options;
    private final Fetcher fetcher;
    private final OpenRepository open;
    /** Plans, clears the way for and does the reset. */
    private final HardReset reset;
    /** The bare store of an atomic deploy's releases ({@link #releaseStore}): no working tree, no index. */
    private final boolean bare;
    /** What writes and records releases, for the bare store; null for a working copy. */
    private final ReleaseStore releases;

    public WorkingCopy(Path path, String remote, String branch, Duration timeout, GitAuth auth) {
        this(path, remote, branch, timeout, auth, GitOptions.DEFAULT);
    }

    public WorkingCopy(Path path, String remote, String branch, Duration timeout, GitAuth auth, GitOptions options) {
        this(path, remote, branch, timeout, auth, options, false);
    }

    /**
     * The bare repository {@code repo.git} that an atomic deploy's releases share ({@code deploy.mode=atomic}):
     * fetched into like a working copy; its branch {@code refs/heads/<branch>} (and HEAD) say which commit the
     * {@code current} release holds. Checks commits out through {@link #releases()}; has no working tree.
     */
    public static WorkingCopy releaseStore(Path gitDir, String remote, String branch, Duration timeout, GitAuth auth,
                                           GitOptions options) {
        return new WorkingCopy(gitDir, remote, branch, timeout, auth, options, true);
    }

    private WorkingCopy(Path path, String remote, String branch, Duration timeout, GitAuth auth, GitOptions options,
                        boolean bare) {
        this.bare = bare;
        this.options = options;
        this.path = path;
        this.remote = remote;
        this.branch = branch;
        this.timeout = timeout;
        this.auth = new RemoteAuth(auth);
        RemoteTransports transports = new RemoteTransports(remote, this.auth);
        this.fetcher = new Fetcher(remote, branch, timeout, this.auth, transports, options);
        this.open = new OpenRepository(path, transports, bare);
        this.reset = new HardReset(path, branch, options, open);
        this.releases = bare ? new ReleaseStore(open, branch) : null;
    }

    /** For the store of {@link #releaseStore}: what writes, compares and records its releases; else null. */
    public ReleaseStore releases() {
        return releases;
    }

    /**
     * From now on, the local-changes check looks only at the tracked files that inotify reports changed
     * since the last check ({@link TreeWatch}), after one look at every file; where the working tree
     * cannot be watched reliably (a network filesystem, say) it says why in the log and looks at all.
     */
    public void watchTree() {
        open.watchTree();
    }

    /**
     * The encoding this JVM gives file names when it is not UTF-8 (a JVM started without a UTF-8 locale),
     * else null. Then a name that is not ASCII cannot be written, and the tree watch stays off.
     */
    public static String fileNamesNotUtf8() {
        String names = System.getProperty("sun.jnu.encoding", "UTF-8");
        return names.equalsIgnoreCase("UTF-8") ? null : names;
    }

    /** The commit checked out, if any. */
    public Optional<ObjectId> head() {
        try {
            return Optional.ofNullable(open.get().resolve(Constants.HEAD));
        } catch (IOException | GitException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Fetches {@code refs/heads/<branch>} into {@code refs/remotes/<remote>/<branch>}, forced, so that a
     * branch pushed backwards on the remote is followed too, and checks what came ({@link Fetcher}).
     * Returns the fetched tip.
     *
     * @param maxTime   what is left of the deploy's time: the network timeout is at most this
     * @param cancelled polled during the transfer; true stops it
     */
    public ObjectId fetch(Duration maxTime, BooleanSupplier cancelled) throws GitException {
        Repository r = open.get();
        int seconds = (int) Math.max(1, Math.min(timeout.toSeconds(), maxTime.toSeconds()));
        try {
            ObjectId tip = fetcher.fetch(r, seconds, cancelled);
            if (tip == null) {
                throw new GitException(GitException.Phase.FETCH, "fetch gave no " + fetcher.trackingRef(), null);
            }
            return Fetcher.commitOf(r, tip, fetcher.trackingRef());
        } catch (GitAPIException | URISyntaxException | JGitInternalException | IOException e) {
            open.reopenLater();
            throw fetcher.failed(e, r, cancelled.getAsBoolean());
        }
    }

    /** The tip of the branch on the remote, asked without fetching ({@code git ls-remote}); null if it has none. */
    public ObjectId remoteTip() throws GitException {
        Repository r = open.get();
        try {
            return fetcher.remoteTip(r);
        } catch (URISyntaxException | IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.FETCH, "ls-remote of " + remote + " failed: "
                    + auth.explain(rootMessage(e)), e);
        }
    }

    /**
     * Removes git lock files left by dead processes and waits (bounded) for live ones; see {@link LockFiles}.
     *
     * @return the locks removed
     */
    public List<Path> clearLocks(Duration stale, Duration wait, boolean afterCrash, Consumer<String> warn)
            throws GitException {
        return LockFiles.clear(open.get().getDirectory().toPath(), stale, wait, afterCrash, warn);
    }

    /**
     * Tracked files whose content differs from HEAD (edited, deleted, staged, or in conflict), sorted; at
     * most {@code limit}, see {@link LocalChanges}.
     */
    public List<String> localChanges(int limit) throws GitException {
        TreeSet<String> all = localChanges();
        List<String> out = new ArrayList<>(all.stream().limit(limit).toList());
        if (all.size() > limit) {
            out.add("... (" + (all.size() - limit) + " more)");
        }
        return out;
    }

    /** Removes the temporary files of a reset killed mid-write ({@link InterruptedWrites}); returns their paths. */
    public List<String> removeInterruptedWrites() throws GitException {
        try {
            return InterruptedWrites.removeBelow(path);
        } catch (IOException | RuntimeException e) {
            throw new GitException(GitException.Phase.CHECK, "cannot remove what the interrupted reset left: "
                    + rootMessage(e), e);
        }
    }

    /** Every tracked file whose content differs from HEAD, sorted ({@link LocalChanges}). */
    public TreeSet<String> localChanges() throws GitException {
        Repository r = open.get();
        try {
            return open.localChanges(r);
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.CHECK, "cannot read the working copy's status: "
                    + rootMessage(e), e);
        }
    }

    /**
     * Saves the edits of {@code changed} tracked files as a stash entry (like {@code git stash}, chmod
     * included); returns its commit id, or null if nothing to save. The working tree is left as it is: the
     * reset that follows overwrites it.
     */
    public ObjectId stash(Set<String> changed, String message) throws GitException {
        Repository r = open.get();
        try {
            synchronized (open.index) {
                return Stash.create(r, open.index.read(r), changed, message);
            }
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.STASH, "cannot stash local changes: " + lockAwareMessage(e), e);
        }
    }

    /** A reset planned and checked, before anything changed; see {@link #plan}. */
    public static final class Plan {
        final ResetPlan plan;
        /** Tracked paths behind a link or file, found by {@link #makeRoom}: dropped from the index only. */
        List<String> unreachable = List.of();

        Plan(ResetPlan plan) {
            this.plan = plan;
        }
    }

    /**
     * Plans the reset to {@code target} and checks it before anything changes: every name it writes
     * ({@link PathRules}), the attributes it would need, and with {@code submodules} the submodule URLs.
     *
     * @param edited the tracked paths {@link #localChanges()} found: the reset rewrites them too
     * @throws GitException (phase CHECK) naming what cannot be deployed as git would; nothing was changed
     */
    public Plan plan(ObjectId target, Set<String> edited, boolean submodules) throws GitException {
        return reset.plan(open.get(), target, edited, submodules);
    }

    /**
     * If HEAD holds commits that neither {@code tip} nor the remote-tracking branch contain (local commits,
     * or a branch that was force-pushed away), points a new ref {@code refs/pullhook/backup/<time>} at HEAD
     * and returns its name ({@link BackupRef}).
     */
    public String backupUnlessContainedIn(ObjectId tip, Instant now) throws GitException {
        Repository r = open.get();
        try {
            return BackupRef.unlessContainedIn(r, fetcher.trackingRef(), tip, now);
        } catch (IOException | JGitInternalException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.BACKUP, "cannot back up HEAD: " + rootMessage(e), e);
        }
    }

    /**
     * Clears the way for the planned reset, as git's reset clears it but losing nothing: untracked files,
     * links and folders it replaces are saved on {@code refs/pullhook/saved/<time>} ({@link SavedFiles}) and
     * removed; tracked files or links where it needs a folder are removed (their content is in HEAD, edits
     * were stashed). Nothing is followed ({@link InTheWay}). Returns the ref that holds what was saved, or null.
     *
     * @throws GitException (phase BACKUP) when something in the way cannot be saved; nothing was changed then
     */
    public String makeRoom(Plan plan, Instant now) throws GitException {
        return reset.makeRoom(open.get(), plan, now);
    }

    /** Removes untracked files and folders that are not ignored ({@code git clean -fd}); returns how many. */
    public int clean() throws GitException {
        try {
            int removed = Cleaner.clean(open.get());
            if (removed > 0) {
                open.watch.invalidate();
            }
            return removed;
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.CLEAN, "clean failed: " + rootMessage(e), e);
        }
    }

    /** {@code git submodule update --init --recursive}: each submodule checked out at the commit the tree records. */
    public int updateSubmodules() throws GitException {
        Repository r = open.get();
        try {
            return Submodules.update(r, auth, Submodules.originHost(r, remote), options.submoduleSchemes(),
                    (int) Math.max(1, timeout.toSeconds()), options.fsck());
        } catch (Submodules.Refused e) {
            throw new GitException(GitException.Phase.SUBMODULES, "submodule update refused: " + e.getMessage(), null);
        } catch (GitAPIException | JGitInternalException | IOException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.SUBMODULES, "submodule update failed: " + rootMessage(e), e);
        }
    }

    /**
     * Repacks once fetches have piled up pack files ({@link AutoGc}).
     *
     * @return how many pack files there were when it ran, or 0 when nothing needed doing
     */
    public int gcIfManyPacks() throws GitException {
        Repository r = open.get();
        try {
            return AutoGc.ifManyPacks(r);
        } catch (GitAPIException | JGitInternalException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.CLEAN, "git gc failed: " + rootMessage(e), e);
        }
    }

    /** The repository folder ({@code .git}), where git keeps its locks. */
    public Path gitDir() throws GitException {
        return open.get().getDirectory().toPath();
    }

    /** Resolves a full commit id that exists in the repository, or null. */
    public ObjectId commit(String id) {
        try (RevWalk walk = new RevWalk(open.get())) {
            return walk.parseCommit(ObjectId.fromString(id)).getId();
        } catch (IOException | GitException | RuntimeException e) {
            return null;
        }
    }

    /** How a reset was done: by the fast path, or by JGit's reset, and then why. */
    public record Reset(boolean fast, String why) {
    }

    /**
     * Makes the working copy exactly the plan's target: HEAD's branch moves there and tracked files are
     * overwritten, like {@code git reset --hard}; untracked files stay ({@link #makeRoom} saved and removed
     * those in the way). Refuses to move another branch than the configured one.
     *
     * @param knownClean the caller just found no edits of tracked files: then the fast path may write only
     *                   the paths that differ between HEAD and the target ({@link TreeSwitch})
     */
    public Reset resetHard(Plan plan, boolean knownClean) throws GitException {
        return reset.run(open.get(), plan, knownClean);
    }

    /**
     * Fails unless the working copy has the configured branch checked out: checked first in every deploy,
     * so that a damaged or switched HEAD is reported as such before anything else is tried.
     */
    public void checkCheckedOut() throws GitException {
        reset.checkCheckedOut(open.get());
    }

    /**
     * Pays JGit's one-time costs so the first deploy after start is not the slow one: the file system's
     * timestamp probe, opening the repository, reading the index and pack list, the local-changes walk over
     * this working copy (its inodes), and a whole deploy rehearsed on throwaway repositories in
     * {@code scratch} ({@link DeployRehearsal}: the fetch that receives a pack, the checks and the reset,
     * which the start-up check's fetch of an unmoved tip never reaches). Changes nothing here or on the
     * remote. Failures only make the first deploy slower: a real deploy reports them.
     *
     * @param scratch an empty or missing folder of pullhook's own, removed afterwards; null skips the rehearsal
     * @return null when all went well, else what failed (for the log)
     */
    public String warmUp(Path scratch) {
        String problem = null;
        boolean localRemote = false;
        try {
            FS.getFileStoreAttributes(path);
            Repository r = open.get();
            ObjectId head = r.resolve(Constants.HEAD);
            if (!bare) {
                DirCache.read(r).getEntryCount();
                localChanges(1);  // the check every deploy starts with: its classes and the working tree's inodes
            }
            if (head != null) {
                r.getObjectDatabase().has(head);
            }
            // a remote on this machine: its sending side runs in this process too (LocalRemote)
            localRemote = LocalRemote.locate(r, remote) != null;
        } catch (IOException | GitException | RuntimeException e) {
            open.reopenLater();
            problem = "working copy: " + rootMessage(e);
        }
        if (scratch != null) {
            try {
                DeployRehearsal.run(scratch, localRemote);
            } catch (IOException | GitException | RuntimeException e) {
                problem = (problem == null ? "" : problem + "; ") + "rehearsal: " + rootMessage(e);
            }
        }
        return problem;
    }

    /** Whether the next local-changes check takes the tree watch's word (tests). */
    boolean watchAnswersNext() {
        return open.watchAnswersNext();
    }

    @Override
    public void close() {
        open.close();
        auth.close();
    }
}
