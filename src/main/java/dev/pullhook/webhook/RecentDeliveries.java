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
 * delivery log can be read against pullhook's. The nonces of manual requests are remembered here too, so
 * that each is accepted once. Kept in a journal file in {@code state.dir} (one line per change, compacted
 * when it grows past twice the bound), so a redelivery after a restart is still a duplicate. Thread-safe.
 */
public final class RecentDeliveries {
    /** One remembered delivery: what it was and what pullhook answered. */
    public record Entry(String id, Host host, String event, Instant at, DeliveryOutcome outcome, long deployId) {
    }

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RecentDeliveries.class);
    private static final java.nio.file.attribute.FileAttribute<java.util.Set<java.nio.file.attribute.PosixFilePermission>>
            PRIVATE = java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    private final int capacity;
    private final Duration maxAge;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> byId = new LinkedHashMap<>();
    /** The journal, or null: in memory only (tests, or after a write failed). */
    private java.nio.file.Path journal;
    private int journalLines;

    public RecentDeliveries(int capacity, Duration maxAge, Clock clock) {
        this(capacity, maxAge, clock, null);
    }

    /** @param journal where the deliveries are kept across restarts (read now), or null for memory only */
    public RecentDeliveries(int capacity, Duration maxAge, Clock clock, java.nio.file.Path journal) {
        this.capacity = capacity;
        this.maxAge = maxAge;
        this.clock = clock;
        this.journal = journal;
        if (journal != null) {
            load();
        }
    }

    private void load() {
        if (!java.nio.file.Files.exists(journal)) {
            return;
        }
        try {
            for (String line : java.nio.file.Files.readAllLines(journal, java.nio.charset.StandardCharsets.UTF_8)) {
                Entry e = parse(line);
                if (e != null) {
                    byId.remove(e.id());
                    byId.put(e.id(), e);
                    journalLines++;
                }
            }
            expire();
            while (byId.size() > capacity) {
                byId.remove(byId.keySet().iterator().next());
            }
            compact();
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("deliveries file={} cannot be read ({}): redeliveries from before this start are not known",
                    journal, e.toString());
        }
    }

    private static Entry parse(String line) {
        String[] f = line.split("\t", 6);
        if (f.length != 6) {
            return null;
        }
        try {
            Host host = null;
            for (Host h : Host.values()) {
                if (h.toString().equals(f[3])) {
                    host = h;
                }
            }
            DeliveryOutcome outcome = DeliveryOutcome.parse(f[1]);
            return host == null || outcome == null ? null : new Entry(f[5], host, f[4],
                    Instant.ofEpochMilli(Long.parseLong(f[0])), outcome, Long.parseLong(f[2]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String line(Entry e) {
        return e.at().toEpochMilli() + "\t" + e.outcome() + "\t" + e.deployId() + "\t" + e.host() + "\t"
                + e.event().replaceAll("[\\t\\r\\n]", "?") + "\t" + e.id().replaceAll("[\\t\\r\\n]", "?") + "\n";
    }

    private void append(Entry e) {
        if (journal == null) {
            return;
        }
        try {
            if (journalLines >= 2 * capacity) {
                compact();
                return;
            }
            if (!java.nio.file.Files.exists(journal)) {
                java.nio.file.Files.createFile(journal, PRIVATE);
            }
            java.nio.file.Files.writeString(journal, line(e), java.nio.charset.StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.APPEND);
            journalLines++;
        } catch (java.io.IOException | RuntimeException ex) {
            gaveUp(ex);
        }
    }

    /** Rewrites the journal with what is remembered now (through a new file, renamed over the old one). */
    private void compact() {
        if (journal == null) {
            return;
        }
        try {
            java.nio.file.Path tmp = journal.resolveSibling(journal.getFileName() + ".new");
            java.nio.file.Files.deleteIfExists(tmp);
            StringBuilder all = new StringBuilder();
            byId.values().forEach(e -> all.append(line(e)));
            java.nio.file.Files.createFile(tmp, PRIVATE);
            java.nio.file.Files.writeString(tmp, all, java.nio.charset.StandardCharsets.UTF_8);
            java.nio.file.Files.move(tmp, journal, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            journalLines = byId.size();
        } catch (java.io.IOException | RuntimeException ex) {
            gaveUp(ex);
        }
    }

    private void gaveUp(Exception ex) {
        log.warn("deliveries file={} cannot be written ({}): from now on they are kept in memory only", journal,
                ex.toString());
        journal = null;
    }

    /** The remembered delivery with this id, if it is recent enough. */
    public synchronized Entry find(String id) {
        expire();
        return byId.get(id);
    }

    /**
     * Atomically: returns the remembered delivery with this id if there is one whose handling did not fail
     * (a duplicate), otherwise remembers this one as {@link DeliveryOutcome#RECEIVED} and returns null. A
     * delivery whose deploy {@link DeliveryOutcome#FAILED} may come again: the host retries it.
     */
    public synchronized Entry claim(String id, Host host, String event) {
        Entry seen = find(id);
        if (seen != null && seen.outcome() != DeliveryOutcome.FAILED) {
            return seen;
        }
        remember(id, host, event, DeliveryOutcome.RECEIVED, 0);
        return null;
    }

    /** Remembers (or replaces) a delivery. */
    public synchronized void remember(String id, Host host, String event, DeliveryOutcome outcome, long deployId) {
        byId.remove(id);
        Entry entry = new Entry(id, host, event, clock.instant(), outcome, deployId);
        byId.put(id, entry);
        append(entry);
        expire();
        while (byId.size() > capacity) {
            byId.remove(byId.keySet().iterator().next());
        }
    }

    /** Newest first, at most {@code limit}; the nonces of manual requests are not deliveries and are left out. */
    public synchronized List<Entry> recent(int limit) {
        expire();
        List<Entry> all = new ArrayList<>(byId.values());
        List<Entry> out = new ArrayList<>(Math.min(limit, all.size()));
        for (int i = all.size() - 1; i >= 0 && out.size() < limit; i--) {
            if (!all.get(i).id().startsWith(WebhookReceiver.NONCE)) {
                out.add(all.get(i));
            }
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
