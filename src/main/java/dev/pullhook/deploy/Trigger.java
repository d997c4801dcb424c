package dev.pullhook.deploy;

import java.util.Locale;

/**
 * What asked for a deploy. Written as its lower-case name in {@code /status}, the history file, the crash
 * marker and log lines ({@code trigger=webhook}); history files of every earlier version use these words.
 */
public enum Trigger {
    /** a verified push from a git host */
    WEBHOOK,
    /** a signed request without a git host's headers, or {@code pullhook deploy} */
    MANUAL,
    /** the check at start ({@code deploy.on.start}) */
    START,
    /** the check every {@code deploy.poll.seconds} */
    POLL,
    /** the deploy at start after the previous process died mid-deploy */
    RECOVERY,
    /** {@code POST /rollback} or {@code pullhook rollback} */
    ROLLBACK;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The trigger written as {@code text}. */
    static Trigger parse(String text) {
        return valueOf(text.toUpperCase(Locale.ROOT));
    }
}
