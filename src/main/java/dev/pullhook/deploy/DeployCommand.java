package dev.pullhook.deploy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code deploy.command} after a successful reset: through {@code /bin/sh -c} in the working copy,
 * with {@code PULLHOOK_FROM}, {@code PULLHOOK_TO} and {@code PULLHOOK_BRANCH} set and the daemon's secrets
 * removed from its environment. It runs in a process group of its own (via {@code setsid}), so that on
 * timeout the whole group, grandchildren included, is killed. Keeps the last lines of its output.
 */
final class DeployCommand {
    static final int TAIL_LINES = 20;
    private static final int MAX_LINE = 500;
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final String command;
    private final Path workDir;
    private final Duration timeout;

    DeployCommand(String command, Path workDir, Duration timeout) {
        this.command = command;
        this.workDir = workDir;
        this.timeout = timeout;
    }

    CommandResult run(String from, String to, String branch) throws IOException {
        List<String> argv = new ArrayList<>();
        boolean ownGroup = Files.isExecutable(SETSID);
        if (ownGroup) {
            argv.add(SETSID.toString());
        }
        argv.addAll(List.of("/bin/sh", "-c", command));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(workDir.toFile()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        // the command gets what it needs to know, never the daemon's secrets
        env.remove("PULLHOOK_SECRET");
        env.remove("CREDENTIALS_DIRECTORY");
        env.keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        env.put("PULLHOOK_FROM", from == null ? "" : from);
        env.put("PULLHOOK_TO", to);
        env.put("PULLHOOK_BRANCH", branch);
        long t0 = System.nanoTime();
        Process p = pb.start();
        p.getOutputStream().close();
        Deque<String> tail = new ArrayDeque<>();
        Thread reader = new Thread(() -> readTail(p, tail), "deploy-command-output");
        reader.setDaemon(true);
        reader.start();
        boolean finished;
        try {
            finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                killGroup(p, ownGroup);
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2_000);
        } catch (InterruptedException e) {
            killGroup(p, ownGroup);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the command ran", e);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        List<String> lines;
        synchronized (tail) {
            lines = List.copyOf(tail);
        }
        return new CommandResult(finished ? p.exitValue() : -1, !finished, ms, lines);
    }

    private static void readTail(Process p, Deque<String> tail) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String cut = line.length() > MAX_LINE ? line.substring(0, MAX_LINE) + "..." : line;
                synchronized (tail) {
                    tail.addLast(cut);
                    if (tail.size() > TAIL_LINES) {
                        tail.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            // the process was killed: keep what was read
        }
    }

    /** SIGKILL to the whole process group (the shell is its leader thanks to setsid), then to any descendant left. */
    private static void killGroup(Process p, boolean ownGroup) {
        if (ownGroup) {
            try {
                new ProcessBuilder("kill", "-KILL", "--", "-" + p.pid()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException e) {
                // fall through to the JVM's own kill
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }
}
