package dev.pullhook.deploy;

import dev.pullhook.config.SiteConfig;
import dev.pullhook.git.WorkingCopy;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs the jobs of one working copy on a single worker thread, so they never overlap and never block the
 * HTTP thread that asked for them. Deploy requests are coalesced, "latest wins": while a deploy runs, every
 * new request joins the one pending deploy, which fetches the newest tip when it starts. So a burst of any
 * size costs at most two deploys, and no push is missed. Rollbacks queue as jobs of their own; start-up and
 * poll checks only run when nothing else is queued. Keeps the history (persisted in the state folder) and
 * the crash marker.
 */
public final class DeployService {
    private static final Logger log = LoggerFactory.getLogger(DeployService.class);

    /** What the queue is doing. */
    public enum State {
        IDLE, RUNNING, QUEUED;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A deploy or rollback under way: its id and trigger, HEAD before it, and the commit it goes to (see
     * {@link #onStarted}).
     */
    public record Started(long id, Trigger trigger, String from, String to) {
    }

    /** A request's place in the queue: the deploy that will cover it, and its result when done. */
    public record Ticket(long deployId, boolean joined, CompletableFuture<Deployment> done) {
    }

    private final WorkingCopy workingCopy;
    private final Deployer deployer;
    /** {@code " site=<name>"} for a named site, else empty. */
    private final String label;
    private final DeployHistory history;
    private final StateDir state;
    private final int historySize;
    private final ExecutorService worker;
    private final ScheduledExecutorService poller;
    private final Object lock = new Object();
    private final Deque<Job> queue = new ArrayDeque<>();
    private final List<Consumer<Deployment>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Started>> startListeners = new CopyOnWriteArrayList<>();
    /** Each job's phases and command output as they happen, for followers ({@code GET /deploys/<id>/log}). */
    private final LiveLog live = new LiveLog();
    private long lastId;
    private Job running;
    private Job pendingDeploy;
    private boolean closed;
    /** The marker the previous process left when it died mid-deploy, until a deploy repaired the working copy. */
    private CrashMarker interrupted;

    public DeployService(WorkingCopy workingCopy, SiteConfig config, StateDir state) {
        this.workingCopy = workingCopy;
        this.deployer = new Deployer(workingCopy, config, live::output);
        listeners.add(live::end);
        this.label = config.name().isEmpty() ? "" : " site=" + config.name();
        this.state = state;
        this.historySize = config.historySize();
        this.history = DeployHistory.of(state.loadHistory(config.historySize()), config.historySize());
        this.lastId = history.recent().stream().mapToLong(Deployment::id).findFirst().orElse(0);
        this.interrupted = state.interruptedDeploy();
        if (interrupted != null) {
            // the interrupted deploy never reached the history: don't hand its id out again
            lastId = Math.max(lastId, interrupted.deployId());
        }
        String suffix = config.name().isEmpty() ? "" : "-" + config.name();
        this.worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "deploy" + suffix));
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "poll" + suffix);
            t.setDaemon(true);
            return t;
        });
        Duration poll = config.deploy().poll();
        if (!poll.isZero()) {
            poller.scheduleWithFixedDelay(() -> submitCheck(Trigger.POLL), poll.toMillis(), poll.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Queues what is due at start: a recovery deploy when the previous process died mid-deploy (whatever
     * {@code deploy.on.start} says: the working copy may be half reset), else a check that deploys only if
     * the remote tip moved while the daemon was down. Before them, on the worker (the server already answers),
     * the warm-up ({@link WarmUp}) unless {@code warmUp} is false ({@code server.warmup}).
     */
    public void start(boolean deployOnStart, boolean warmUp) {
        if (warmUp) {
            worker.execute(() -> WarmUp.run(workingCopy, label));
        }
        if (interrupted != null) {
            log.warn("deploy interrupted last time{} ({}); recovering the working copy", label, interrupted.text());
            submitCheck(Trigger.RECOVERY);
        } else if (deployOnStart) {
            submitCheck(Trigger.START);
        }
    }

    /**
     * Asks for a deploy. Returns at once; the ticket's future completes when the deploy covering this
     * request has finished.
     *
     * @param trigger    what asks ({@link Trigger#WEBHOOK}, {@link Trigger#MANUAL})
     * @param deliveryId the host's delivery id, or null
     * @throws IllegalStateException when the service is shutting down
     */
    public Ticket submit(Trigger trigger, String deliveryId) {
        return submit(trigger, deliveryId, null);
    }

    /**
     * {@link #submit(Trigger, String)} for a push that names its commit: the deploy still goes to the branch
     * tip it fetches, but if it fails before it knows that tip, {@link #onStarted} is told this commit.
     */
    public Ticket submit(Trigger trigger, String deliveryId, String commit) {
        synchronized (lock) {
            ensureOpen();
            boolean joined = pendingDeploy != null;
            if (!joined) {
                pendingDeploy = enqueue(new Job(++lastId, Deployer.Kind.DEPLOY, trigger));
            }
            Job job = pendingDeploy;
            if (deliveryId != null) {
                job.deliveries.add(deliveryId);
            }
            if (commit != null) {
                job.pushed = commit;
            }
            return new Ticket(job.id, joined, job.done);
        }
    }

    /** Queues a rollback to the commit deployed before the current one. */
    public Ticket submitRollback() {
        synchronized (lock) {
            ensureOpen();
            Job job = enqueue(new Job(++lastId, Deployer.Kind.ROLLBACK, Trigger.ROLLBACK));
            return new Ticket(job.id, false, job.done);
        }
    }

    /** A start or poll check; skipped when anything is queued or running (that job fetches anyway). */
    void submitCheck(Trigger trigger) {
        synchronized (lock) {
            if (closed || running != null || !queue.isEmpty()) {
                return;
            }
            enqueue(new Job(0, Deployer.Kind.CHECK, trigger));
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("shutting down");
        }
    }

    /** Must hold the lock. */
    private Job enqueue(Job job) {
        queue.addLast(job);
        if (job.id != 0) {
            live.queued(job.id);
        }
        worker.execute(this::runNext);
        return job;
    }

    public State state() {
        synchronized (lock) {
            return !queue.isEmpty() ? State.QUEUED : running != null ? State.RUNNING : State.IDLE;
        }
    }

    /** The working copy's HEAD commit (full id), if it has one. */
    public Optional<String> head() {
        return workingCopy.head().map(ObjectId::name);
    }

    public DeployHistory history() {
        return history;
    }

    /** The logs of the running, queued and recent deploys, to follow or read. */
    public LiveLog live() {
        return live;
    }

    /**
     * Tells {@code listener} about every deploy or rollback that ends (deployed, failed, or cancelled at
     * shutdown; not a start or poll check that found nothing to do), before its ticket completes. Called
     * on the worker thread (on the stopping thread for cancelled ones): it must be quick.
     */
    public void onFinished(Consumer<Deployment> listener) {
        listeners.add(listener);
    }

    /**
     * Tells {@code listener} when a deploy or rollback knows the commit it goes to, before it changes anything
     * (after the fetch; not for a start or poll check that finds nothing to do); or, when a deploy fails before
     * that, the commit its push named, if any, just before {@link #onFinished} hears of it. At most once per
     * deploy, on the worker thread: it must be quick.
     */
    public void onStarted(Consumer<Started> listener) {
        startListeners.add(listener);
    }

    private void announce(Started s) {
        tellAll(startListeners, s, s.id());
    }

    private void tell(Deployment d) {
        tellAll(listeners, d, d.id());
    }

    /** A listener that throws is a bug of its own: one line, and the others still hear of deploy {@code id}. */
    private <T> void tellAll(List<Consumer<T>> all, T event, long id) {
        for (Consumer<T> listener : all) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                log.warn("deploy listener failed id={}{} error=\"{}\"", id, label, e.toString());
            }
        }
    }

    private void runNext() {
        Job job;
        CrashMarker crash;
        synchronized (lock) {
            job = queue.pollFirst();
            if (job == null) {
                return;
            }
            if (job == pendingDeploy) {
                pendingDeploy = null;
            }
            running = job;
            crash = interrupted;
        }
        Deployment result = null;
        try {
            result = run(job, crash);
            if (result != null) {
                record(job, result, crash != null);
            }
        } finally {
            synchronized (lock) {
                running = null;
            }
            job.done.complete(result);
        }
        if (result != null && result.outcome() == Deployment.Outcome.DEPLOYED) {
            // after the answer, so a ?wait=true caller never waits for it; still on the worker, so it
            // never runs beside a deploy
            deployer.housekeeping(result.id());
        }
    }

    /** Runs one job; null when a start or poll check found nothing to do. */
    private Deployment run(Job job, CrashMarker crash) {
        String target = null;
        if (job.kind == Deployer.Kind.ROLLBACK) {
            target = history.rollbackTarget(head().orElse(null));
            if (target == null) {
                Deployment none = new Deployment(job.id, job.trigger, job.deliveries(), Instant.now(), 0,
                        head().orElse(null), null, Deployment.Outcome.FAILED,
                        "no earlier deployed commit to roll back to", null, null);
                log.warn("deploy failed id={}{} trigger={} phase={} error=\"{}\"", job.id, label, job.trigger,
                        Phase.ROLLBACK, none.error());
                return none;
            }
        }
        long id = job.id;
        if (job.kind == Deployer.Kind.CHECK) {
            synchronized (lock) {
                id = ++lastId;
            }
        }
        long markId = id;
        live.begin(id);
        Deployment result = deployer.run(id, job.kind, job.trigger, job.deliveries(), target, crash, phase -> {
            state.markRunning(markId, job.trigger, phase);
            live.phase(phase);
        }, tip -> announce(job.started = new Started(markId, job.trigger, head().orElse(null), tip)));
        // after a crash the marker stays until a deploy has repaired the working copy
        if (crash == null || (result != null && result.outcome() == Deployment.Outcome.DEPLOYED)) {
            state.clearRunning();
        }
        if (result == null) {
            live.discard(id);
            synchronized (lock) {
                if (lastId == id) {
                    lastId--;  // a check that found nothing to do leaves no gap in the ids
                }
            }
        }
        return result;
    }

    /**
     * Keeps what a job did: a failed deploy that never knew its commit tells {@link #onStarted} the one its
     * push named; then the history and its file, the listeners; a deploy after a crash ends the recovery.
     */
    private void record(Job job, Deployment result, boolean afterCrash) {
        if (job.started == null && job.pushed != null && result.outcome() == Deployment.Outcome.FAILED) {
            announce(new Started(result.id(), job.trigger, result.from(), job.pushed));
        }
        history.add(result);
        state.append(result, historySize);
        tell(result);
        if (afterCrash && result.outcome() == Deployment.Outcome.DEPLOYED) {
            synchronized (lock) {
                interrupted = null;
            }
            log.info("recovered{}: the working copy is at {}", label, Deployment.abbrev(result.to()));
        }
    }

    /**
     * Stops taking requests, drops what is queued (its callers are told), and waits up to {@code drain}
     * for the running job to finish. Returns false if it was still running then.
     */
    public boolean shutdown(Duration drain) {
        List<Job> dropped;
        synchronized (lock) {
            closed = true;
            dropped = new ArrayList<>(queue);
            queue.clear();
            pendingDeploy = null;
        }
        poller.shutdownNow();
        for (Job job : dropped) {
            Deployment cancelled = new Deployment(job.id, job.trigger, job.deliveries(), Instant.now(), 0, null, null,
                    Deployment.Outcome.CANCELLED, "the daemon is shutting down", null, null);
            if (job.kind != Deployer.Kind.CHECK) {
                log.info("deploy cancelled id={}{} reason=\"shutting down\"", job.id, label);
                tell(cancelled);
            }
            job.done.complete(cancelled);
        }
        worker.shutdown();
        try {
            if (worker.awaitTermination(drain.toMillis(), TimeUnit.MILLISECONDS)) {
                live.close();
                workingCopy.close();
                return true;
            }
            live.close();
            log.warn("shutdown{}: a deploy is still running after {} s (shutdown.drain.seconds); stopping anyway;"
                    + " the next start recovers the working copy", label, drain.toSeconds());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
