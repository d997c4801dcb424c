package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import dev.pullhook.config.GitOptions;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.ResetCommand;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.errors.LockFailedException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.util.FS;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The deployed git working copy, and the only class that talks to JGit. It keeps one {@link Repository}
 * open between deploys (reopened after a failure) and offers the two steps of a deploy: a forced fetch of
 * the branch into its remote-tracking ref, and a hard reset to the fetched commit. It knows nothing of
 * HTTP, queues or history. Not safe for two deploys at once: {@code DeployService} serialises them;
 * {@link #head()} may be called from any thread.
 */
public final class WorkingCopy implements AutoCloseable {
    private static final String BACKUP_PREFIX = "refs/pullhook/backup/";
    private static final DateTimeFormatter BACKUP_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);
    private final Path path;
    private final String remote;
    private final String branch;
    private final Duration timeout;
    private final RemoteAuth auth;
    private final RemoteTransports transports;
    private final GitOptions options;
    private final Fetcher fetcher;
    private volatile Repository repo;
    /** The index as this daemon last read or wrote it; dropped on any failure, when it may differ from the file. */
    private final KeptIndex index = new KeptIndex();
    /** What changed in the working tree between checks; guarded by {@link #index}, like the index. */
    private final TreeWatchSlot watch;

    public WorkingCopy(Path path, String remote, String branch, Duration timeout, GitAuth auth) {
        this(path, remote, branch, timeout, auth, GitOptions.DEFAULT);
    }

    public WorkingCopy(Path path, String remote, String branch, Duration timeout, GitAuth auth, GitOptions options) {
        this.options = options;
        this.path = path;
        this.remote = remote;
        this.branch = branch;
        this.timeout = timeout;
        this.auth = new RemoteAuth(auth);
        this.transports = new RemoteTransports(remote, this.auth);
        this.fetcher = new Fetcher(remote, branch, timeout, this.auth, transports, options);
        this.watch = new TreeWatchSlot(path);
    }

    /**
     * From now on, the local-changes check looks only at the tracked files that inotify reports changed
     * since the last check ({@link TreeWatch}), after one look at every file; where the working tree
     * cannot be watched reliably (a network filesystem, say) it says why in the log and looks at all.
     */
    public void watchTree() {
        synchronized (index) {
            watch.want();
        }
    }

    /**
     * The encoding this JVM gives file names when it is not UTF-8 (a JVM started without a UTF-8 locale),
     * else null. Then a name that is not ASCII cannot be written, and the tree watch stays off.
     */
    public static String fileNamesNotUtf8() {
        String names = System.getProperty("sun.jnu.encoding", "UTF-8");
        return names.equalsIgnoreCase("UTF-8") ? null : names;
    }

    /**
     * The URL of {@code remote} in the working copy at {@code path}, as its {@code .git/config} spells it
     * ({@code remote.<name>.url}: before any {@code url.*.insteadOf}, and with whatever credentials were written
     * into it), or null when there is none or the working copy cannot be opened.
     */
    public static String remoteUrl(Path path, String remote) {
        try (Repository r = open(path)) {
            return r.getConfig().getString("remote", remote, "url");
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /** HEAD as a message says it: a branch, a detached commit, or nothing. */
    static String describeHead(String full) {
        if (full == null) {
            return "nothing";
        }
        if (full.startsWith(Constants.R_HEADS)) {
            return "branch \"" + Repository.shortenRefName(full) + "\"";
        }
        return "a detached HEAD (" + ObjectId.fromString(full).abbreviate(7).name() + ")";
    }

    static Repository open(Path path) throws IOException {
        Repository r = new FileRepositoryBuilder()
                .setWorkTree(path.toFile())
                .setMustExist(true)
                .setup()
                .build();
        if (r.isBare()) {
            r.close();
            throw new IllegalArgumentException("it is a bare repository, not a working copy");
        }
        return r;
    }

    private synchronized Repository repo() throws GitException {
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
                repo = open(path);
            } catch (IOException | IllegalArgumentException e) {
                throw new GitException(GitException.Phase.OPEN, path + " cannot be opened as a git working copy: "
                        + e.getMessage(), e);
            }
        }
        return repo;
    }

    /** The commit checked out, if any. */
    public Optional<ObjectId> head() {
        try {
            return Optional.ofNullable(repo().resolve(Constants.HEAD));
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
        Repository r = repo();
        String tracking = fetcher.trackingRef();
        int seconds = (int) Math.max(1, Math.min(timeout.toSeconds(), maxTime.toSeconds()));
        try {
            ObjectId tip = fetcher.fetch(r, seconds, cancelled);
            if (tip == null) {
                throw new GitException(GitException.Phase.FETCH, "fetch gave no " + tracking, null);
            }
            return commitOf(r, tip, tracking);
        } catch (Fetcher.Rejected e) {
            reopenLater();
            throw new GitException(GitException.Phase.FETCH, fetcher.refusal(e), e);
        } catch (GitAPIException | URISyntaxException | JGitInternalException | IOException e) {
            reopenLater();
            if (cancelled.getAsBoolean()) {
                throw new GitException(GitException.Phase.FETCH, "fetch from " + remote
                        + " stopped: the deploy ran out of time (deploy.timeout.seconds): " + rootMessage(e), e);
            }
            String damaged = rootMessage(e).contains("internal server error") ? fetcher.diagnoseLocalRemote(r) : null;
            if (damaged != null) {
                throw new GitException(GitException.Phase.FETCH, "fetch from " + remote + " failed: " + damaged, e);
            }
            String refused = Fetcher.parserRefusal(e);
            if (refused != null) {
                throw new GitException(GitException.Phase.FETCH, "fetch from " + remote + " refused: an object "
                        + refused + "; nothing was changed (git.fsck)", e);
            }
            throw new GitException(GitException.Phase.FETCH, "fetch from " + remote + " failed: "
                    + auth.explain(rootMessage(e)), e);
        }
    }

    /** The tip of the branch on the remote, asked without fetching ({@code git ls-remote}); null if it has none. */
    public ObjectId remoteTip() throws GitException {
        Repository r = repo();
        try {
            return fetcher.remoteTip(r);
        } catch (URISyntaxException | IOException | RuntimeException e) {
            reopenLater();
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
        return LockFiles.clear(repo().getDirectory().toPath(), stale, wait, afterCrash, warn);
    }

    /**
     * Tracked files whose content differs from HEAD (edited, deleted, staged, or in conflict), sorted; at
     * most {@code limit}, see {@link LocalChanges}.
     */
    public List<String> localChanges(int limit) throws GitException {
        TreeSet<String> all = localChanges();
        List<String> out = new ArrayList<>();
        for (String f : all) {
            if (out.size() >= limit) {
                out.add("... (" + (all.size() - limit) + " more)");
                break;
            }
            out.add(f);
        }
        return out;
    }

    /** Every tracked file whose content differs from HEAD, sorted ({@link LocalChanges}). */
    public TreeSet<String> localChanges() throws GitException {
        Repository r = repo();
        try {
            return findLocalChanges(r);
        } catch (IOException | RuntimeException e) {
            reopenLater();
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
        Repository r = repo();
        try {
            synchronized (index) {
                return Stash.create(r, index.read(r), changed, message);
            }
        } catch (IOException | RuntimeException e) {
            reopenLater();
            throw new GitException(GitException.Phase.STASH, "cannot stash local changes: " + lockAwareMessage(e), e);
        }
    }

    /** A reset planned and checked, before anything changed; see {@link #plan}. */
    public static final class Plan {
        private final ResetPlan plan;
        /** Tracked paths behind a link or file, found by {@link #makeRoom}: dropped from the index only. */
        private List<String> unreachable;

        private Plan(ResetPlan plan) {
            this.plan = plan;
        }

        /** Why the fast path will not do this reset, or null when it can. */
        public String notFast() {
            return plan.notFast;
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
        Repository r = repo();
        try {
            ResetPlan plan = ResetPlan.of(r, r.resolve(Constants.HEAD), target, edited);
            if (submodules) {
                Submodules.checkTree(r, plan.targetTree, options.submoduleSchemes());
            }
            return new Plan(plan);
        } catch (ResetPlan.Refused e) {
            throw new GitException(GitException.Phase.CHECK, e.getMessage(), null);
        } catch (Submodules.Refused e) {
            throw new GitException(GitException.Phase.CHECK, "refusing " + target.abbreviate(7).name() + ": "
                    + e.getMessage() + "; nothing was changed", null);
        } catch (IOException | RuntimeException e) {
            reopenLater();
            throw new GitException(GitException.Phase.CHECK, "cannot read " + target.abbreviate(7).name() + ": "
                    + rootMessage(e), e);
        }
    }

    /**
     * If HEAD holds commits that neither {@code tip} nor the remote-tracking branch contain (local commits,
     * or a branch that was force-pushed away), points a new ref {@code refs/pullhook/backup/<time>} at HEAD
     * and returns its name.
     */
    public String backupUnlessContainedIn(ObjectId tip, Instant now) throws GitException {
        Repository r = repo();
        try (RevWalk walk = new RevWalk(r)) {
            ObjectId head = r.resolve(Constants.HEAD);
            if (head == null || head.equals(tip)) {
                return null;
            }
            RevCommit headCommit = walk.parseCommit(head);
            if (walk.isMergedInto(headCommit, walk.parseCommit(tip))) {
                return null;
            }
            // a rollback goes back from a commit the remote branch still has: nothing to keep
            Ref tracking = r.exactRef(Constants.R_REMOTES + remote + "/" + branch);
            if (tracking != null && tracking.getObjectId() != null) {
                walk.reset();
                if (walk.isMergedInto(walk.parseCommit(head), walk.parseCommit(tracking.getObjectId()))) {
                    return null;
                }
            }
            String base = BACKUP_PREFIX + BACKUP_TIME.format(now);
            String name = base;
            for (int i = 2; r.exactRef(name) != null && i < 100; i++) {
                name = base + "-" + i;
            }
            RefUpdate update = r.updateRef(name);
            update.setNewObjectId(head);
            update.setExpectedOldObjectId(ObjectId.zeroId());
            update.setRefLogMessage("pullhook: backup before deploy", false);
            RefUpdate.Result result = update.update(walk);
            if (result != RefUpdate.Result.NEW) {
                throw new GitException(GitException.Phase.BACKUP, "cannot create " + name + ": " + result, null);
            }
            return name;
        } catch (IOException | JGitInternalException e) {
            reopenLater();
            throw new GitException(GitException.Phase.BACKUP, "cannot back up HEAD: " + rootMessage(e), e);
        }
    }

    /**
     * The commit {@code id} is or points at: a branch may point at an annotated tag (git fetch stores it,
     * and git reset --hard origin/main takes the commit it tags), never at a tree or a blob.
     */
    private static ObjectId commitOf(Repository r, ObjectId id, String ref) throws IOException, GitException {
        try (RevWalk walk = new RevWalk(r)) {
            return walk.parseCommit(id).copy();
        } catch (org.eclipse.jgit.errors.IncorrectObjectTypeException e) {
            throw new GitException(GitException.Phase.FETCH, ref + " is " + id.abbreviate(7).name()
                    + ", which is not a commit: the remote's branch points at something else", e);
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
        Repository r = repo();
        try {
            InTheWay.Found found;
            synchronized (index) {
                found = InTheWay.find(path, index.read(r), plan.plan, plan.plan.extraDeleted);
            }
            plan.unreachable = found.unreachable();
            String saved = null;
            if (!found.untracked().isEmpty()) {
                SavedFiles.check(path, found.untracked());
                saved = SavedFiles.saveAndRemove(r, plan.plan.head, plan.plan.target, found.untracked(), now);
            }
            for (String blocker : found.trackedBlockers()) {
                SavedFiles.removeTree(path.resolve(blocker));
            }
            if (!found.trackedBlockers().isEmpty() || saved != null) {
                watch.invalidate();
            }
            return saved;
        } catch (ResetPlan.Refused e) {
            throw new GitException(GitException.Phase.BACKUP, "refusing " + plan.plan.target.abbreviate(7).name()
                    + ": " + e.getMessage(), null);
        } catch (IOException | RuntimeException e) {
            reopenLater();
            throw new GitException(GitException.Phase.BACKUP, "cannot clear the way for "
                    + plan.plan.target.abbreviate(7).name() + ": " + rootMessage(e), e);
        }
    }

    /** Removes untracked files and folders that are not ignored ({@code git clean -fd}); returns how many. */
    public int clean() throws GitException {
        try {
            int removed = Cleaner.clean(repo());
            if (removed > 0) {
                watch.invalidate();
            }
            return removed;
        } catch (IOException | RuntimeException e) {
            reopenLater();
            throw new GitException(GitException.Phase.CLEAN, "clean failed: " + rootMessage(e), e);
        }
    }

    /** {@code git submodule update --init --recursive}: each submodule checked out at the commit the tree records. */
    public int updateSubmodules() throws GitException {
        Repository r = repo();
        try {
            String url = r.getConfig().getString("remote", remote, "url");
            String originHost = null;
            try {
                originHost = url == null ? null : new URIish(url).getHost();
            } catch (URISyntaxException e) {
                // a URL JGit cannot read has no host to send credentials to
            }
            return Submodules.update(r, auth, originHost, options.submoduleSchemes(),
                    (int) Math.max(1, timeout.toSeconds()), options.fsck());
        } catch (Submodules.Refused e) {
            throw new GitException(GitException.Phase.SUBMODULES, "submodule update refused: " + e.getMessage(), null);
        } catch (GitAPIException | JGitInternalException | IOException e) {
            reopenLater();
            throw new GitException(GitException.Phase.SUBMODULES, "submodule update failed: " + rootMessage(e), e);
        }
    }

    /**
     * Housekeeping, like {@code git gc --auto}: every fetch adds a pack file, and object lookups slow down
     * as they pile up; once there are more than {@code gc.autoPackLimit} (default 50) they are repacked.
     *
     * @return how many pack files there were when it ran, or 0 when nothing needed doing
     */
    public int gcIfManyPacks() throws GitException {
        Repository r = repo();
        int limit = r.getConfig().getInt("gc", "autopacklimit", 50);
        int packs;
        try (java.util.stream.Stream<Path> files = Files.list(r.getDirectory().toPath().resolve("objects/pack"))) {
            packs = (int) files.filter(f -> f.getFileName().toString().endsWith(".pack")).count();
        } catch (IOException e) {
            return 0;
        }
        if (limit <= 0 || packs <= limit) {
            return 0;
        }
        // JGit keeps replaced packs for an hour by default (gc.prunePackExpire), so that a reader racing the
        // repack finds them; only this daemon reads this repository and it is not reading now: drop them,
        // or every deploy of that hour would count them and repack again. In memory only, never saved.
        var config = r.getConfig();
        String expire = config.getString("gc", null, "prunepackexpire");
        config.setString("gc", null, "prunepackexpire", "now");
        try {
            new Git(r).gc().call();
            return packs;
        } catch (GitAPIException | JGitInternalException e) {
            reopenLater();
            throw new GitException(GitException.Phase.CLEAN, "git gc failed: " + rootMessage(e), e);
        } finally {
            if (expire == null) {
                config.unset("gc", null, "prunepackexpire");
            } else {
                config.setString("gc", null, "prunepackexpire", expire);
            }
        }
    }

    /** The repository folder ({@code .git}), where git keeps its locks. */
    public Path gitDir() throws GitException {
        return repo().getDirectory().toPath();
    }

    /** Resolves a full commit id that exists in the repository, or null. */
    public ObjectId commit(String id) {
        try (RevWalk walk = new RevWalk(repo())) {
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
        Repository r = repo();
        ObjectId target = plan.plan.target;
        ObjectId before = null;
        String why;
        try {
            before = r.resolve(Constants.HEAD);
            String full = r.getFullBranch();
            if (full == null || !full.equals(Constants.R_HEADS + branch)) {
                throw new GitException(GitException.Phase.CHECK, "the working copy has " + describeHead(full)
                        + " checked out, not \"" + branch + "\"; refusing to move another branch", null);
            }
            if (before != null && !before.equals(plan.plan.head)) {
                throw new GitException(GitException.Phase.RESET, "HEAD moved while the deploy was planned", null);
            }
            why = options.engine() == GitOptions.Engine.JGIT ? "git.engine=jgit"
                    : !knownClean ? "local changes were found" : plan.plan.notFast;
            if (why == null) {
                try {
                    if (switchTrees(r, plan.plan)) {
                        return new Reset(true, null);
                    }
                    why = "the fast path declined";
                } catch (IOException | RuntimeException e) {
                    forgetIndex();  // edited in memory, maybe not written
                    if (e instanceof RuntimeException || lockHeld(e)) {
                        throw e;
                    }
                    why = "the fast path failed (" + rootMessage(e) + "); JGit's reset finishes it";
                }
            }
            prepareIndex(r, plan);
            new Git(r).reset().setMode(ResetCommand.ResetType.HARD).setRef(target.name()).call();
            forgetIndex();
            recordStat(r);
            return new Reset(false, why);
        } catch (GitAPIException | JGitInternalException | IOException e) {
            // JGit's reset moves the branch before it touches the index: put it back, so that HEAD never
            // claims a commit whose files were not written (and the next push is not taken as up to date)
            restoreHead(r, before);
            reopenLater();
            throw new GitException(GitException.Phase.RESET, "reset to " + target.abbreviate(7).name()
                    + " failed: " + lockAwareMessage(e), e);
        }
    }

    /**
     * After JGit's reset, the stat data git would have recorded for the files it wrote: their change time
     * (JGit records none), and their size where JGit marked them "racily clean" because they were written
     * after the index it had read, a stricter rule than git's (git compares with the new index's own time).
     * Only where the file still has the time JGit recorded and is older than the index: otherwise it stays
     * marked, and the next check compares it by content. Without this, every file JGit wrote would be read
     * again at the next check, and one written through a filter whose clean side does not undo its smudge
     * side would show an edit nobody made. A failure here costs only content checks later.
     */
    private void recordStat(Repository r) {
        synchronized (index) {
            try {
                Instant indexTime = Files.getLastModifiedTime(r.getIndexFile().toPath()).toInstant();
                DirCache dc = index.read(r);
                List<String> unknown = new ArrayList<>();
                for (int i = 0; i < dc.getEntryCount(); i++) {
                    org.eclipse.jgit.dircache.DirCacheEntry e = dc.getEntry(i);
                    if ((e.getCreationTime() == 0 || e.isSmudged()) && e.getStage() == 0
                            && (e.getFileMode() == org.eclipse.jgit.lib.FileMode.REGULAR_FILE
                            || e.getFileMode() == org.eclipse.jgit.lib.FileMode.EXECUTABLE_FILE)
                            && e.getLastModifiedInstant().isBefore(indexTime)) {
                        unknown.add(e.getPathString());
                    }
                }
                if (unknown.isEmpty() || !dc.lock()) {
                    return;
                }
                try {
                    index.read(r);
                    org.eclipse.jgit.dircache.DirCacheEditor editor = dc.editor();
                    for (String p : unknown) {
                        FileStat stat = FileStat.of(path.resolve(p));
                        if (stat == null || !stat.isFile() || !stat.mtime().isBefore(indexTime)) {
                            continue;
                        }
                        editor.add(new org.eclipse.jgit.dircache.DirCacheEditor.PathEdit(p) {
                            @Override
                            public void apply(org.eclipse.jgit.dircache.DirCacheEntry ent) {
                                if (!ent.getLastModifiedInstant().equals(stat.mtime())
                                        || (!ent.isSmudged() && ent.getLength() != (int) stat.size())) {
                                    return;
                                }
                                TreeSwitch.record(ent, stat);
                            }
                        });
                    }
                    editor.finish();
                    dc.write();
                    if (!dc.commit()) {
                        index.forget();
                    }
                } finally {
                    dc.unlock();
                }
            } catch (IOException | RuntimeException e) {
                index.forget();
            }
        }
    }

    /**
     * Readies the index for JGit's reset: entries whose files were found edited are marked for a content
     * check (JGit compares only size and time, and would keep a same-size edit that kept its time), the
     * stat data the check verified are recorded, and tracked paths behind a link or file that replaced one
     * of their folders are dropped (JGit would delete them through the link; git leaves the disk alone).
     */
    private void prepareIndex(Repository r, Plan plan) throws IOException {
        synchronized (index) {
            DirCache dc = index.read(r);
            Map<String, KeptIndex.Refresh> refreshes = index.takeRefreshes();
            Set<String> edited = plan.plan.edited;
            List<String> unreachable = plan.unreachable == null ? List.of() : plan.unreachable;
            Map<String, ObjectId> attributes = AttributesFiles.differing(r, dc, plan.plan.targetTree);
            if (edited.isEmpty() && refreshes.isEmpty() && unreachable.isEmpty() && attributes.isEmpty()) {
                return;
            }
            if (!dc.lock()) {
                throw new org.eclipse.jgit.errors.LockFailedException(r.getIndexFile());
            }
            try {
                index.read(r);
                org.eclipse.jgit.dircache.DirCacheEditor editor = dc.editor();
                for (String p : unreachable) {
                    editor.add(new org.eclipse.jgit.dircache.DirCacheEditor.DeletePath(p));
                }
                for (String p : edited) {
                    if (dc.findEntry(p) >= 0 && !unreachable.contains(p)) {
                        editor.add(new org.eclipse.jgit.dircache.DirCacheEditor.PathEdit(p) {
                            @Override
                            public void apply(org.eclipse.jgit.dircache.DirCacheEntry ent) {
                                if (ent.getLength() != 0) {
                                    ent.smudgeRacilyClean();
                                }
                            }
                        });
                    }
                }
                refreshes.forEach((p, f) -> {
                    if (!edited.contains(p) && !unreachable.contains(p) && dc.findEntry(p) >= 0) {
                        editor.add(new org.eclipse.jgit.dircache.DirCacheEditor.PathEdit(p) {
                            @Override
                            public void apply(org.eclipse.jgit.dircache.DirCacheEntry ent) {
                                if (ent.getObjectId().equals(f.id())) {
                                    TreeSwitch.record(ent, f.stat());
                                }
                            }
                        });
                    }
                });
                AttributesFiles.stage(editor, attributes, new TreeSwitch.Folders(path));
                editor.finish();
                dc.write();
                if (!dc.commit()) {
                    throw new IOException("cannot commit the index");
                }
            } finally {
                dc.unlock();
                index.forget();
            }
        }
    }

    private static void restoreHead(Repository r, ObjectId before) {
        if (before == null) {
            return;
        }
        try {
            ObjectId now = r.resolve(Constants.HEAD);
            if (!before.equals(now)) {
                RefUpdate update = r.updateRef(Constants.HEAD);
                update.setNewObjectId(before);
                update.setForceUpdate(true);
                update.setRefLogMessage("pullhook: reset failed, back to " + before.name(), false);
                update.forceUpdate();
            }
        } catch (IOException | RuntimeException e) {
            // the next deploy resets again whatever HEAD says
        }
    }

    /**
     * Fails unless the working copy has the configured branch checked out: checked first in every deploy,
     * so that a damaged or switched HEAD is reported as such before anything else is tried.
     */
    public void checkCheckedOut() throws GitException {
        Repository r = repo();
        String full;
        try {
            full = r.getFullBranch();
        } catch (IOException | RuntimeException e) {
            full = null;
        }
        if (full == null || !(full.startsWith(Constants.R_HEADS) || ObjectId.isId(full))) {
            reopenLater();
            throw new GitException(GitException.Phase.CHECK, "the working copy's HEAD cannot be read (is "
                    + r.getDirectory().toPath().resolve(Constants.HEAD) + " damaged?)", null);
        }
        if (!full.equals(Constants.R_HEADS + branch)) {
            throw new GitException(GitException.Phase.CHECK, "the working copy has " + describeHead(full)
                    + " checked out, not \"" + branch + "\"; refusing to move another branch", null);
        }
        String sparse = sparseCheckout(r);
        if (sparse != null) {
            throw new GitException(GitException.Phase.CHECK, sparse, null);
        }
    }

    /** Why the working copy's sparse checkout stops a deploy, or null when it has none. */
    static String sparseCheckout(Repository r) {
        if (!r.getConfig().getBoolean("core", null, "sparsecheckout", false)) {
            return null;
        }
        return "the working copy " + r.getWorkTree() + " uses a sparse checkout (core.sparseCheckout), which pullhook"
                + " does not implement: a deploy would write the files git leaves out (git -C " + r.getWorkTree()
                + " sparse-checkout disable, or deploy it with git itself)";
    }

    private static boolean lockHeld(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LockFailedException) {
                return true;
            }
        }
        return false;
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
            Repository r = repo();
            ObjectId head = r.resolve(Constants.HEAD);
            DirCache.read(r).getEntryCount();
            localChanges(1);  // the check every deploy starts with: its classes and the working tree's inodes
            if (head != null) {
                r.getObjectDatabase().has(head);
            }
            // a remote on this machine: its sending side runs in this process too (LocalRemote)
            localRemote = LocalRemote.locate(r, remote) != null;
        } catch (IOException | GitException | RuntimeException e) {
            reopenLater();
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

    private String lockAwareMessage(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LockFailedException lock) {
                return "a git lock file is held: " + lock.getFile() + ".lock (another git process is working,"
                        + " or one crashed and left it behind)";
            }
        }
        return rootMessage(e);
    }

    private static String rootMessage(Throwable e) {
        String message = e.getMessage();
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t.getMessage() != null && (message == null || !message.contains(t.getMessage()))) {
                message = message == null ? t.getMessage() : message + ": " + t.getMessage();
            }
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }

    // the index has its own lock: head() may be asked from other threads while a deploy checks or resets
    private TreeSet<String> findLocalChanges(Repository r) throws IOException {
        synchronized (index) {
            TreeSet<String> changed = LocalChanges.find(r, index, watch.get(r.getDirectory().toPath()));
            watch.giveUpIfFailed();
            return changed;
        }
    }

    /** Whether the next local-changes check takes the tree watch's word (tests). */
    boolean watchAnswersNext() {
        synchronized (index) {
            return watch.answersNext();
        }
    }

    private boolean switchTrees(Repository r, ResetPlan plan) throws IOException {
        synchronized (index) {
            return TreeSwitch.apply(r, index, plan);
        }
    }

    private void forgetIndex() {
        synchronized (index) {
            index.forget();
            watch.invalidate();
        }
    }

    private synchronized void reopenLater() {
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
        auth.close();
    }
}
