package dev.pullhook.webhook;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * How many rejected requests of one client address get their log lines: the first {@code perMinute} of
 * each minute; the rest are counted, and one line says how many were not logged. A flood of forged
 * requests then costs a few lines a minute instead of two per request: it neither fills the disk nor
 * trips journald's rate limit (which would drop the daemon's real messages too), and it keeps the
 * rejection path cheap. Thread-safe; bounded in the number of addresses it remembers.
 */
public final class RejectionLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RejectionLog.class);
    private static final long WINDOW_MS = 60_000;
    private static final int MAX_CLIENTS = 10_000;

    private final int perMinute;
    private final LongSupplier clockMs;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    private static final class Window {
        final long start;
        /** Rejections in this window so far; those past {@code perMinute} were only counted. */
        final AtomicLong seen = new AtomicLong();

        Window(long start) {
            this.start = start;
        }

        long suppressed(int perMinute) {
            return Math.max(0, seen.get() - perMinute);
        }
    }

    private java.util.concurrent.ScheduledExecutorService sweeper;

    public RejectionLog(int perMinute, LongSupplier clockMs) {
        this.perMinute = perMinute;
        this.clockMs = clockMs;
    }

    /** Reports finished minutes every minute, so a flood that stopped still gets its count logged. */
    public synchronized RejectionLog start() {
        if (sweeper == null) {
            sweeper = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "rejection-log");
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(() -> sweep(clockMs.getAsLong(), false), WINDOW_MS, WINDOW_MS,
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        return this;
    }

    @Override
    public synchronized void close() {
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper = null;
        }
        sweep(clockMs.getAsLong(), true);
    }

    /** True when this rejection of {@code client} may be logged; false when it is only counted. */
    public boolean mayLog(String client) {
        long now = clockMs.getAsLong();
        // a flood comes from few addresses: the current window is usually there, and then a single atomic
        // increment is all a rejection costs (no lock for the many threads of one flooding client)
        Window w = windows.get(client);
        if (w == null || now - w.start >= WINDOW_MS) {
            if (windows.size() > MAX_CLIENTS) {
                sweep(now, true);
            }
            w = windows.compute(client, (c, old) -> {
                if (old == null || now - old.start >= WINDOW_MS) {
                    if (old != null && old.suppressed(perMinute) > 0) {
                        report(c, old, perMinute);
                    }
                    return new Window(now);
                }
                return old;
            });
        }
        long n = w.seen.incrementAndGet();
        if (n <= perMinute) {
            return true;
        }
        if (n == perMinute + 1L) {
            log.warn("rejections client={} more than {} rejected requests this minute: the rest are counted,"
                    + " not logged", client, perMinute);
        }
        return false;
    }

    /** Reports the counts of finished minutes (and forgets them); with {@code all}, every minute. */
    public void sweep(long now, boolean all) {
        windows.entrySet().removeIf(e -> {
            Window w = e.getValue();
            if (all || now - w.start >= WINDOW_MS) {
                if (w.suppressed(perMinute) > 0) {
                    report(e.getKey(), w, perMinute);
                }
                return true;
            }
            return false;
        });
    }

    private static void report(String client, Window w, int perMinute) {
        log.warn("rejections client={} not_logged={} in the minute from {}", client, w.suppressed(perMinute),
                java.time.Instant.ofEpochMilli(w.start));
    }
}
