package dev.pullhook.deploy;

import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The marker of a deploy in progress ({@code deploy.running} in the state folder), left behind only when the
 * process died mid-deploy: one line, {@code deploy=<id> trigger=<trigger> phase=<phase> pid=<pid> at=<time>}.
 * Read leniently: a damaged marker, or one of another version, still says that a deploy was interrupted.
 *
 * @param deployId the interrupted deploy's id, or 0 when the marker does not say
 * @param phase    the phase it died in, or null when the marker names none this version knows
 * @param text     the marker as found, for the log
 */
record CrashMarker(long deployId, Phase phase, String text) {
    private static final Pattern DEPLOY = Pattern.compile("deploy=(\\d+)");
    private static final Pattern PHASE = Pattern.compile("phase=(\\S+)");

    /** The marker's line for deploy {@code id} in {@code phase}. */
    static String line(long id, Trigger trigger, Phase phase, long pid, Instant at) {
        return "deploy=" + id + " trigger=" + trigger + " phase=" + phase + " pid=" + pid + " at=" + at;
    }

    static CrashMarker parse(String text) {
        Matcher id = DEPLOY.matcher(text);
        Matcher phase = PHASE.matcher(text);
        long deployId = 0;
        try {
            deployId = id.find() ? Long.parseLong(id.group(1)) : 0;
        } catch (NumberFormatException e) {
            // a damaged number: the marker still says a deploy was interrupted
        }
        return new CrashMarker(deployId, phase.find() ? Phase.parse(phase.group(1)) : null, text);
    }

    /** Whether the tracked files are the interrupted reset's own half-written ones ({@link Phase#afterReset}). */
    boolean halfReset() {
        return phase != null && phase.afterReset();
    }
}
