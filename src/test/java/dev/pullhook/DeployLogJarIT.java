package dev.pullhook;

import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.ChildJvm;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped jar's {@code pullhook deploy --follow} against the shipped jar's daemon: the deploy's phases
 * and each line of its command are printed while the deploy runs (the command waits for the test after its
 * first line, then prints slowly), then the outcome, with the exit status of a plain {@code deploy}; the
 * secret the command prints is masked, on the terminal and in the log the daemon keeps.
 */
class DeployLogJarIT {
    @TempDir
    Path dir;

    /** A running command line whose output is read line by line as it comes. */
    private static final class Cli implements AutoCloseable {
        final Process process;
        final List<String> lines = new ArrayList<>();
        private final Thread reader;

        Cli(Path dir, String... args) throws Exception {
            // the options of /usr/bin/pullhook (serial collector, C1), and the archive of the jar (ChildJvm)
            String jar = ChildDaemon.JAR.toAbsolutePath().toString();
            List<String> command = new ArrayList<>(List.of(ChildJvm.java()));
            command.addAll(ChildJvm.launch(jar, false).options());
            command.addAll(List.of("-Duser.home=" + dir, "-jar", jar));
            command.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_") || k.equals("CREDENTIALS_DIRECTORY"));
            pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
            process = pb.start();
            reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (Exception e) {
                    // the process is gone
                }
            }, "test-cli-output");
            reader.start();
        }

        List<String> lines() {
            synchronized (lines) {
                return List.copyOf(lines);
            }
        }

        int exit() throws Exception {
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), () -> "still running: " + lines());
            reader.join(10_000);
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @Test
    void deployFollowPrintsEachLineWhileTheDeployRunsThenItsOutcome() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path gate = dir.resolve("gate");
        Path broken = dir.resolve("broken");
        Path secret = Files.writeString(dir.resolve("secret"), TestDaemon.SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        int port = Ports.free();
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"))) {
            String command = "[ -e '" + broken + "' ] && { echo broken; exit 3; };"
                    + " echo line 1; while [ ! -e '" + gate + "' ] && [ -d '" + gate.getParent() + "' ]; do sleep 0.05; done;"
                    + " for i in 2 3; do echo line $i; sleep 0.3; done; printf 'token: '; cat '" + secret + "'";
            Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                    "repo.path = " + repos.site, "server.port = " + port, "deploy.on.start = false",
                    "webhook.secret.file = " + secret, "deploy.command = " + command) + "\n");
            try (ChildDaemon daemon = ChildDaemon.startJar(config, port, dir.resolve("daemon.log"))) {
                ObjectId from = repos.siteHead();
                ObjectId to = repos.pushNewCommit();
                try (Cli follow = new Cli(dir, "deploy", "--follow", "--config", config.toString())) {
                    Poll.until("line 1 on the terminal", () -> follow.lines().contains("line 1"));
                    // the command waits for the gate: the deploy has not ended, and neither has the command line
                    assertTrue(follow.process.isAlive(), follow.lines()::toString);
                    assertTrue(follow.lines().stream().noneMatch(l -> l.startsWith("deployed")), follow.lines()::toString);
                    Files.createFile(gate);
                    assertEquals(0, follow.exit(), follow.lines()::toString);
                    assertEquals(List.of("[deploy 1] queued", "[deploy 1] lock", "[deploy 1] fetch",
                            "[deploy 1] local-changes", "[deploy 1] reset", "[deploy 1] command", "line 1", "line 2",
                            "line 3", "token: ****"), follow.lines().subList(0, 10));
                    String outcome = follow.lines().get(10);
                    assertTrue(outcome.startsWith("deployed: " + from.name() + " -> " + to.name() + " ("), outcome);
                    assertEquals(11, follow.lines().size(), follow.lines()::toString);
                }
                assertEquals(to, repos.siteHead());

                // the daemon keeps the finished deploy's log, masked
                String kept = daemon.get("/deploys/1/log");
                assertTrue(kept.contains("output line 3\noutput token: ****\nend {"), kept);
                assertFalse(kept.contains(TestDaemon.SECRET), kept);

                // a failing command: its output, then the failure, and exit status 1 as without --follow
                Files.createFile(broken);
                repos.pushNewCommit();
                try (Cli follow = new Cli(dir, "deploy", "--follow", "--config", config.toString())) {
                    assertEquals(1, follow.exit(), follow.lines()::toString);
                    List<String> out = follow.lines();
                    assertTrue(out.contains("[deploy 2] command") && out.contains("broken"), out::toString);
                    assertEquals("deploy failed: deploy.command exited with status 3: broken", out.get(out.size() - 1));
                }
                assertFalse(daemon.logText().contains(TestDaemon.SECRET), "nor in the daemon's log");
            }
        }
    }

    @Test
    void theHelpExplainsFollow() throws Exception {
        try (Cli help = new Cli(dir, "deploy", "--help")) {
            assertEquals(0, help.exit());
            assertTrue(help.lines().get(0).contains("[--follow]"), help.lines()::toString);
            assertTrue(help.lines().stream().anyMatch(l -> l.strip().startsWith("--follow")), help.lines()::toString);
        }
        try (Cli wrong = new Cli(dir, "status", "--follow")) {
            assertEquals(2, wrong.exit());
            assertTrue(wrong.lines().get(0).contains("--follow goes with deploy and rollback only"), wrong.lines()::toString);
        }
    }
}
