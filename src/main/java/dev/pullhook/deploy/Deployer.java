package dev.pullhook.deploy;

import dev.pullhook.config.SiteConfig;
import dev.pullhook.config.DeployOptions;
import dev.pullhook.git.GitException;
import dev.pullhook.git.WorkingCopy;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
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
 * optionally clean and update submodules, then run the post-deploy command and the health check (a failed
 * check restores the commit before, with {@code deploy.rollback.on.failure}). With {@code deploy.mode=atomic}
 * the reset is replaced by a new release folder and a switch of the {@code current} link ({@link Releases}).
 * Each outcome is a {@link Deployment}; nothing here queues or knows HTTP. Runs on the deploy worker only.
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
    private final DeployCommand command;
    /** Masks the site's credentials in the command's output and in errors before they are logged or kept. */
    private final SecretRedactor redactor;
    /** {@code deploy.check.*}, or null when none is configured. */
    private final HealthCheck health;
    /** {@code deploy.mode=atomic}: the release folders and the {@code current} link; null in place. */
    private final Releases releases;
    /** {@code deploy.mode=atomic}: what removes releases no longer needed; null in place. */
    private final OldReleases oldReleases;
    /** Where the running deploy's lines go as they come (its live log). */
    private final Supplier<Consumer<String>> output;

    /** @param output where each run's lines of {@code deploy.command}'s output go as they come, masked and cut */
    Deployer(WorkingCopy workingCopy, SiteConfig config, Supplier<Consumer<String>> output) {
        this.workingCopy = workingCopy;
        this.config = config;
        this.label = config.name().isEmpty() ? "" : " site=" + config.name();
        this.options = config.deploy();
        this.redactor = new SecretRedactor().registerAll(config.secrets());
        this.command = options.command() == null ? null
                : new DeployCommand(options.command(), config.repoPath(), options.commandTimeout(), redactor, output);
        this.output = output;
        this.releases = options.mode() == DeployOptions.Mode.ATOMIC ? new Releases(config.repoPath()) : null;
        this.oldReleases = releases == null ? null
                : new OldReleases(releases, workingCopy, options.keepReleases(), label);
        this.health = options.check() == null || !options.check().any() ? null
                : new HealthCheck(options.check(), config.repoPath(), redactor, output);
        if (command != null && config.secret() != null && config.secret().source().startsWith("environment")) {
            // the command's own environment is clean, but /proc/<pid>/environ of its parent is not
            log.warn("deploy.command{} runs as the daemon's user and can read the daemon's environment"
                    + " (/proc/{}/environ), which holds the webhook secret ({}); pass it as the systemd credential"
                    + " or in a file instead (SECURITY.md)", label, ProcessHandle.current().pid(),
                    config.secret().source());
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
        return new Run(id, trigger, deliveries, crash, phaseMarker, targetKnown).run(kind, target);
    }

    /** One job as it runs: the phase it is in and what it kept, for its outcome and its log lines. */
    private final class Run {
        private final long id;
        private final Trigger trigger;
        private final List<String> deliveries;
        private final CrashMarker crash;
        private final Consumer<Phase> phaseMarker;
        private final Consumer<String> targetKnown;
        private final Instant started = Instant.now();
        private final long t0 = System.nanoTime();
        private final long deadline = t0 + options.timeout().toNanos();
        private final String from = workingCopy.head().map(ObjectId::name).orElse(null);
        private Phase phase = Phase.CHECK;
        /** Where local work was kept, once it was. */
        private String saved;

        Run(long id, Trigger trigger, List<String> deliveries, CrashMarker crash, Consumer<Phase> phaseMarker,
            Consumer<String> targetKnown) {
            this.id = id;
            this.trigger = trigger;
            this.deliveries = deliveries;
            this.crash = crash;
            this.phaseMarker = phaseMarker;
            this.targetKnown = targetKnown;
        }

        Deployment run(Kind kind, String target) {
            try {
                if (releases == null) {
                    workingCopy.checkCheckedOut();
                }
                mark(Phase.LOCK);
                workingCopy.clearLocks(options.lockStale(), options.lockWait(), crash != null,
                        warning -> log.warn("deploy id={}{} {}", id, label, warning));
                ObjectId tip = kind == Kind.ROLLBACK ? rollbackTip(target) : fetchedTip(kind);
                if (tip != null && releases != null) {
                    return kind == Kind.ROLLBACK ? switchBack(tip) : release(tip);
                }
                return tip == null ? null : deploy(tip);
            } catch (GitException e) {
                return failed(null, Phase.of(e.phase()), e.getMessage(), null);
            } catch (StepFailed e) {
                return failed(null, e.phase, e.getMessage(), null);
            } catch (IOException e) {
                return failed(null, phase, "cannot run deploy.command: " + e.getMessage(), null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return failed(null, phase, "interrupted (the daemon is stopping)", null);
            } catch (RuntimeException e) {
                log.error("deploy id={}{} unexpected error in phase {}", id, label, phase, e);
                return failed(null, phase, "internal error: " + e.getClass().getSimpleName(), null);
            }
        }

        /** Enters {@code next} and leaves a note of it for a crash. */
        private void mark(Phase next) {
            phase = next;
            phaseMarker.accept(next);
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
        private ObjectId fetchedTip(Kind kind) throws GitException {
            boolean check = kind == Kind.CHECK && crash == null;
            if (check && trigger == Trigger.POLL) {
                // a poll asks the remote only (ls-remote): cheaper than a fetch, every few seconds
                phase = Phase.LS_REMOTE;
                ObjectId remote = workingCopy.remoteTip();
                if (remote != null && remote.name().equals(from)) {
                    return upToDate();
                }
            }
            mark(Phase.FETCH);
            ObjectId tip = workingCopy.fetch(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())),
                    () -> System.nanoTime() > deadline);
            // the start-up check fetches (which also warms the fetch path for the first webhook)
            return check && tip.name().equals(from) ? upToDate() : tip;
        }

        private ObjectId upToDate() {
            log.info("deploy check{} trigger={} up-to-date head={}", label, trigger, Deployment.abbrev(from));
            return null;
        }

        /** From the fetched tip on: local work kept safe, the reset, clean and submodules, then the command. */
        private Deployment deploy(ObjectId tip) throws GitException, StepFailed, IOException, InterruptedException {
            long fetched = System.nanoTime();
            if (System.nanoTime() > deadline) {
                throw new StepFailed(Phase.TIMEOUT, "the deploy took longer than " + options.timeout().toSeconds()
                        + " s (deploy.timeout.seconds); the working copy was not changed");
            }
            targetKnown.accept(tip.name());
            mark(Phase.LOCAL_CHANGES);
            LocalWork local = keepLocalWork(id, tip, crash);
            saved = local.saved();
            mark(Phase.RESET);
            long resetStart = System.nanoTime();
            WorkingCopy.Reset reset = workingCopy.resetHard(local.plan(), local.clean());
            long resetMs = elapsedMs(resetStart);
            afterReset();
            long gitMs = elapsedMs(t0);
            CommandResult result = null;
            if (command != null) {
                mark(Phase.COMMAND);
                result = command.run(from, tip.name(), config.branch());
                logCommand(id, result);
                if (!result.succeeded()) {
                    return failed(tip.name(), Phase.COMMAND, commandFailure(result), result);
                }
            }
            if (health != null) {
                HealthCheck.Failure failure = checkHealth(config.repoPath(), tip);
                if (failure != null) {
                    return checkFailed(tip, failure, result);
                }
            }
            long ms = elapsedMs(t0);
            log.info("deploy done id={}{} trigger={} deliveries={} from={} to={} ms={} fetch_ms={} check_ms={} reset_ms={}"
                            + " reset={} git_ms={}{}{}",
                    id, label, trigger, deliveries, Deployment.abbrev(from), Deployment.abbrev(tip.name()), ms,
                    TimeUnit.NANOSECONDS.toMillis(fetched - t0), TimeUnit.NANOSECONDS.toMillis(resetStart - fetched),
                    resetMs, reset.fast() ? "changed-paths" : "full", gitMs,
                    saved == null ? "" : " saved=\"" + saved + "\"",
                    reset.why() == null ? "" : " full_because=\"" + reset.why() + "\"");
            return new Deployment(id, trigger, deliveries, started, ms, from, tip.name(),
                    Deployment.Outcome.DEPLOYED, null, saved, result);
        }

        /** {@code deploy.check.*} in {@code dir}; each failed try is logged and told to the live log. */
        private HealthCheck.Failure checkHealth(Path dir, ObjectId tip) throws InterruptedException {
            mark(Phase.HEALTH_CHECK);
            Consumer<String> live = output.get();
            return health.run(dir, from, tip.name(), config.branch(), line -> {
                String masked = redactor.redact(line);
                log.warn("deploy id={}{} {}", id, label, masked);
                live.accept(masked);
            });
        }

        /**
         * {@code deploy.mode=atomic}: the commit into a new release folder, the command and the health check
         * there, then {@code current} switched to it in one rename and old releases pruned. Any failure before
         * the switch removes the new folder and leaves {@code current} as it was.
         */
        private Deployment release(ObjectId tip) throws GitException, StepFailed, IOException, InterruptedException {
            if (System.nanoTime() > deadline) {
                throw new StepFailed(Phase.TIMEOUT, "the deploy took longer than " + options.timeout().toSeconds()
                        + " s (deploy.timeout.seconds); current was not changed");
            }
            targetKnown.accept(tip.name());
            if (crash != null && (crash.phase() == Phase.RELEASE || crash.phase() == Phase.COMMAND
                    || crash.phase() == Phase.HEALTH_CHECK)) {
                oldReleases.removeUnfinished(id);
            }
            mark(Phase.RELEASE);
            Path dir = releases.create(tip.name(), Instant.now());
            String unchanged = "; current still points to " + releases.current().map(p -> p.getFileName().toString())
                    .orElse("nothing");
            CommandResult result = null;
            boolean switched = false;
            try {
                int files = workingCopy.checkoutRelease(tip, dir);
                log.info("deploy id={}{} release {} written: {} paths", id, label, dir.getFileName(), files);
                if (command != null) {
                    mark(Phase.COMMAND);
                    result = command.run(dir, from, tip.name(), config.branch());
                    logCommand(id, result);
                    if (!result.succeeded()) {
                        return failed(tip.name(), Phase.COMMAND, commandFailure(result) + unchanged, result);
                    }
                }
                if (health != null) {
                    HealthCheck.Failure failure = checkHealth(dir, tip);
                    if (failure != null) {
                        return failed(tip.name(), Phase.HEALTH_CHECK, "health check failed: " + failure.why()
                                + "; the release was not switched in" + unchanged, result, failure.check(), null);
                    }
                }
                mark(Phase.SWITCH);
                releases.switchTo(dir);
                switched = true;
            } catch (GitException e) {
                // the reset's words say "nothing was changed": true of current here too
                throw new GitException(e.phase(), e.getMessage() + unchanged, e.getCause());
            } finally {
                if (!switched) {
                    oldReleases.remove(id, dir);
                }
            }
            workingCopy.moveBranch(tip);
            oldReleases.prune(id);
            long ms = elapsedMs(t0);
            log.info("deploy done id={}{} trigger={} deliveries={} from={} to={} ms={} release={}", id, label, trigger,
                    deliveries, Deployment.abbrev(from), Deployment.abbrev(tip.name()), ms, dir.getFileName());
            return new Deployment(id, trigger, deliveries, started, ms, from, tip.name(),
                    Deployment.Outcome.DEPLOYED, null, null, result);
        }

        /** An atomic rollback: {@code current} back to the newest release of {@code tip} in one rename, or a new one. */
        private Deployment switchBack(ObjectId tip) throws GitException, StepFailed, IOException, InterruptedException {
            Path kept = releases.newestOf(tip.name()).orElse(null);
            if (kept == null) {
                log.info("deploy id={}{} no release of {} is left; making a new one", id, label,
                        Deployment.abbrev(tip.name()));
                return release(tip);
            }
            targetKnown.accept(tip.name());
            mark(Phase.SWITCH);
            releases.switchTo(kept);
            workingCopy.moveBranch(tip);
            long ms = elapsedMs(t0);
            log.info("deploy done id={}{} trigger={} deliveries={} from={} to={} ms={} release={}", id, label, trigger,
                    deliveries, Deployment.abbrev(from), Deployment.abbrev(tip.name()), ms, kept.getFileName());
            return new Deployment(id, trigger, deliveries, started, ms, from, tip.name(),
                    Deployment.Outcome.DEPLOYED, null, null, null);
        }

        /** {@code deploy.clean} and {@code deploy.submodules}. */
        private void afterReset() throws GitException {
            if (options.clean()) {
                phase = Phase.CLEAN;
                int removed = workingCopy.clean();
                if (removed > 0) {
                    log.info("deploy id={}{} removed {} untracked files and folders (deploy.clean)", id, label, removed);
                }
            }
            if (options.submodules()) {
                phase = Phase.SUBMODULES;
                workingCopy.updateSubmodules();
            }
        }

        /**
         * The health check failed after the reset and the command: with {@code deploy.rollback.on.failure}, the
         * commit deployed before is put back and its command re-run (as a rollback would); else the new commit
         * stays, as a failed {@code deploy.command} leaves it.
         */
        private Deployment checkFailed(ObjectId tip, HealthCheck.Failure failure, CommandResult result) {
            String error = "health check failed: " + failure.why();
            String restored = null;
            if (!options.rollbackOnFailure()) {
                error += "; " + Deployment.abbrev(tip.name()) + " stays deployed (deploy.rollback.on.failure=false)";
            } else if (from == null || from.equals(tip.name())) {
                error += "; nothing to restore: no other commit was deployed before";
            } else {
                try {
                    restore(ObjectId.fromString(from), tip);
                    restored = from;
                    error += "; restored " + Deployment.abbrev(from);
                } catch (GitException | StepFailed | IOException e) {
                    error += "; restoring " + Deployment.abbrev(from) + " failed: " + e.getMessage();
                }
            }
            return failed(tip.name(), Phase.HEALTH_CHECK, error, result, failure.check(), restored);
        }

        /** Resets to {@code previous} (what the command or the check changed in tracked files goes) and re-runs the command. */
        private void restore(ObjectId previous, ObjectId bad) throws GitException, StepFailed, IOException {
            mark(Phase.RESTORE);
            log.warn("deploy id={}{} restoring {} after the failed health check of {} (deploy.rollback.on.failure)",
                    id, label, Deployment.abbrev(previous.name()), Deployment.abbrev(bad.name()));
            Set<String> edited = workingCopy.localChanges();
            WorkingCopy.Plan plan = workingCopy.plan(previous, edited, options.submodules());
            String aside = workingCopy.makeRoom(plan, Instant.now());
            if (aside != null) {
                log.warn("deploy id={}{} saved untracked files in the way of {} on {}", id, label,
                        Deployment.abbrev(previous.name()), aside);
            }
            workingCopy.resetHard(plan, edited.isEmpty());
            afterReset();
            if (command != null) {
                CommandResult again = command.run(bad.name(), previous.name(), config.branch());
                logCommand(id, again);
                if (!again.succeeded()) {
                    throw new StepFailed(Phase.RESTORE, "its " + commandFailure(again));
                }
            }
        }

        private Deployment failed(String to, Phase failedIn, String error, CommandResult result) {
            return failed(to, failedIn, error, result, null, null);
        }

        private Deployment failed(String to, Phase failedIn, String error, CommandResult result, String check,
                                  String restored) {
            long ms = elapsedMs(t0);
            String masked = redactor.redact(error);
            log.warn("deploy failed id={}{} trigger={} deliveries={} phase={} from={} ms={} error=\"{}\"",
                    id, label, trigger, deliveries, failedIn, Deployment.abbrev(from), ms, masked);
            return new Deployment(id, trigger, deliveries, started, ms, from, to, Deployment.Outcome.FAILED,
                    masked, saved, result, check, restored);
        }
    }

    /** Why the command failed, and its last line of output. */
    private String commandFailure(CommandResult result) {
        String why = result.timedOut()
                ? "deploy.command timed out after " + options.commandTimeout().toSeconds()
                + " s; its process group was killed"
                : "deploy.command exited with status " + result.exitCode();
        return why + (result.output().isEmpty() ? "" : ": " + result.output().get(result.output().size() - 1));
    }

    /**
     * Edits of tracked files: stashed, refused or discarded as configured. After a crash in the reset (or
     * later) they are the interrupted reset's own half-written files, the user's edits having been stashed
     * before it began: they are dropped. After a crash in an earlier phase they may be the user's: stashed
     * rather than refused, so nothing is lost and the deploy can finish. Commits the target does not
     * contain: kept on a backup ref, in every mode.
     */
    private LocalWork keepLocalWork(long id, ObjectId tip, CrashMarker crash) throws GitException, StepFailed {
        List<String> saved = new ArrayList<>();
        // one look at the working tree in every mode: it also tells whether the fast reset may be used
        Set<String> edited = workingCopy.localChanges();
        // everything the reset will write is checked before anything changes, the stash included
        WorkingCopy.Plan plan = workingCopy.plan(tip, edited, options.submodules());
        String stash = keepEdits(id, edited, crash);
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

    private void logCommand(long id, CommandResult r) {
        if (r.succeeded()) {
            log.info("deploy id={}{} command exit=0 ms={}", id, label, r.ms());
        } else {
            log.warn("deploy id={}{} command {} ms={}", id, label, r.timedOut() ? "timed-out" : "exit=" + r.exitCode(), r.ms());
        }
        for (String line : r.output()) {
            log.info("deploy id={}{} command output: {}", id, label, line);
        }
    }

    private static long elapsedMs(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** A step that failed for a reason of pullhook's own (not JGit's). */
    private static final class StepFailed extends Exception {
        private static final long serialVersionUID = 1L;
        final Phase phase;

        StepFailed(Phase phase, String message) {
            super(message, null, false, false);
            this.phase = phase;
        }
    }
}
