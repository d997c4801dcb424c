package dev.pullhook.deploy;

import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One job as it runs: what asked for it, the time it has, HEAD before it, the phase it is in and where it
 * kept local work; and its outcome, a {@link Deployment}. Made by {@link Deployer#run} for each job and
 * passed to the steps of that job, on the deploy worker.
 */
final class DeployRun {
    /** Logs as {@link Deployer}: operators grep for its lines under that name. */
    private static final Logger log = LoggerFactory.getLogger(Deployer.class);

    final long id;
    final Trigger trigger;
    /** The delivery ids of the requests the job covers. */
    final List<String> deliveries;
    /** When the previous process died mid-deploy, the marker it left (its locks are dead); null otherwise. */
    final CrashMarker crash;
    /** HEAD before the job (full id), or null for an empty working copy. */
    final String from;
    /** {@code " site=<name>"} for a named site, else empty: appended to the id in log lines. */
    final String label;
    private final Consumer<Phase> phaseMarker;
    private final Consumer<String> targetKnown;
    /** Masks the site's credentials in errors before they are logged or kept. */
    private final SecretRedactor redactor;
    private final Duration timeout;
    private final Instant started = Instant.now();
    private final long t0 = System.nanoTime();
    private final long deadline;
    private Phase phase = Phase.CHECK;
    /** Where local work was kept, once it was. */
    private String saved;

    /**
     * @param phaseMarker told each phase as it starts, so a crash leaves a note of where it happened
     * @param targetKnown told the commit the job goes to, once known and before anything changes
     * @param timeout     {@code deploy.timeout.seconds}, from now
     */
    DeployRun(long id, Trigger trigger, List<String> deliveries, CrashMarker crash, String from, String label,
              Consumer<Phase> phaseMarker, Consumer<String> targetKnown, SecretRedactor redactor, Duration timeout) {
        this.id = id;
        this.trigger = trigger;
        this.deliveries = deliveries;
        this.crash = crash;
        this.from = from;
        this.label = label;
        this.phaseMarker = phaseMarker;
        this.targetKnown = targetKnown;
        this.redactor = redactor;
        this.timeout = timeout;
        this.deadline = t0 + timeout.toNanos();
    }

    /** Enters {@code next} and leaves a note of it for a crash. */
    void mark(Phase next) {
        phase = next;
        phaseMarker.accept(next);
    }

    /** Enters {@code next} without a note: a crash in it is recovered as one in the phase marked before. */
    void enter(Phase next) {
        phase = next;
    }

    Phase phase() {
        return phase;
    }

    /** Tells who waits that the job goes to {@code tip}, before anything changes. */
    void goesTo(ObjectId tip) {
        targetKnown.accept(tip.name());
    }

    /** What is left of {@code deploy.timeout.seconds}, never negative. */
    Duration timeLeft() {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    boolean overdue() {
        return System.nanoTime() > deadline;
    }

    /** Fails the job once its time is up, before it changes anything: {@code unchanged} says what stays as it was. */
    void requireTime(String unchanged) throws StepFailed {
        if (overdue()) {
            throw new StepFailed(Phase.TIMEOUT, "the deploy took longer than " + timeout.toSeconds()
                    + " s (deploy.timeout.seconds); " + unchanged + " was not changed");
        }
    }

    /** Where local work was kept before the reset (stash, backup ref, saved files), or null. */
    void kept(String where) {
        saved = where;
    }

    String saved() {
        return saved;
    }

    /** Milliseconds from the job's start to {@code nanoTime}, a {@link System#nanoTime()} reading. */
    long msAt(long nanoTime) {
        return TimeUnit.NANOSECONDS.toMillis(nanoTime - t0);
    }

    /** Milliseconds since the job started. */
    long ms() {
        return msAt(System.nanoTime());
    }

    /** The job deployed {@code to} in {@code ms}; its {@code deploy done} line is the caller's. */
    Deployment deployed(long ms, String to, CommandResult result) {
        return new Deployment(id, trigger, deliveries, started, ms, from, to, Deployment.Outcome.DEPLOYED, null,
                saved, result);
    }

    Deployment failed(String to, Phase failedIn, String error, CommandResult result) {
        return failed(to, failedIn, error, result, null, null);
    }

    /**
     * The job failed in {@code failedIn}: logged ({@code deploy failed}, the error masked) and kept.
     *
     * @param to       the commit it went to, or null when it failed before it knew
     * @param check    the health check that failed, or null
     * @param restored the commit put back after a failed health check, or null
     */
    Deployment failed(String to, Phase failedIn, String error, CommandResult result, String check, String restored) {
        long ms = ms();
        String masked = redactor.redact(error);
        log.warn("deploy failed id={}{} trigger={} deliveries={} phase={} from={} ms={} error=\"{}\"",
                id, label, trigger, deliveries, failedIn, Deployment.abbrev(from), ms, masked);
        return new Deployment(id, trigger, deliveries, started, ms, from, to, Deployment.Outcome.FAILED,
                masked, saved, result, check, restored);
    }
}
