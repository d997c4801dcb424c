package dev.pullhook.deploy;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * What one deploy did, as shown by {@code /status}, kept in the history file and answered to
 * {@code ?wait=true}. Commit ids are full; logs abbreviate them.
 *
 * @param id         increasing number of the deploy (continues across restarts)
 * @param trigger    what asked for it
 * @param deliveries the delivery ids of the requests it covered (coalesced requests share one deploy)
 * @param started    when the work began
 * @param ms         how long it took
 * @param from       HEAD before, or null for an empty working copy
 * @param to         HEAD after a successful reset, or null when it failed before
 * @param outcome    {@link Outcome}
 * @param error      the reason of a failure, or null
 * @param saved      where local work was kept before the reset (stash commit, backup ref), or null
 * @param command    the post-deploy command's exit code and last output lines, or null when none ran
 * @param check      the health check that failed ({@code command} or {@code url}), or null
 * @param restored   the commit put back after a failed health check ({@code deploy.rollback.on.failure}),
 *                   or null when nothing was restored
 */
public record Deployment(long id, Trigger trigger, List<String> deliveries, Instant started, long ms,
                         String from, String to, Outcome outcome, String error, String saved,
                         CommandResult command, String check, String restored) {

    /** A deploy that ran no health check, or whose check passed. */
    public Deployment(long id, Trigger trigger, List<String> deliveries, Instant started, long ms, String from,
                      String to, Outcome outcome, String error, String saved, CommandResult command) {
        this(id, trigger, deliveries, started, ms, from, to, outcome, error, saved, command, null, null);
    }

    /** How a deploy ended. */
    public enum Outcome {
        DEPLOYED, FAILED, CANCELLED;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** As JSON: what the history file keeps and {@code /status} shows ({@link DeploymentView}). */
    public DeploymentView view() {
        return DeploymentView.of(this);
    }

    /** {@link #view()} as a map of JSON values, in its order. */
    public java.util.Map<String, Object> toMap() {
        return MAP.convertValue(view(), new com.fasterxml.jackson.core.type.TypeReference<>() {
        });
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper MAP = new com.fasterxml.jackson.databind.ObjectMapper();

    /** An abbreviated commit id for log lines. */
    static String abbrev(String id) {
        return id == null ? null : id.substring(0, Math.min(7, id.length()));
    }
}
