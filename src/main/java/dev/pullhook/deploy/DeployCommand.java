package dev.pullhook.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs {@code deploy.command} after a successful reset: through {@code /bin/sh -c} in the working copy, with
 * the environment of {@link #environment}: the deploy's facts in, the daemon's configuration and secrets
 * out. It runs in a process group of its own (via {@code setsid}), so that on timeout the whole group,
 * grandchildren included, is killed. Keeps a bounded tail of its output, credentials masked
 * ({@link SecretRedactor}), however much it prints, and hands each masked line to the deploy's live log as it
 * comes ({@link LiveLog}, bounded too); it does not keep the rest anywhere.
 */
final class DeployCommand {
    /** At most this many lines of output are kept: the last ones. */
    static final int TAIL_LINES = 20;
    /** Each kept line is cut to this many characters (then {@code ...}). */
    static final int MAX_LINE_CHARS = 500;
    /** The kept lines together (UTF-8, one newline each) are at most this long: older lines go first. */
    static final int MAX_OUTPUT_BYTES = 4096;
    /**
     * Every variable pullhook reads for itself starts with this (each key's override, {@code PULLHOOK_SECRET},
     * {@code PULLHOOK_SITE_<NAME>_SECRET}: see {@code ConfigLoader}); none reaches the command.
     */
    private static final String DAEMON_PREFIX = "PULLHOOK_";
    /** Where systemd hands the daemon its credentials ({@code LoadCredential=}). */
    private static final String CREDENTIALS = "CREDENTIALS_DIRECTORY";
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private final String command;
    private final Path workDir;
    private final Duration timeout;
    private final SecretRedactor redactor;
    /**
     * At each run, where the lines of that run go as they are read (the deploy's live log): the same masked,
     * cut lines the tail keeps. Asked once per run, so a process the command left behind never writes into a
     * later deploy's log.
     */
    private final Supplier<Consumer<String>> live;

    DeployCommand(String command, Path workDir, Duration timeout, SecretRedactor redactor,
                  Supplier<Consumer<String>> live) {
        this.command = command;
        this.workDir = workDir;
        this.timeout = timeout;
        this.redactor = redactor;
        this.live = live;
    }

    /**
     * The command's environment: the daemon's own ({@code PATH}, {@code HOME}, {@code LANG}, whatever the
     * unit or the shell set) without any {@code PULLHOOK_*} variable and without
     * {@code CREDENTIALS_DIRECTORY}, plus {@code PULLHOOK_FROM} (HEAD before, empty for a first deploy),
     * {@code PULLHOOK_TO} (the commit deployed) and {@code PULLHOOK_BRANCH}. A prefix rather than a list of
     * names, so that a key added to the config later is kept from the command too.
     */
    static Map<String, String> environment(Map<String, String> daemon, String from, String to, String branch) {
        Map<String, String> env = new TreeMap<>(daemon);
        env.keySet().removeIf(k -> k.startsWith(DAEMON_PREFIX) || k.equals(CREDENTIALS));
        env.put("PULLHOOK_FROM", from == null ? "" : from);
        env.put("PULLHOOK_TO", to);
        env.put("PULLHOOK_BRANCH", branch);
        return env;
    }

    CommandResult run(String from, String to, String branch) throws IOException {
        return run(workDir, from, to, branch);
    }

    /** Runs in {@code dir} instead of {@code repo.path}: an atomic deploy's new release folder. */
    CommandResult run(Path dir, String from, String to, String branch) throws IOException {
        List<String> argv = new ArrayList<>();
        boolean ownGroup = Files.isExecutable(SETSID);
        if (ownGroup) {
            argv.add(SETSID.toString());
        }
        argv.addAll(List.of("/bin/sh", "-c", command));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        Map<String, String> wanted = environment(env, from, to, branch);
        env.clear();
        env.putAll(wanted);
        long t0 = System.nanoTime();
        Process p = pb.start();
        p.getOutputStream().close();
        Deque<String> tail = new ArrayDeque<>();
        Consumer<String> toLive = live.get();
        Thread reader = new Thread(() -> readTail(p.getInputStream(), tail, toLive), "deploy-command-output");
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
            lines = capped(List.copyOf(tail));
        }
        return new CommandResult(finished ? p.exitValue() : -1, !finished, ms, lines);
    }

    /**
     * Reads the output to its end, keeping the last {@link #TAIL_LINES} lines, masked and cut. Never holds
     * more than one line's first {@link #MAX_LINE_CHARS} characters (plus the longest secret's length, so a
     * secret across the cut is masked whole) besides the tail: a command printing gigabytes without a
     * newline costs no memory. A line ends at {@code \n}, {@code \r} or {@code \r\n}, as for
     * {@link java.io.BufferedReader#readLine()}.
     */
    private void readTail(InputStream stream, Deque<String> tail, Consumer<String> lines) {
        int keep = MAX_LINE_CHARS + redactor.longest();
        StringBuilder line = new StringBuilder();
        boolean dropped = false;
        boolean afterCr = false;
        char[] buf = new char[8192];
        try (Reader in = new InputStreamReader(stream, StandardCharsets.UTF_8)) {
            int n;
            while ((n = in.read(buf)) != -1) {
                for (int i = 0; i < n; i++) {
                    char c = buf[i];
                    if (c == '\n' && afterCr) {
                        afterCr = false;
                        continue;
                    }
                    afterCr = c == '\r';
                    if (c == '\n' || c == '\r') {
                        keepLine(line, dropped, tail, lines);
                        line.setLength(0);
                        dropped = false;
                    } else if (line.length() < keep) {
                        line.append(c);
                    } else {
                        dropped = true;
                    }
                }
            }
        } catch (IOException e) {
            // the process was killed: keep what was read
        }
        if (line.length() > 0 || dropped) {
            keepLine(line, dropped, tail, lines);
        }
    }

    private void keepLine(CharSequence raw, boolean dropped, Deque<String> tail, Consumer<String> lines) {
        String kept = redactor.redactLine(raw, MAX_LINE_CHARS, dropped);
        synchronized (tail) {
            tail.addLast(kept);
            if (tail.size() > TAIL_LINES) {
                tail.removeFirst();
            }
        }
        lines.accept(kept);
    }

    /** The newest lines that fit in {@link #MAX_OUTPUT_BYTES}, oldest first. */
    static List<String> capped(List<String> lines) {
        int bytes = 0;
        int first = lines.size();
        while (first > 0) {
            int size = lines.get(first - 1).getBytes(StandardCharsets.UTF_8).length + 1;
            if (bytes + size > MAX_OUTPUT_BYTES) {
                break;
            }
            bytes += size;
            first--;
        }
        return List.copyOf(lines.subList(first, lines.size()));
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
