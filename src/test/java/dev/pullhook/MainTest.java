package dev.pullhook;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Main's exit statuses for usage and configuration errors. Only arguments and files that fail whatever the
 * machine's environment holds are used, since {@code Main.run} reads {@link System#getenv()}; none of these
 * tests can start a daemon.
 */
class MainTest {
    @TempDir
    Path dir;

    /** Runs Main with System.err and System.out (where the daemon logs) captured; returns the exit status. */
    private static synchronized int run(StringBuilder err, String... args) {
        PrintStream originalErr = System.err;
        PrintStream originalOut = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        System.setErr(both);
        System.setOut(both);
        try {
            return Main.run(args);
        } finally {
            System.setErr(originalErr);
            System.setOut(originalOut);
            err.append(buffer.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void configFileWithErrorsExitsWithStatus2() throws Exception {
        // an unknown key is a problem whatever the environment provides (a secret, a repo.path override...)
        Path config = Files.writeString(dir.resolve("config.properties"),
                "repo.path=" + dir.resolve("nowhere") + "\nno.such.key=1\nserver.port=abc\n");
        assertEquals(2, run(new StringBuilder(), "--config", config.toString()));
        assertEquals(2, run(new StringBuilder(), "-c", config.toString()));
    }

    @Test
    void missingConfigFileExitsWithStatus2AndSaysWhichFile() {
        StringBuilder err = new StringBuilder();
        Path missing = dir.resolve("missing.properties");
        assertEquals(2, run(err, "--config", missing.toString()));
        assertTrue(err.toString().contains(missing.toString()), err::toString);
    }

    @Test
    void configOptionWithoutAFileExitsWithStatus2() {
        StringBuilder err = new StringBuilder();
        assertEquals(2, run(err, "--config"));
        assertTrue(err.toString().contains("usage:"), err::toString);
    }

    @Test
    void unknownArgumentExitsWithStatus2WithoutEchoingAValue() {
        StringBuilder err = new StringBuilder();
        assertEquals(2, run(err, "--nope"));
        assertTrue(err.toString().contains("--nope"), err::toString);

        StringBuilder err2 = new StringBuilder();
        assertEquals(2, run(err2, "maybe-a-secret-value"));
        assertTrue(!err2.toString().contains("maybe-a-secret-value"), err2::toString);
    }

    @Test
    void helpAndVersionExitWith0() {
        assertEquals(0, run(new StringBuilder(), "--help"));
        assertEquals(0, run(new StringBuilder(), "--version"));
        assertEquals(0, run(new StringBuilder(), "version"));
    }

    @Test
    void childProcessesAreForkedWithoutTheJdksSpawnHelperUnlessTheUserChoseAMechanism() {
        String before = System.getProperty(Main.LAUNCH_MECHANISM);
        try {
            System.clearProperty(Main.LAUNCH_MECHANISM);
            Main.spawnWithoutHelper();
            assertEquals(System.getProperty("os.name").startsWith("Linux") ? "FORK" : null,
                    System.getProperty(Main.LAUNCH_MECHANISM));

            System.setProperty(Main.LAUNCH_MECHANISM, "POSIX_SPAWN");
            Main.spawnWithoutHelper();
            assertEquals("POSIX_SPAWN", System.getProperty(Main.LAUNCH_MECHANISM), "a -D setting wins");
        } finally {
            if (before == null) {
                System.clearProperty(Main.LAUNCH_MECHANISM);
            } else {
                System.setProperty(Main.LAUNCH_MECHANISM, before);
            }
        }
    }
}
