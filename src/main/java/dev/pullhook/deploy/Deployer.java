package dev.pullhook.deploy;

import dev.pullhook.config.SiteConfig;
import dev.pullhook.config.DeployOptions;
import dev.pullhook.git.GitException;
import dev.pullhook.git.WorkingCopy;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The steps of one deploy, in order: clear dead git locks, fetch (or take the rollback target), keep
 * local work safe (stash edits as configured, back up commits the target does not contain), hard reset,
 * optionally clean and update submodules, then run the post-deploy command and the health check
 * ({@link PostDeploy}; a failed check restores the commit before, with {@code deploy.rollback.on.failure}).
 * With {@code deploy.mode=atomic} the reset is replaced by a new release folder and a switch of the
 * {@code current} link ({@link AtomicRelease}). Each job's state is a {@link DeployRun}, its outcome a
 * {@link Deployment}; nothing here queues or knows HTTP. Runs on the deploy worker only.
 */
final class Deployer {
    private static final Logger log = LoggerFactory.getLogger(Deployer.class);

    /** What a job asks for. */
    enum Kind {
        /** fetch and reset, always */
        DEPLOY,
        /** fetch and reset only if the remote tip moved (start, poll), or after a crash */
        CHECK,
        /** reset to an earlier deployed commit, no fetch */
        ROLLBACK
    }

    private final WorkingCopy workingCopy;
    private final SiteConfig config;
    /** {@code " site=<name>"} for a named site, else empty: appended to the id in log lines. */
    private final String label;
    private final DeployOptions options;
    /** Masks the site's credentials in the command's output and in errors before they are logged or kept. */
    private final SecretRedactor redactor;
    /** {@code deploy.command} and {@code deploy.check.*}. */
    private final PostDeploy post;
    /** {@code deploy.mode=atomic}: the releases and the {@code current} link; null in place. */
    private final AtomicRelease atomic;

    /** @param output where each run's lines of {@code deploy.command}'s output go as they come, masked and cut */
    Deployer(WorkingCopy workingCopy, SiteConfig config, Supplier<Consumer<String>> output) {
        this.workingCopy = workingCopy;
        this.config = config;
        this.label = config.name().isEmpty() ? "" : " site=" + config.name();
        this.options = config.deploy();
        this.redactor = new SecretRedactor().registerAll(config.secrets());
        this.post = new PostDeploy(config, label, redactor, output);
        if (options.mode() == DeployOptions.Mode.ATOMIC) {
            Releases releases = new Releases(config.repoPath());
            this.atomic = new AtomicRelease(releases, new OldReleases(releases, workingCopy.releases(),
                    options.keepReleases(), label), workingCopy.releases(), post);
        } else {
            this.atomic = null;
        }
    }

