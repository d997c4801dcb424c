package dev.pullhook.webhook;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verified deliveries seen lately, by delivery id: a redelivery of one that is remembered is answered
 * "duplicate" and deploys nothing. Bounded in count and age. Also what {@code /status} shows, so the host's
 * delivery log can be read against pullhook's. Thread-safe.
 */
public final class RecentDeliveries {
    /** One remembered delivery: what it was and what pullhook answered. */
    public record Entry(String id, Host host, String event, Instant at, String outcome, long deployId) {
    }

    /** The outcome that lets a redelivery through again: its deploy failed, so the host may retry. */
    public static final String FAILED = "failed";

    private final int capacity;
    private final Duration maxAge;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> byId = new LinkedHashMap<>();

    public RecentDeliveries(int capacity, Duration maxAge, Clock clock) {
        this.capacity = capacity;
        this.maxAge = maxAge;
        this.clock = clock;
    }

    /** The remembered delivery with this id, if it is recent enough. */
    public synchronized Entry find(String id) {
        expire();
        return byId.get(id);
    }

    /**
     * Atomically: returns the remembered delivery with this id if there is one whose handling did not fail
     * (a duplicate), otherwise remembers this one as {@code received} and returns null.
     */
    public synchronized Entry claim(String id, Host host, String event) {
        Entry seen = find(id);
        if (seen != null && !seen.outcome().equals(FAILED)) {
            return seen;
        }
        remember(id, host, event, "received", 0);
        return null;
    }

    /** Remembers (or replaces) a delivery. */
    public synchronized void remember(String id, Host host, String event, String outcome, long deployId) {
        byId.remove(id);
        byId.put(id, new Entry(id, host, event, clock.instant(), outcome, deployId));
        expire();
        while (byId.size() > capacity) {
            byId.remove(byId.keySet().iterator().next());
        }
    }

    /** Newest first, at most {@code limit}. */
    public synchronized List<Entry> recent(int limit) {
        expire();
        List<Entry> all = new ArrayList<>(byId.values());
        List<Entry> out = new ArrayList<>(Math.min(limit, all.size()));
        for (int i = all.size() - 1; i >= 0 && out.size() < limit; i--) {
            out.add(all.get(i));
        }
        return out;
    }

    private void expire() {
        Instant oldest = clock.instant().minus(maxAge);
        var it = byId.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Entry> e = it.next();
            if (e.getValue().at().isBefore(oldest)) {
                it.remove();
            } else {
                break;
            }
        }
    }
}
