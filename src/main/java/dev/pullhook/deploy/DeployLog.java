package dev.pullhook.deploy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/**
 * What one deploy has reported so far, in order: its phases, each line of {@code deploy.command}'s output
 * (already masked and cut by {@link SecretRedactor}, as the history keeps it), and at last its outcome. The
 * deploy appends and never waits; any number of readers follow it at their own pace, each with its own
 * position. Bounded: past {@link #MAX_LINES} events or {@link #MAX_BYTES} bytes of text the oldest go, and a
 * reader still behind them is told it was cut. Thread-safe.
 */
public final class DeployLog {
    /** Events kept per deploy: the newest ones. */
    public static final int MAX_LINES = 2_000;
    /** Text kept per deploy (UTF-8): the newest. */
    public static final int MAX_BYTES = 256 * 1024;

    /** What an event says. */
    public enum Kind {
        /** a step of the deploy begins: {@code queued}, {@code lock}, {@code fetch}, ... {@code command} */
        PHASE,
        /** one line of {@code deploy.command}'s output */
        OUTPUT,
        /** the outcome, as JSON; always the last event */
        END;

        /** The event's name on the wire ({@code phase}, {@code output}, {@code end}). */
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One event; {@code seq} counts from 0 and never repeats within the log. */
    public record Event(long seq, Kind kind, String data) {
    }

    /**
     * What a reader gets from {@link #read}: the events after its position (possibly none), how many it
     * missed because they were no longer kept, and whether there is nothing more to come.
     */
    public record Batch(List<Event> events, long missed, boolean finished) {
    }

    private final long id;
    private final Deque<Event> events = new ArrayDeque<>();
    private long nextSeq;
    private long bytes;
    private boolean ended;
    /** Set when the log is dropped before its end (evicted, or the daemon stops): readers stop. */
    private String closed;

    DeployLog(long id) {
        this.id = id;
    }

    public long id() {
        return id;
    }

    /** Whether the outcome has come (or the log was closed without one). */
    public synchronized boolean finished() {
        return ended || closed != null;
    }

    /** Why the log was closed before its end, or null. */
    public synchronized String closedBecause() {
        return closed;
    }

    /** Bytes of text held (UTF-8, one per event for its newline). */
    synchronized long bytes() {
        return bytes;
    }

    /** Appends an event; ignored after the end. Never blocks on a reader. */
    synchronized void append(Kind kind, String data) {
        if (ended || closed != null) {
            return;
        }
        events.addLast(new Event(nextSeq++, kind, data));
        bytes += size(data);
        // the end is never dropped: only the events before it make room
        while (events.size() > 1 && (events.size() > MAX_LINES || bytes > MAX_BYTES)) {
            bytes -= size(events.removeFirst().data());
        }
        if (kind == Kind.END) {
            ended = true;
        }
        notifyAll();
    }

    /** Stops every reader; nothing more is appended. */
    synchronized void close(String why) {
        if (!ended && closed == null) {
            closed = why;
            notifyAll();
        }
    }

    /**
     * The events from {@code from} on (at most {@code max}), waiting up to {@code waitMs} for one when there
     * is none yet and more may come. Returns at once when there are events, when the log is finished, or
     * when the wait is over (then with no events: time for a keep-alive).
     *
     * @param from the seq of the first event wanted (0 for all)
     */
    public synchronized Batch read(long from, int max, long waitMs) throws InterruptedException {
        long deadline = System.nanoTime() + waitMs * 1_000_000;
        while (from >= nextSeq && !ended && closed == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return new Batch(List.of(), 0, false);
            }
            wait(Math.max(1, left / 1_000_000));
        }
        long first = events.isEmpty() ? nextSeq : events.peekFirst().seq();
        long missed = Math.max(0, first - from);
        List<Event> out = new ArrayList<>(Math.min(max, events.size()));
        for (Event e : events) {
            if (e.seq() >= from) {
                if (out.size() == max) {
                    break;
                }
                out.add(e);
            }
        }
        boolean done = (ended || closed != null) && (out.isEmpty() || out.get(out.size() - 1).seq() == nextSeq - 1);
        return new Batch(out, missed, done);
    }

    private static long size(String data) {
        return data.getBytes(StandardCharsets.UTF_8).length + 1L;
    }
}
