package dev.pullhook.git;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static dev.pullhook.git.Failures.rootMessage;

/**
 * What an atomic deploy asks of the bare repository its releases share ({@link WorkingCopy#releaseStore}),
 * beyond the fetch: a commit's tree written into a new release folder ({@link ReleaseCheckout}), the edits
 * made in a release since, and the branch that records which commit {@code current} holds. It knows nothing
 * of the release folders' names nor of the {@code current} link: they are the deploy layer's.
 */
public final class ReleaseStore {
    private final OpenRepository open;
    private final String branch;

    ReleaseStore(OpenRepository open, String branch) {
        this.open = open;
        this.branch = branch;
    }

    /**
     * Writes the tree of {@code commit} into {@code release}, an empty folder of its own ({@link ReleaseCheckout}):
     * the same checks as a reset (every name through {@link PathRules}, no two entries of one name, no
     * attribute pullhook cannot honour as git does) before anything is written, files written as checkout
     * writes them (eol, smudge filters), links made and never followed, no {@code .git} in the release.
     *
     * @return the paths written
     * @throws GitException (phase CHECK) when the tree is refused, (RESET) when writing fails
     */
    public int checkout(ObjectId commit, Path release) throws GitException {
        Repository store = open.get();
        try {
            return ReleaseCheckout.write(store, commit, release);
        } catch (ResetPlan.Refused e) {
            throw new GitException(GitException.Phase.CHECK, e.getMessage(), null);
        } catch (IOException | RuntimeException e) {
            throw new GitException(GitException.Phase.RESET, "cannot write the release " + release.getFileName()
                    + ": " + rootMessage(e), e);
        }
    }

    /**
     * Tracked files of {@code release} (checked out from {@code commit}) that were edited or deleted since:
     * at most {@code limit}, sorted. Files the tree does not have (what {@code deploy.command} built) do not count.
     */
    public List<String> edits(ObjectId commit, Path release, int limit) throws GitException {
        try {
            return ReleaseCheckout.edits(open.get(), commit, release, limit);
        } catch (IOException | RuntimeException e) {
            throw new GitException(GitException.Phase.CHECK, "cannot compare the release "
                    + release.getFileName() + " with its commit: " + rootMessage(e), e);
        }
    }

    /** Points the branch (and HEAD, at it) to {@code commit}: the one {@code current} now holds. */
    public void moveBranch(ObjectId commit) throws GitException {
        Repository r = open.get();
        try {
            RefUpdate head = r.updateRef(Constants.HEAD);
            if (!(Constants.R_HEADS + branch).equals(r.getFullBranch())) {
                head.link(Constants.R_HEADS + branch);
            }
            RefUpdate u = r.updateRef(Constants.R_HEADS + branch);
            u.setNewObjectId(commit);
            u.setForceUpdate(true);
            u.setRefLogMessage("pullhook: current release", false);
            RefUpdate.Result result = u.update();
            if (result == RefUpdate.Result.LOCK_FAILURE || result == RefUpdate.Result.IO_FAILURE
                    || result == RefUpdate.Result.REJECTED) {
                throw new IOException("cannot update " + Constants.R_HEADS + branch + ": " + result);
            }
        } catch (IOException | RuntimeException e) {
            open.reopenLater();
            throw new GitException(GitException.Phase.RESET, "cannot record the current release's commit: "
                    + rootMessage(e), e);
        }
    }
}
