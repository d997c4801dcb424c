package dev.pullhook.git;

import dev.pullhook.config.GitOptions;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.ResetCommand;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;

import static dev.pullhook.git.Failures.lockAwareMessage;
import static dev.pullhook.git.Failures.lockHeld;
import static dev.pullhook.git.Failures.rootMessage;

/**
 * The part of a deploy that writes the working tree, as {@link WorkingCopy} offers it: the configured branch
 * checked out, the reset planned and checked before anything changes ({@link ResetPlan}, submodule URLs), the
 * way cleared of what stands in it ({@link InTheWay}, {@link SavedFiles}), and {@code git reset --hard} itself,
 * by the changed-paths path ({@link TreeSwitch}) or JGit's ({@link FullReset}). The index and the tree watch
 * are the working copy's ({@link OpenRepository}), used under the index's lock.
 */
final class HardReset {
    private final Path path;
    private final String branch;
    private final GitOptions options;
    private final OpenRepository open;
    private final KeptIndex index;

    HardReset(Path path, String branch, GitOptions options, OpenRepository open) {
        this.path = path;
        this.branch = branch;
        this.options = options;
        this.open = open;
        this.index = open.index;
    }

    /** {@link WorkingCopy#checkCheckedOut}. */
    void checkCheckedOut(Repository r) throws GitException {
        String full;
        try {
            full = r.getFullBranch();
        } catch (IOException | RuntimeException e) {
            full = null;
        }
        if (full == null || !(full.startsWith(Constants.R_HEADS) || ObjectId.isId(full))) {
            open.reopenLater();
            throw new GitException(GitException.Phase.CHECK, "the working copy's HEAD cannot be read (is "
                    + r.getDirectory().toPath().resolve(Constants.HEAD) + " damaged?)", null);
        }
        if (!full.equals(Constants.R_HEADS + branch)) {
            throw new GitException(GitException.Phase.CHECK, "the working copy has " + GitRepoCheck.describeHead(full)
                    + " checked out, not \"" + branch + "\"; refusing to move another branch", null);
        }
        String sparse = GitRepoCheck.sparseCheckout(r);
        if (sparse != null) {
            throw new GitException(GitException.Phase.CHECK, sparse, null);
        }
    }

    /** {@link WorkingCopy#plan}. */
    WorkingCopy.Plan plan(Repository r, ObjectId target, Set<String> edited, boolean submodules) throws GitException {
        try {
            ResetPlan plan = ResetPlan.of(r, r.resolve(Constants.HEAD), target, edited);
            if (submodules) {
                Submodules.checkTree(r, plan.targetTree, options.submoduleSchemes());
            }
            return new WorkingCopy.Plan(plan);
        } catch (ResetPlan.Refused e) {
            throw new GitException(GitException.Phase.CHECK, e.getMessage(), null);
        } catch (Submodules.Refused e) {
            throw new GitException(GitException.Phase.CHECK, "refusing " + target.abbreviate(7).name() + ": "
                    + e.getMessage() + "; nothing was changed", null);
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.CHECK, "cannot read " + target.abbreviate(7).name() + ": "
                    + rootMessage(e), e);
        }
    }

    /** {@link WorkingCopy#makeRoom}. */
    String makeRoom(Repository r, WorkingCopy.Plan plan, Instant now) throws GitException {
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
                NoFollow.removeTree(path.resolve(blocker));
            }
            if (!found.trackedBlockers().isEmpty() || saved != null) {
                open.watch.invalidate();
            }
            return saved;
        } catch (ResetPlan.Refused e) {
            throw new GitException(GitException.Phase.BACKUP, "refusing " + plan.plan.target.abbreviate(7).name()
                    + ": " + e.getMessage(), null);
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.BACKUP, "cannot clear the way for "
                    + plan.plan.target.abbreviate(7).name() + ": " + rootMessage(e), e);
        }
    }

    /** {@link WorkingCopy#resetHard}. */
    WorkingCopy.Reset run(Repository r, WorkingCopy.Plan plan, boolean knownClean) throws GitException {
        ObjectId target = plan.plan.target;
        ObjectId before = null;
        try {
            before = r.resolve(Constants.HEAD);
            checkHead(r, before, plan);
            String why = options.engine() == GitOptions.Engine.JGIT ? "git.engine=jgit"
                    : !knownClean ? "local changes were found" : plan.plan.notFast;
            if (why == null) {
                why = changedPathsOnly(r, plan);
                if (why == null) {
                    return new WorkingCopy.Reset(true, null);
                }
            }
            FullReset.prepareIndex(r, index, path, plan.plan, plan.unreachable);
            new Git(r).reset().setMode(ResetCommand.ResetType.HARD).setRef(target.name()).call();
            open.forgetIndex();
            FullReset.recordStat(r, index, path);
            return new WorkingCopy.Reset(false, why);
        } catch (GitAPIException | JGitInternalException | IOException e) {
            FullReset.restoreHead(r, before);
            open.reopenLater();
            throw new GitException(GitException.Phase.RESET, "reset to " + target.abbreviate(7).name()
                    + " failed: " + lockAwareMessage(e), e);
        }
    }

    /** Refuses to move another branch than the configured one, or a HEAD that moved since the plan. */
    private void checkHead(Repository r, ObjectId before, WorkingCopy.Plan plan) throws IOException, GitException {
        String full = r.getFullBranch();
        if (full == null || !full.equals(Constants.R_HEADS + branch)) {
            throw new GitException(GitException.Phase.CHECK, "the working copy has " + GitRepoCheck.describeHead(full)
                    + " checked out, not \"" + branch + "\"; refusing to move another branch", null);
        }
        if (before != null && !before.equals(plan.plan.head)) {
            throw new GitException(GitException.Phase.RESET, "HEAD moved while the deploy was planned", null);
        }
    }

    /**
     * The changed-paths reset ({@link TreeSwitch}): null when it did the reset, else why JGit's reset is to
     * do it. A held lock or an unexpected error is thrown: JGit's reset would not get further.
     */
    private String changedPathsOnly(Repository r, WorkingCopy.Plan plan) throws IOException {
        try {
            synchronized (index) {
                if (TreeSwitch.apply(r, index, plan.plan)) {
                    return null;
                }
            }
            return "the fast path declined";
        } catch (IOException | RuntimeException e) {
            open.forgetIndex();  // edited in memory, maybe not written
            if (e instanceof RuntimeException || lockHeld(e)) {
                throw e;
            }
            return "the fast path failed (" + rootMessage(e) + "); JGit's reset finishes it";
        }
    }
}
