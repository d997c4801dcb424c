package dev.pullhook.deploy;

import java.util.List;

/**
 * How the post-deploy command ended.
 *
 * @param exitCode its exit status, or -1 when it was killed for taking too long
 * @param timedOut true when {@code deploy.command.timeout.seconds} ran out and its process group was killed
 * @param ms       how long it ran
 * @param output   its last lines of output (stdout and stderr together), each cut to a sane length
 */
public record CommandResult(int exitCode, boolean timedOut, long ms, List<String> output) {
    public boolean succeeded() {
        return exitCode == 0 && !timedOut;
    }
}
