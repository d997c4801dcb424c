package dev.pullhook.git;

import dev.pullhook.config.GitOptions;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.errors.CorruptObjectException;
import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.EmptyProgressMonitor;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.SubmoduleConfig;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.FetchConnection;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.Transport;

import java.io.IOException;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static dev.pullhook.git.Failures.rootMessage;

/**
 * The fetch of a deploy: {@code refs/heads/<branch>} into {@code refs/remotes/<remote>/<branch>}, forced
 * (a branch pushed backwards is followed, as {@code git fetch} follows it), then checked by
 * {@link FetchCheck} before anything trusts it: a refused fetch leaves the remote-tracking ref where it was.
 * The {@code jgit} engine is JGit's own fetch command; the {@code fast} engine copies a push's objects
 * from a remote on this machine ({@link DirectFetch}) and otherwise uses JGit's transport directly (the
 * fetch command would walk the whole fetched tree looking for submodules). Neither follows submodules:
 * {@link Submodules} does, under its own rules.
 */
final class Fetcher {
    private final String remote;
    private final String branch;
    private final Duration timeout;
    private final RemoteAuth auth;
    private final RemoteTransports transports;
    private final GitOptions options;

    Fetcher(String remote, String branch, Duration timeout, RemoteAuth auth, RemoteTransports transports,
            GitOptions options) {
        this.remote = remote;
        this.branch = branch;
        this.timeout = timeout;
        this.auth = auth;
        this.transports = transports;
        this.options = options;
    }

    /** What the checks of a fetch refused. */
    static final class Rejected extends IOException {
        private static final long serialVersionUID = 1L;
        final transient FetchCheck.Failed failed;

        Rejected(FetchCheck.Failed failed) {
            super(failed.getMessage());
            this.failed = failed;
        }
    }

    String trackingRef() {
        return Constants.R_REMOTES + remote + "/" + branch;
    }

    /**
     * Fetches and checks; returns the fetched tip (what the remote-tracking ref now holds).
     *
     * @throws Rejected when the checks refuse what came (the ref was left or put back where it was)
     */
    ObjectId fetch(Repository r, int seconds, BooleanSupplier cancelled)
            throws IOException, GitAPIException, URISyntaxException {
        String tracking = trackingRef();
        RefSpec spec = new RefSpec("+" + Constants.R_HEADS + branch + ":" + tracking);
        List<ObjectId> trusted = refIds(r);
        Ref old = r.exactRef(tracking);
        ObjectId before = old == null ? null : old.getObjectId();
        if (options.engine() == GitOptions.Engine.JGIT) {
            jgitFetch(r, spec, seconds, cancelled);
            verifyOrPutBack(r, tracking, before, trusted);
            return tip(r, tracking);
        }
        RemoteTransports.Near near = transports.onThisMachine(r);
        if (near != null) {
            try {
                ObjectId tip = near.remote().copyBranch(r, spec.getSource(), tracking, near.location(), cancelled,
                        t -> verify(r, t, trusted));
                if (tip != null) {
                    return tip;
                }
            } catch (Rejected e) {
                if (!e.failed.missing) {
                    throw e;
                }
                // an object is missing here though present objects point at it: the pack protocol brings
                // everything the refs do not reach, and so heals it
            }
        }
        try (Transport transport = transports.open(r)) {
            transport.setTimeout(seconds);
            if (options.fsck()) {
                transport.setObjectChecker(FetchCheck.checker());
            }
            transport.fetch(new Cancellable(cancelled), List.of(spec));
        }
        verifyOrPutBack(r, tracking, before, trusted);
        return tip(r, tracking);
    }

    /** {@code git.engine=jgit}: JGit's own fetch command. */
    private void jgitFetch(Repository r, RefSpec spec, int seconds, BooleanSupplier cancelled) throws GitAPIException {
        // submodules are fetched by Submodules, under its URL rules, never by the main fetch
        auth.apply(new Git(r).fetch()).setRemote(remote).setRefSpecs(spec).setTimeout(seconds)
                .setRecurseSubmodules(SubmoduleConfig.FetchRecurseSubmodulesMode.NO)
                .setTransportConfigCallback(t -> {
                    auth.apply(t);
                    if (options.fsck()) {
                        t.setObjectChecker(FetchCheck.checker());
                    }
                })
                .setProgressMonitor(new Cancellable(cancelled)).call();
    }

    private static ObjectId tip(Repository r, String tracking) throws IOException {
        Ref ref = r.exactRef(tracking);
        return ref == null ? null : ref.getObjectId();
    }

    private void verify(Repository r, ObjectId tip, List<ObjectId> trusted) throws IOException {
        try {
            FetchCheck.verify(r, tip, trusted, options.fsck());
        } catch (FetchCheck.Failed e) {
            throw new Rejected(e);
        }
    }

    /** Checks what a fetch moved the ref to; a refusal puts the ref back first. */
    private void verifyOrPutBack(Repository r, String tracking, ObjectId before, List<ObjectId> trusted)
            throws IOException {
        ObjectId tip = tip(r, tracking);
        if (tip == null || tip.equals(before)) {
            return;
        }
        try {
            verify(r, tip, trusted);
        } catch (Rejected e) {
            RefUpdate u = r.updateRef(tracking);
            u.setForceUpdate(true);
            u.setRefLogMessage("pullhook: fetched objects refused, back to where it was", false);
            if (before == null) {
                u.delete();
            } else {
                u.setNewObjectId(before);
                u.forceUpdate();
            }
            throw e;
        }
    }

