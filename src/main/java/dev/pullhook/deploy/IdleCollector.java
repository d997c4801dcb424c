package dev.pullhook.deploy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * After work (the warm-up, a deploy), once a site's queue has stayed empty for {@link #DELAY_MS}: one
 * full collection, with which the serial collector gives the heap that the work grew back to the system
 * (as far as the unit's {@code -XX:MaxHeapFreeRatio} asks). Only with {@code -Dpullhook.gc.when.idle=true},
 * which the systemd unit sets: in a JVM that runs other things too (the tests, say) that is not this
 * class's call. A start or poll check that found nothing to do does not count as work, so polling never
 * collects. Not right after the deploy: that stop-the-world pause would hold up the answer to the
 * {@code ?wait=true} caller, still being written on an HTTP thread (10 ms of a 25 ms deploy on a small
 * site). Runs on the worker, so a deploy queued meanwhile waits for it (as for any pause).
 */
final class IdleCollector {
    private static final Logger log = LoggerFactory.getLogger(IdleCollector.class);
    private static final boolean ENABLED = Boolean.getBoolean("pullhook.gc.when.idle");
    /** How long the queue must stay idle after work before the collection. */
    private static final long DELAY_MS = 1000;

    private final String label;
    private final Executor worker;
    private final ScheduledExecutorService timer;
    /** Whether the queue is empty and open, asked on the worker right before collecting. */
    private final BooleanSupplier quiet;
    /** Work was done since the last collection; used on the worker thread only. */
    private boolean worked;
    /** Counts the collections planned by {@link #plan}; a newer plan cancels an older one. Worker only. */
    private long workGeneration;

    IdleCollector(String label, Executor worker, ScheduledExecutorService timer, BooleanSupplier quiet) {
        this.label = label;
        this.worker = worker;
        this.timer = timer;
        this.quiet = quiet;
    }

    /** On the worker, after each job: {@code didWork} when it was more than a check that found nothing to do. */
    void afterJob(boolean didWork) {
        if (didWork) {
            worked = true;
        }
        plan();
    }

    private void plan() {
        if (!ENABLED || !worked) {
            return;
        }
        long generation = ++workGeneration;
        try {
            timer.schedule(() -> {
                try {
                    worker.execute(() -> collectNow(generation));
                } catch (RejectedExecutionException e) {
                    // shutting down
                }
            }, DELAY_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // shutting down
        }
    }

    /** On the worker: the collection {@link #plan} planned, unless work came since. */
    private void collectNow(long generation) {
        if (generation != workGeneration || !worked) {
            return;
        }
        if (!quiet.getAsBoolean()) {
            return;
        }
        worked = false;
        long t0 = System.nanoTime();
        System.gc();
        log.debug("gc when idle{} ms={}", label, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }
}
