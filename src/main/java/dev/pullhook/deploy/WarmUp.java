package dev.pullhook.deploy;

import dev.pullhook.git.WorkingCopy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * What a site's worker does first at start, before any deploy: {@link WorkingCopy#warmUp} (a deploy rehearsed
 * in a temporary folder) and the history's JSON ({@link StateDir#warmUp}), so that the first deploy is not
 * the slow one. One INFO line says how it went; a failure only makes the first deploy slower.
 * {@code server.warmup = false} skips it.
 *
 * <p>Gain, off -> on (bench/tricks.sh a, small site, median of 11 side by side): first webhook after a start
 * 822 -> 404 ms (its deploy 582 -> 189 ms), for 1.1 s more CPU per start; bench/README.md "Speed tricks".
 */
final class WarmUp {
    /** Under DeployService's name, as the line has always been logged (docs/operations.md quotes it). */
    private static final Logger log = LoggerFactory.getLogger(DeployService.class);

    private WarmUp() {
    }

    /** @param label {@code " site=<name>"} for a named site, else empty */
    static void run(WorkingCopy workingCopy, String label) {
        long t0 = System.nanoTime();
        String problem = workingCopy.warmUp(scratchFolder());
        StateDir.warmUp();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (problem == null) {
            log.info("warm-up done{} ms={}", label, ms);
        } else {
            log.info("warm-up incomplete{} ms={} problem=\"{}\" (only the first deploy is slower)", label, ms, problem);
        }
    }

    /**
     * A new folder for the warm-up's rehearsal under {@code java.io.tmpdir} (under systemd the service's own
     * {@code PrivateTmp}), or null when none can be made. Not in the state folder: by default that lies inside
     * the working copy, and a working copy moved away mid-rehearsal left JGit's in-process transport waiting
     * for its timeout.
     */
    private static Path scratchFolder() {
        try {
            return Files.createTempDirectory("pullhook-warm-up-");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