    /** Every id a ref (or HEAD) points at: what the repository already trusts. */
    private static List<ObjectId> refIds(Repository r) throws IOException {
        List<ObjectId> ids = new ArrayList<>();
        for (Ref ref : r.getRefDatabase().getRefs()) {
            if (ref.getObjectId() != null) {
                ids.add(ref.getObjectId());
            }
        }
        Ref head = r.exactRef(Constants.HEAD);
        if (head != null && head.getObjectId() != null) {
            ids.add(head.getObjectId());
        }
        return ids;
    }

    /** The tip of the branch on the remote, asked without fetching ({@code git ls-remote}); null if it has none. */
    ObjectId remoteTip(Repository r) throws IOException, URISyntaxException {
        RemoteTransports.Near near = transports.onThisMachine(r);
        if (near != null) {
            return near.remote().tip(Constants.R_HEADS + branch);
        }
        try (Transport transport = transports.open(r)) {
            transport.setTimeout((int) Math.max(1, timeout.toSeconds()));
            try (FetchConnection connection = transport.openFetch()) {
                Ref ref = connection.getRef(Constants.R_HEADS + branch);
                return ref == null ? null : ref.getObjectId();
            }
        }
    }

    /**
     * The commit {@code id} is or points at: a branch may point at an annotated tag (git fetch stores it,
     * and git reset --hard origin/main takes the commit it tags), never at a tree or a blob.
     */
    static ObjectId commitOf(Repository r, ObjectId id, String ref) throws IOException, GitException {
        try (RevWalk walk = new RevWalk(r)) {
            return walk.parseCommit(id).copy();
        } catch (IncorrectObjectTypeException e) {
            throw new GitException(GitException.Phase.FETCH, ref + " is " + id.abbreviate(7).name()
                    + ", which is not a commit: the remote's branch points at something else", e);
        }
    }

    /**
     * The deploy's error for a fetch that failed with {@code e}: what the checks refused, that the deploy ran
     * out of time, the object a remote on this machine lacks, an object JGit's own parser refuses
     * ({@code git.fsck}), or else the transport's words with advice on credentials.
     *
     * @param r the repository fetched into (a remote on this machine is found through its config)
     */
    GitException failed(Exception e, Repository r, boolean outOfTime) {
        if (e instanceof Rejected rejected) {
            return new GitException(GitException.Phase.FETCH, refusal(rejected), e);
        }
        if (outOfTime) {
            return new GitException(GitException.Phase.FETCH, "fetch from " + remote
                    + " stopped: the deploy ran out of time (deploy.timeout.seconds): " + rootMessage(e), e);
        }
        String damaged = rootMessage(e).contains("internal server error") ? diagnoseLocalRemote(r) : null;
        if (damaged != null) {
            return new GitException(GitException.Phase.FETCH, "fetch from " + remote + " failed: " + damaged, e);
        }
        String refused = parserRefusal(e);
        if (refused != null) {
            return new GitException(GitException.Phase.FETCH, "fetch from " + remote + " refused: an object "
                    + refused + "; nothing was changed (git.fsck)", e);
        }
        return new GitException(GitException.Phase.FETCH, "fetch from " + remote + " failed: "
                + auth.explain(rootMessage(e)), e);
    }

    /**
     * Why a remote on this machine could not send the push ("remote: internal server error" is all the pack
     * protocol says): the object its repository lacks, or cannot read, on the way from its tip; null when
     * the remote is not on this machine or nothing is found.
     */
    private String diagnoseLocalRemote(Repository r) {
        LocalRemote.Location location = LocalRemote.locate(r, remote);
        if (location == null) {
            return null;
        }
        try (Repository there = new org.eclipse.jgit.storage.file.FileRepositoryBuilder()
                .setGitDir(location.gitDir()).setMustExist(true).build()) {
            Ref tip = there.exactRef(Constants.R_HEADS + branch);
            if (tip == null || tip.getObjectId() == null) {
                return null;
            }
            FetchCheck.verify(there, tip.getObjectId(), refIds(r), false);
            return null;
        } catch (FetchCheck.Failed f) {
            return "the remote repository " + location.gitDir() + " lacks object " + f.object.name()
                    + ", which the push needs (is it damaged? git -C " + location.gitDir() + " fsck)";
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Words for a refused fetch: the object, the rule, and that nothing changed. */
    private String refusal(Rejected e) {
        FetchCheck.Failed f = e.failed;
        if (f.missing) {
            return "fetch from " + remote + " is incomplete: " + f.getMessage() + " (is the remote repository damaged?"
                    + " git fsck there); nothing was changed";
        }
        return "fetch from " + remote + " refused: object " + f.object.name() + " fails git's fsck check " + f.rule
                + " (" + f.getMessage() + "); nothing was changed (git.fsck)";
    }

    /** The object and rule of a refusal by JGit's own pack parser, or null when {@code e} is something else. */
    private static String parserRefusal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CorruptObjectException c && c.getErrorType() != null) {
                return "fails git's fsck check " + c.getErrorType().getMessageId() + " (" + c.getMessage() + ")";
            }
        }
        return null;
    }

    /** A {@link org.eclipse.jgit.lib.ProgressMonitor} that only answers "cancelled" when the deploy's time is up. */
    static final class Cancellable extends EmptyProgressMonitor {
        private final BooleanSupplier cancelled;

        Cancellable(BooleanSupplier cancelled) {
            this.cancelled = cancelled;
        }

        @Override
        public boolean isCancelled() {
            return cancelled.getAsBoolean();
        }
    }
}