    /**
     * Runs one job.
     *
     * @param target      for {@link Kind#ROLLBACK}: the commit to go back to
     * @param crash       when the previous process died mid-deploy, the marker it left (its locks are dead,
     *                    and a deploy is due); null otherwise
     * @param phaseMarker told each phase as it starts, so a crash leaves a note of where it happened
     * @param targetKnown told the commit the job goes to, once known and before anything changes
     * @return what happened, or null when a {@link Kind#CHECK} found nothing to do
     */
    Deployment run(long id, Kind kind, Trigger trigger, List<String> deliveries, String target, CrashMarker crash,
                   Consumer<Phase> phaseMarker, Consumer<String> targetKnown) {
        DeployRun run = new DeployRun(id, trigger, deliveries, crash,
                workingCopy.head().map(ObjectId::name).orElse(null), label, phaseMarker, targetKnown, redactor,
                options.timeout());
        try {
            if (atomic == null) {
                workingCopy.checkCheckedOut();
            }
            run.mark(Phase.LOCK);
            workingCopy.clearLocks(options.lockStale(), options.lockWait(), crash != null,
                    warning -> log.warn("deploy id={}{} {}", id, label, warning));
            ObjectId tip = kind == Kind.ROLLBACK ? rollbackTip(target) : fetchedTip(run, kind);
            if (tip != null && atomic != null) {
                return kind == Kind.ROLLBACK ? atomic.switchBack(run, tip) : atomic.release(run, tip);
            }
            return tip == null ? null : deploy(run, tip);
        } catch (GitException e) {
            return run.failed(null, Phase.of(e.phase()), e.getMessage(), null);
        } catch (StepFailed e) {
            return run.failed(null, e.phase, e.getMessage(), null);
        } catch (IOException e) {
            return run.failed(null, run.phase(), "cannot run deploy.command: " + e.getMessage(), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return run.failed(null, run.phase(), "interrupted (the daemon is stopping)", null);
        } catch (RuntimeException e) {
            log.error("deploy id={}{} unexpected error in phase {}", id, label, run.phase(), e);
            return run.failed(null, run.phase(), "internal error: " + e.getClass().getSimpleName(), null);
        }
    }

    /** The commit a rollback goes back to, which must still be in the repository. */
    private ObjectId rollbackTip(String target) throws StepFailed {
        ObjectId tip = workingCopy.commit(target);
        if (tip == null) {
            throw new StepFailed(Phase.ROLLBACK, "commit " + target + " is not in the repository any more");
        }
        return tip;
    }

    /** The fetched tip, or null when a start or poll check finds HEAD at the remote's tip already. */
    private ObjectId fetchedTip(DeployRun run, Kind kind) throws GitException {
        boolean check = kind == Kind.CHECK && run.crash == null;
        if (check && run.trigger == Trigger.POLL) {
            // a poll asks the remote only (ls-remote): cheaper than a fetch, every few seconds
            run.enter(Phase.LS_REMOTE);
            ObjectId remote = workingCopy.remoteTip();
            if (remote != null && remote.name().equals(run.from)) {
                return upToDate(run);
            }
        }
        run.mark(Phase.FETCH);
        ObjectId tip = workingCopy.fetch(run.timeLeft(), run::overdue);
        // the start-up check fetches (which also warms the fetch path for the first webhook)
        return check && tip.name().equals(run.from) ? upToDate(run) : tip;
    }

    private ObjectId upToDate(DeployRun run) {
        log.info("deploy check{} trigger={} up-to-date head={}", label, run.trigger, Deployment.abbrev(run.from));
        return null;
    }

    /** In place, from the fetched tip on: local work kept safe, the reset, clean and submodules, then the command. */
    private Deployment deploy(DeployRun run, ObjectId tip) throws GitException, StepFailed, IOException,
            InterruptedException {
        long fetched = System.nanoTime();
        run.requireTime("the working copy");
        run.goesTo(tip);
        run.mark(Phase.LOCAL_CHANGES);
        LocalWork local = keepLocalWork(run, tip);
        run.kept(local.saved());
        run.mark(Phase.RESET);
        long resetStart = System.nanoTime();
        WorkingCopy.Reset reset = workingCopy.resetHard(local.plan(), local.clean());
        long resetMs = elapsedMs(resetStart);
        afterReset(run);
        long gitMs = run.ms();
        CommandResult result = post.command(run, config.repoPath(), tip);
        if (result != null && !result.succeeded()) {
            return run.failed(tip.name(), Phase.COMMAND, post.failure(result), result);
        }
        HealthCheck.Failure failure = post.check(run, config.repoPath(), tip);
        if (failure != null) {
            return checkFailed(run, tip, failure, result);
        }
        long ms = run.ms();
        log.info("deploy done id={}{} trigger={} deliveries={} from={} to={} ms={} fetch_ms={} check_ms={} reset_ms={}"
                        + " reset={} git_ms={}{}{}",
                run.id, label, run.trigger, run.deliveries, Deployment.abbrev(run.from), Deployment.abbrev(tip.name()),
                ms, run.msAt(fetched), TimeUnit.NANOSECONDS.toMillis(resetStart - fetched),
                resetMs, reset.fast() ? "changed-paths" : "full", gitMs,
                run.saved() == null ? "" : " saved=\"" + run.saved() + "\"",
                reset.why() == null ? "" : " full_because=\"" + reset.why() + "\"");
        return run.deployed(ms, tip.name(), result);
    }

    /** {@code deploy.clean} and {@code deploy.submodules}. */
    private void afterReset(DeployRun run) throws GitException {
        if (options.clean()) {
            run.enter(Phase.CLEAN);
            int removed = workingCopy.clean();
            if (removed > 0) {
                log.info("deploy id={}{} removed {} untracked files and folders (deploy.clean)", run.id, label, removed);
            }
        }
        if (options.submodules()) {
            run.enter(Phase.SUBMODULES);
            workingCopy.updateSubmodules();
        }
    }

    /**
     * The health check failed after the reset and the command: with {@code deploy.rollback.on.failure}, the
     * commit deployed before is put back and its command re-run (as a rollback would); else the new commit
     * stays, as a failed {@code deploy.command} leaves it.
     */
    private Deployment checkFailed(DeployRun run, ObjectId tip, HealthCheck.Failure failure, CommandResult result) {
        String from = run.from;
        String error = "health check failed: " + failure.why();
        String restored = null;
        if (!options.rollbackOnFailure()) {
            error += "; " + Deployment.abbrev(tip.name()) + " stays deployed (deploy.rollback.on.failure=false)";
        } else if (from == null || from.equals(tip.name())) {
            error += "; nothing to restore: no other commit was deployed before";
        } else {
            try {
                restore(run, ObjectId.fromString(from), tip);
                restored = from;
                error += "; restored " + Deployment.abbrev(from);
            } catch (GitException | StepFailed | IOException e) {
                error += "; restoring " + Deployment.abbrev(from) + " failed: " + e.getMessage();
            }
        }
        return run.failed(tip.name(), Phase.HEALTH_CHECK, error, result, failure.check(), restored);
    }

    /** Resets to {@code previous} (what the command or the check changed in tracked files goes) and re-runs the command. */
    private void restore(DeployRun run, ObjectId previous, ObjectId bad) throws GitException, StepFailed, IOException {
        run.mark(Phase.RESTORE);
        log.warn("deploy id={}{} restoring {} after the failed health check of {} (deploy.rollback.on.failure)",
                run.id, label, Deployment.abbrev(previous.name()), Deployment.abbrev(bad.name()));
        Set<String> edited = workingCopy.localChanges();
        WorkingCopy.Plan plan = workingCopy.plan(previous, edited, options.submodules());
        String aside = workingCopy.makeRoom(plan, Instant.now());
        if (aside != null) {
            log.warn("deploy id={}{} saved untracked files in the way of {} on {}", run.id, label,
                    Deployment.abbrev(previous.name()), aside);
        }
        workingCopy.resetHard(plan, edited.isEmpty());
        afterReset(run);
        CommandResult again = post.command(run, config.repoPath(), bad.name(), previous.name());
        if (again != null && !again.succeeded()) {
            throw new StepFailed(Phase.RESTORE, "its " + post.failure(again));
        }
    }

    /**
     * Edits of tracked files: stashed, refused or discarded as configured. After a crash in the reset (or
     * later) they are the interrupted reset's own half-written files, the user's edits having been stashed
     * before it began: they are dropped. After a crash in an earlier phase they may be the user's: stashed
     * rather than refused, so nothing is lost and the deploy can finish. Commits the target does not
     * contain: kept on a backup ref, in every mode.
     */
    private LocalWork keepLocalWork(DeployRun run, ObjectId tip) throws GitException, StepFailed {
        long id = run.id;
        List<String> saved = new ArrayList<>();
        if (run.crash != null && run.crash.halfReset()) {
            List<String> leftovers = workingCopy.removeInterruptedWrites();
            if (!leftovers.isEmpty()) {
                log.warn("deploy id={}{} removed temporary files of the interrupted reset: {}", id, label, leftovers);
            }
        }
        // one look at the working tree in every mode: it also tells whether the fast reset may be used
        Set<String> edited = workingCopy.localChanges();
        // everything the reset will write is checked before anything changes, the stash included
        WorkingCopy.Plan plan = workingCopy.plan(tip, edited, options.submodules());
        String stash = keepEdits(id, edited, run.crash);
        if (stash != null) {
            saved.add(stash);
        }
        String backup = workingCopy.backupUnlessContainedIn(tip, Instant.now());
        if (backup != null) {
            log.warn("deploy id={}{} kept commits that {} does not contain on {}", id, label, Deployment.abbrev(tip.name()), backup);
            saved.add(backup);
        }
        String aside = workingCopy.makeRoom(plan, Instant.now());
        if (aside != null) {
            log.warn("deploy id={}{} saved untracked files in the way of {} on {} (git show --stat {})", id, label,
                    Deployment.abbrev(tip.name()), aside, aside);
            saved.add("untracked files on " + aside);
        }
        return new LocalWork(saved.isEmpty() ? null : String.join(", ", saved), edited.isEmpty(), plan);
    }

    /** The edits of tracked files, as {@link #keepLocalWork} says: where they were stashed, or null. */
    private String keepEdits(long id, Set<String> edited, CrashMarker crash) throws GitException, StepFailed {
        List<String> changed = shown(edited);
        if (changed.isEmpty()) {
            return null;
        }
        DeployOptions.LocalChanges policy = options.localChanges();
        boolean afterCrash = crash != null;
        if (afterCrash && crash.halfReset()) {
            log.warn("deploy id={}{} dropping files half written by the interrupted reset: {}", id, label, changed);
            return null;
        }
        if (policy == DeployOptions.LocalChanges.DISCARD && !afterCrash) {
            log.warn("deploy id={}{} discarding local changes (deploy.local.changes=discard): {}", id, label, changed);
            return null;
        }
        if (policy == DeployOptions.LocalChanges.REFUSE && !afterCrash) {
            throw new StepFailed(Phase.LOCAL_CHANGES, "local changes in tracked files (" + String.join(", ", changed)
                    + "); deploy.local.changes=refuse leaves the working copy untouched");
        }
        if (policy == DeployOptions.LocalChanges.DISCARD) {
            log.warn("deploy id={}{} discarding local changes after an interrupted deploy: {}", id, label, changed);
            return null;
        }
        ObjectId stash = workingCopy.stash(edited, "pullhook: local changes saved before deploy " + id
                + " at " + Instant.now());
        if (stash == null) {
            return null;
        }
        log.warn("deploy id={}{} saved local changes in {} to stash {} (see git stash list)", id, label,
                changed, stash.abbreviate(7).name());
        return "stash " + stash.name();
    }

    /** At most ten paths, for a log line or an error. */
    private static List<String> shown(Set<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) {
            if (out.size() == 10) {
                out.add("... (" + (paths.size() - 10) + " more)");
                break;
            }
            out.add(p);
        }
        return out;
    }

    /** Where local work was saved, whether the tracked files match HEAD, and the checked reset. */
    private record LocalWork(String saved, boolean clean, WorkingCopy.Plan plan) {
    }

    /** Repacks once fetches have piled up packs; a failure here is reported but does not fail the deploy. */
    void housekeeping(long id) {
        long t0 = System.nanoTime();
        try {
            int packs = workingCopy.gcIfManyPacks();
            if (packs > 0) {
                log.info("deploy id={}{} housekeeping: repacked {} pack files (git gc) in {} ms", id, label, packs,
                        elapsedMs(t0));
            }
        } catch (GitException e) {
            log.warn("deploy id={}{} housekeeping failed: {}", id, label, e.getMessage());
        }
    }

    private static long elapsedMs(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }
}
