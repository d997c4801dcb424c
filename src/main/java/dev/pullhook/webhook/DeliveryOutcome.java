package dev.pullhook.webhook;

import java.util.Locale;

/**
 * What pullhook answered a remembered delivery ({@link RecentDeliveries}), as {@code /status} shows it and
 * the deliveries journal keeps it: its lower-case name, words joined by {@code -}.
 */
public enum DeliveryOutcome {
    /** verified; being handled */
    RECEIVED,
    /** a host's test delivery */
    PONG,
    /** deliberately not deployed: another branch, a tag, a deletion, not a push */
    IGNORED,
    /** the pushed commit was checked out already */
    UP_TO_DATE,
    /** a deploy covers it */
    QUEUED,
    /** that deploy succeeded */
    DEPLOYED,
    /** that deploy failed, or none could be queued: a redelivery is handled again */
    FAILED;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The outcome written as {@code text}, or null when it names none. */
    static DeliveryOutcome parse(String text) {
        for (DeliveryOutcome o : values()) {
            if (o.toString().equals(text)) {
                return o;
            }
        }
        return null;
    }
}
