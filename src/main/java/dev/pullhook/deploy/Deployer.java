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

/**
 * The steps of one deploy, in order: clear dead git locks, fetch (or take the rollback target), keep
 * local work safe (stash edits as configured, back up commits the target does not contain), hard reset,
 * optionally clean and update submodules, then run the post-deploy command. Each outcome is a
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
    private final DeployCommand command;
    /** Masks the site's credentials in the command's output and in errors before they are logged or kept. */
    private final SecretRedactor redactor;

    /** @param output where each run's lines of {@code deploy.command}'s output go as they come, masked and cut */
    Deployer(WorkingCopy workingCopy, SiteConfig config, java.util.function.Supplier<Consumer<String>> output) {
        this.workingCopy = workingCopy;
        this.config = config;
        this.label = config.name().isEmpty() ? "" : " site=" + config.name();
        this.options = config.deploy();
        this.redactor = new SecretRedactor().registerAll(config.secrets());
        this.command = options.command() == null ? null
                : new DeployCommand(options.command(), config.repoPath(), options.commandTimeout(), redactor, output);
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
        boolean afterCrash = crash != null;
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        long deadline = t0 + options.timeout().toNanos();
        String from = workingCopy.head().map(ObjectId::name).orElse(null);
        Phase phase = Phase.CHECK;
        String saved = null;
        try {
            workingCopy.checkCheckedOut();
            phase = Phase.LOCK;
            phaseMarker.accept(phase);
            workingCopy.clearLocks(options.lockStale(), options.lockWait(), afterCrash,
                    warning -> log.warn("deploy id={}{} {}", id, label, warning));
            ObjectId tip;
            if (kind == Kind.ROLLBACK) {
                tip = workingCopy.commit(target);
                if (tip == null) {
                    throw new StepFailed(Phase.ROLLBACK, "commit " + target + " is not in the repository any more");
                }
            } else {
                if (kind == Kind.CHECK && !afterCrash && trigger == Trigger.POLL) {
                    // a poll asks the remote only (ls-remote): cheaper than a fetch, every few seconds
                    phase = Phase.LS_REMOTE;
                    ObjectId remote = workingCopy.remoteTip();
                    if (remote != null && remote.name().equals(from)) {
                        log.info("deploy check{} trigger={} up-to-date head={}", label, trigger, Deployment.abbrev(from));
                        return null;
                    }
                }
                phase = Phase.FETCH;
                phaseMarker.accept(phase);
                tip = workingCopy.fetch(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())),
                        () -> System.nanoTime() > deadline);
                if (kind == Kind.CHECK && !afterCrash && tip.name().equals(from)) {
                    // the start-up check fetches (which also warms the fetch path for the first webhook)
                    log.info("deploy check{} trigger={} up-to-date head={}", label, trigger, Deployment.abbrev(from));
                    return null;
                }
            }
            long fetched = System.nanoTime();
            if (System.nanoTime() > deadline) {
                throw new StepFailed(Phase.TIMEOUT, "the deploy took longer than " + options.timeout().toSeconds()
                        + " s (deploy.timeout.seconds); the working copy was not changed");
            }
            targetKnown.accept(tip.name());
            phase = Phase.LOCAL_CHANGES;
            phaseMarker.accept(phase);
            LocalWork local = keepLocalWork(id, tip, crash);
            saved = local.saved();
            phase = Phase.RESET;
            phaseMarker.accept(phase);
            long resetStart = System.nanoTime();
            WorkingCopy.Reset reset = workingCopy.resetHard(local.plan(), local.clean());
            long resetMs = elapsedMs(resetStart);
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
            long gitMs = elapsedMs(t0);
            CommandResult result = null;
            if (command != null) {
                phase = Phase.COMMAND;
                phaseMarker.accept(phase);
                result = command.run(from, tip.name(), config.branch());
                logCommand(id, result);
                if (!result.succeeded()) {
                    String why = result.timedOut()
                            ? "deploy.command timed out after " + options.commandTimeout().toSeconds()
                            + " s; its process group was killed"
                            : "deploy.command exited with status " + result.exitCode();
                    String last = result.output().isEmpty() ? "" : ": " + result.output().get(result.output().size() - 1);
                    return failed(id, trigger, deliveries, started, t0, from, tip.name(), Phase.COMMAND, why + last, saved,
                            result);
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
        } catch (GitException e) {
            return failed(id, trigger, deliveries, started, t0, from, null, Phase.of(e.phase()), e.getMessage(), saved,
                    null);
        } catch (StepFailed e) {
            return failed(id, trigger, deliveries, started, t0, from, null, e.phase, e.getMessage(), saved, null);
        } catch (IOException e) {
            return failed(id, trigger, deliveries, started, t0, from, null, phase,
                    "cannot run deploy.command: " + e.getMessage(), saved, null);
        } catch (RuntimeException e) {
            log.error("deploy id={}{} unexpected error in phase {}", id, label, phase, e);
            return failed(id, trigger, deliveries, started, t0, from, null, phase,
                    "internal error: " + e.getClass().getSimpleName(), saved, null);
        }
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
        DeployOptions.LocalChanges policy = options.localChanges();
        boolean afterCrash = crash != null;
        boolean halfReset = afterCrash && crash.halfReset();
        // one look at the working tree in every mode: it also tells whether the fast reset may be used
        Set<String> edited = workingCopy.localChanges();
        // everything the reset will write is checked before anything changes, the stash included
        WorkingCopy.Plan plan = workingCopy.plan(tip, edited, options.submodules());
        List<String> changed = shown(edited);
        boolean clean = edited.isEmpty();
        if (halfReset) {
            if (!changed.isEmpty()) {
                log.warn("deploy id={}{} dropping files half written by the interrupted reset: {}", id, label, changed);
            }
        } else if (policy != DeployOptions.LocalChanges.DISCARD || afterCrash) {
            if (!changed.isEmpty()) {
                if (policy == DeployOptions.LocalChanges.REFUSE && !afterCrash) {
                    throw new StepFailed(Phase.LOCAL_CHANGES, "local changes in tracked files (" + String.join(", ", changed)
                            + "); deploy.local.changes=refuse leaves the working copy untouched");
                }
                if (policy == DeployOptions.LocalChanges.DISCARD) {
                    log.warn("deploy id={}{} discarding local changes after an interrupted deploy: {}", id, label, changed);
                } else {
                    ObjectId stash = workingCopy.stash(edited, "pullhook: local changes saved before deploy " + id
                            + " at " + Instant.now());
                    if (stash != null) {
                        log.warn("deploy id={}{} saved local changes in {} to stash {} (see git stash list)", id, label,
                                changed, stash.abbreviate(7).name());
                        saved.add("stash " + stash.name());
                    }
                }
            }
        } else if (!changed.isEmpty()) {
            log.warn("deploy id={}{} discarding local changes (deploy.local.changes=discard): {}", id, label, changed);
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
        return new LocalWork(saved.isEmpty() ? null : String.join(", ", saved), clean, plan);
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

    private Deployment failed(long id, Trigger trigger, List<String> deliveries, Instant started, long t0, String from,
                              String to, Phase phase, String error, String saved, CommandResult result) {
        long ms = elapsedMs(t0);
        String masked = redactor.redact(error);
        log.warn("deploy failed id={}{} trigger={} deliveries={} phase={} from={} ms={} error=\"{}\"",
                id, label, trigger, deliveries, phase, Deployment.abbrev(from), ms, masked);
        return new Deployment(id, trigger, deliveries, started, ms, from, to, Deployment.Outcome.FAILED,
                masked, saved, result);
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
