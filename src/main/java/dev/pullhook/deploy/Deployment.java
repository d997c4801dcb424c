package dev.pullhook.deploy;

import java.time.Instant;
import java.util.List;

/**
 * What one deploy did, as shown by {@code /status} and answered to {@code ?wait=true}.
 *
 * @param id         increasing number of the deploy within this daemon
 * @param trigger    what asked for it: {@code webhook}, {@code manual}, ...
 * @param deliveries the delivery ids of the requests it covered (coalesced requests share one deploy)
 * @param started    when the git work began
 * @param ms         how long it took
 * @param from       HEAD before (abbreviated), or null for an empty working copy
 * @param to         HEAD after (abbreviated), or null when it failed before the reset
 * @param outcome    {@link Outcome}
 * @param error      the reason of a failure, or null
 */
public record Deployment(long id, String trigger, List<String> deliveries, Instant started, long ms,
                         String from, String to, Outcome outcome, String error) {

    /** How a deploy ended. */
    public enum Outcome {
        DEPLOYED, FAILED, CANCELLED;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
