package dev.pullhook.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The git command line, as a sysadmin would run it next to the daemon (bounded; fails the test on error). */
public final class GitCli {
    private GitCli() {
    }

    /** Runs {@code git -C dir args...} without the system's git config; returns its output. */
    public static String run(Path dir, String... args) {
        Tools.git();
        List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        try {
            Process git = pb.start();
            String output = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            boolean finished = git.waitFor(60, TimeUnit.SECONDS);
            if (!finished) {
                git.destroyForcibly();
            }
            assertTrue(finished, "git " + args[0] + " did not finish");
            assertEquals(0, git.exitValue(), () -> "git " + String.join(" ", args) + ": " + output);
            return output;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run git " + args[0], e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running git " + args[0], e);
        }
    }
}
