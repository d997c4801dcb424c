package dev.pullhook.deploy;

import dev.pullhook.git.GitException;
import dev.pullhook.git.WorkingCopy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Runs deploys of one working copy on a single worker thread, so they never overlap and never block the
 * HTTP thread that asked for them. Requests are coalesced, "latest wins": while a deploy runs, every new
 * request joins the one pending deploy, which starts when the running one ends and fetches the newest tip
 * then. So a burst of any size costs at most two deploys, and no push is missed.
 */
public final class DeployService {
    private static final Logger log = LoggerFactory.getLogger(DeployService.class);

    /** What the queue is doing. */
    public enum State {
        IDLE, RUNNING, QUEUED;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A request's place in the queue: the deploy that will cover it, and its result when done. */
    public record Ticket(long deployId, boolean joined, CompletableFuture<Deployment> done) {
    }

    private final WorkingCopy workingCopy;
    private final DeployHistory history;
    private final ExecutorService worker;
    private final Object lock = new Object();
    private long lastId;
    private Job running;
    private Job pending;
    private boolean closed;

    public DeployService(WorkingCopy workingCopy, DeployHistory history) {
        this.workingCopy = workingCopy;
        this.history = history;
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "deploy");
            t.setDaemon(false);
            return t;
        });
    }

    /**
     * Asks for a deploy. Returns at once; the ticket's future completes when the deploy covering this
     * request has finished.
     *
     * @param trigger    what asks ({@code webhook}, {@code manual}, ...)
     * @param deliveryId the host's delivery id, or null
     * @throws IllegalStateException when the service is shutting down
     */
    public Ticket submit(String trigger, String deliveryId) {
        Job job;
        boolean joined;
        boolean start = false;
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("shutting down");
            }
            if (pending != null) {
                job = pending;
                joined = true;
            } else if (running != null) {
                job = pending = new Job(++lastId, trigger);
                joined = false;
            } else {
                job = running = new Job(++lastId, trigger);
                joined = false;
                start = true;
            }
            if (deliveryId != null) {
                job.deliveries.add(deliveryId);
            }
        }
        if (start) {
            worker.execute(() -> run(job));
        }
        return new Ticket(job.id, joined, job.done);
    }

    public State state() {
        synchronized (lock) {
            return pending != null ? State.QUEUED : running != null ? State.RUNNING : State.IDLE;
        }
    }

    /** The working copy's HEAD commit, abbreviated, if it has one. */
    public Optional<String> head() {
        return workingCopy.head().map(id -> id.name());
    }

    public DeployHistory history() {
        return history;
    }

    /** Warms JGit up in the background, so readiness is not delayed and the first deploy is not slow. */
    public void warmUp() {
        worker.execute(workingCopy::warmUp);
    }

    private void run(Job job) {
        Deployment result = deploy(job);
        history.add(result);
        Job next;
        synchronized (lock) {
            running = pending;
            pending = null;
            next = running;
        }
        job.done.complete(result);
        if (next != null) {
            worker.execute(() -> run(next));
        }
    }

    private Deployment deploy(Job job) {
        Instant started = Instant.now();
        long t0 = System.nanoTime();
        String from = workingCopy.head().map(id -> id.abbreviate(7).name()).orElse(null);
        List<String> deliveries = job.deliveries();
        try {
            var tip = workingCopy.fetch();
            long fetched = System.nanoTime();
            workingCopy.resetHard(tip);
            String to = tip.abbreviate(7).name();
            long ms = elapsedMs(t0);
            log.info("deploy done id={} trigger={} deliveries={} from={} to={} ms={} fetch_ms={} reset_ms={}",
                    job.id, job.trigger, deliveries, from, to, ms, TimeUnit.NANOSECONDS.toMillis(fetched - t0),
                    elapsedMs(fetched));
            return new Deployment(job.id, job.trigger, deliveries, started, ms, from, to,
                    Deployment.Outcome.DEPLOYED, null);
        } catch (GitException e) {
            long ms = elapsedMs(t0);
            log.warn("deploy failed id={} trigger={} deliveries={} phase={} from={} ms={} error=\"{}\"",
                    job.id, job.trigger, deliveries, e.phase().name().toLowerCase(java.util.Locale.ROOT),
                    from, ms, e.getMessage());
            return new Deployment(job.id, job.trigger, deliveries, started, ms, from, null,
                    Deployment.Outcome.FAILED, e.getMessage());
        } catch (RuntimeException e) {
            long ms = elapsedMs(t0);
            log.error("deploy failed id={} trigger={} deliveries={} from={} ms={} error=\"unexpected {}\"",
                    job.id, job.trigger, deliveries, from, ms, e.getClass().getName(), e);
            return new Deployment(job.id, job.trigger, deliveries, started, ms, from, null,
                    Deployment.Outcome.FAILED, "internal error: " + e.getClass().getSimpleName());
        }
    }

    private static long elapsedMs(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /**
     * Stops taking requests, drops the pending deploy (its callers are told), and waits up to {@code drain}
     * for the running one to finish. Returns false if it was still running then.
     */
    public boolean shutdown(Duration drain) {
        Job dropped;
        synchronized (lock) {
            closed = true;
            dropped = pending;
            pending = null;
        }
        if (dropped != null) {
            log.info("deploy cancelled id={} reason=\"shutting down\"", dropped.id);
            dropped.done.complete(new Deployment(dropped.id, dropped.trigger, dropped.deliveries(), Instant.now(),
                    0, null, null, Deployment.Outcome.CANCELLED, "the daemon is shutting down"));
        }
        worker.shutdown();
        try {
            if (worker.awaitTermination(drain.toMillis(), TimeUnit.MILLISECONDS)) {
                workingCopy.close();
                return true;
            }
            log.warn("shutdown: a deploy is still running after {} s (shutdown.drain.seconds); stopping anyway",
                    drain.toSeconds());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** One deploy to run, and every request it covers (more may join until it starts). */
    private static final class Job {
        final long id;
        final String trigger;
        final List<String> deliveries = new CopyOnWriteArrayList<>();
        final CompletableFuture<Deployment> done = new CompletableFuture<>();

        Job(long id, String trigger) {
            this.id = id;
            this.trigger = trigger;
        }

        List<String> deliveries() {
            return List.copyOf(deliveries);
        }
    }
}
