package dev.pullhook;

import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import dev.pullhook.testing.Tools;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the shipped unit {@code systemd/pullhook.service} with the real {@code systemd-analyze} (it works
 * offline, without systemd running as init): {@code verify} finds nothing to say, {@code security
 * --offline=true} rates the exposure at most 2.0, the JVM accepts the unit's options, the daemon starts and
 * deploys with them, and the settings the daemon relies on are there. It does not start the unit itself:
 * this machine has no systemd as PID 1.
 */
class SystemdUnitIT {
    private static final Path UNIT = Path.of(System.getProperty("user.dir"), "systemd", "pullhook.service");
    private static final double MAX_EXPOSURE = 2.0;
    private static final Pattern EXPOSURE = Pattern.compile("Overall exposure level for \\S+: (\\d+(?:\\.\\d+)?)");

    @TempDir
    Path tmp;

    /**
     * The unit, copied to a temporary folder (verify reads it from there). When {@code /usr/bin/java} does
     * not exist on this machine, ExecStart is pointed at the JVM running this test: verify checks that the
     * command exists, and nothing else about the unit changes.
     */
    private Path unitCopy() throws IOException {
        String text = Files.readString(UNIT, StandardCharsets.UTF_8);
        if (!Files.isExecutable(Path.of("/usr/bin/java"))) {
            String java = ProcessHandle.current().info().command().orElseThrow();
            text = text.replace("ExecStart=/usr/bin/java ", "ExecStart=" + java + " ");
        }
        Path copy = tmp.resolve("pullhook.service");
        Files.writeString(copy, text, StandardCharsets.UTF_8);
        return copy;
    }

    /** Skipped with the reason when it is missing (failed under CI=true). */
    private static String systemdAnalyze() {
        return Tools.systemdAnalyze().toString();
    }

    /** Runs a command, returns exit status and the merged output. */
    private static Result run(Path dir, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("SYSTEMD_PAGER", "cat");
        pb.environment().put("SYSTEMD_COLORS", "0");
        pb.environment().put("SYSTEMD_LOG_COLOR", "0");
        Process p = pb.start();
        try {
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
            return new Result(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    private record Result(int exit, String output) {
    }

    /**
     * {@code systemd-analyze verify} prints nothing for a good unit (exit 0 even for warnings such as an
     * unknown key, which is why the output must be empty). No line is tolerated: with systemd 252 the
     * user {@code pullhook}, which does not exist on a build machine, is not reported, and the dependencies
     * named (network-online.target, multi-user.target) ship with the systemd package.
     */
    @Test
    void verifyFindsNothingToSay() throws Exception {
        Path unit = unitCopy();
        Result r = run(tmp, systemdAnalyze(), "verify", "--no-pager", unit.toString());
        assertEquals("", r.output().strip(), "systemd-analyze verify must print nothing");
        assertEquals(0, r.exit(), "systemd-analyze verify exit status");
    }

    @Test
    void securityExposureIsAtMostTwo() throws Exception {
        Path unit = unitCopy();
        // --threshold is on the 0-100 scale of the printed 0.0-10.0 level: 20 = 2.0; above it, exit != 0
        Result r = run(tmp, systemdAnalyze(), "security", "--offline=true", "--no-pager",
                "--threshold=" + Math.round(MAX_EXPOSURE * 10), unit.toString());
        Matcher m = EXPOSURE.matcher(r.output());
        assertTrue(m.find(), "no overall exposure in:\n" + r.output());
        double exposure = Double.parseDouble(m.group(1));
        System.out.println("systemd-analyze security --offline=true: overall exposure " + exposure);
        assertTrue(exposure <= MAX_EXPOSURE, "exposure " + exposure + " > " + MAX_EXPOSURE + ":\n" + r.output());
        assertEquals(0, r.exit(), r.output());
    }

    /** A typo in a -XX option would stop the service at every start: the JVM running this test must take them all. */
    @Test
    void theJvmAcceptsTheUnitsOptions() throws Exception {
        List<String> options = jvmOptions(execStart(Files.readString(UNIT)));
        assertTrue(options.contains("-XX:+UseSerialGC") && options.contains("-Xmx64m")
                && options.contains("-XX:TieredStopAtLevel=1") && options.contains("-Xshare:auto"), options.toString());
        assertTrue(options.contains("-XX:MaxHeapFreeRatio=40") && options.contains("-XX:-ShrinkHeapInSteps"),
                options.toString());
        assertTrue(options.stream().anyMatch(o -> o.startsWith("-XX:SharedArchiveFile=/var/lib/pullhook/")), options.toString());
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(awayFromTheMachinesInstall(options));
        command.add("-version");
        Result r = run(tmp, command.toArray(String[]::new));
        assertEquals(0, r.exit(), r.output());
        // the archive does not exist (a path of this test's own): -Xshare:auto must start anyway, and quietly
        assertFalse(r.output().toLowerCase().contains("warning"), r.output());
        assertFalse(r.output().toLowerCase().contains("error"), r.output());
    }

    /**
     * The daemon itself, started with exactly the unit's JVM options (its home and CDS archive path moved to
     * a temporary folder, where no archive exists, so -Xshare:auto runs without it): it answers, its warm-up
     * finishes, it deploys a push within the unit's 64 MB heap, and it never starts JMX (Main answers
     * Jetty's one question to it, see {@link Main#avoidJmxInJetty()}).
     */
    @Test
    void theDaemonStartsWarmsUpAndDeploysWithTheUnitsJvmOptions() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Path secret = Files.writeString(tmp.resolve("secret"), TestDaemon.SECRET + "\n");
        int port = Ports.free();
        Path config = Files.writeString(tmp.resolve("config.properties"), "repo.path=" + repos.site
                + "\nwebhook.secret.file=" + secret + "\nserver.port=" + port + "\n");
        Path log = tmp.resolve("daemon.log");
        Path classes = tmp.resolve("classes.log");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(awayFromTheMachinesInstall(jvmOptions(execStart(Files.readString(UNIT)))));
        Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
        command.addAll(List.of("-Xlog:class+load=info:file=" + classes, "-Djava.io.tmpdir=" + javaTmp,
                "-cp", System.getProperty("java.class.path"),
                "dev.pullhook.Main", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        // a service gets no locale unless the system has one: only the unit's Environment= lines count
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_") || k.startsWith("LC_") || k.equals("LANG")
                || k.equals("LANGUAGE"));
        pb.environment().putAll(environment(Files.readString(UNIT)));
        pb.environment().put("XDG_CONFIG_HOME", tmp.resolve("xdg").toString());
        Process daemon = pb.start();
        try {
            // the start-up check (deploy.on.start) waits behind the warm-up on the deploy worker: idle, both are done
            Poll.until("the daemon idle after its warm-up and start-up check", () -> idle(port));
            try (Stream<Path> left = Files.list(javaTmp)) {
                assertEquals(List.of(), left.toList(), "the rehearsal's scratch folder is removed");
            }
            ObjectId tip = repos.commitAndPush("caf\u00e9 \u2603.html", "<p>menu</p>\n", "a name that is not ASCII");
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/pull-repo?wait=true"))
                    .header("X-Pullhook-Auth", Signatures.manual(TestDaemon.SECRET, "/pull-repo", new byte[0]))
                    .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(tip, repos.siteHead());
            try (Stream<Path> files = Files.list(repos.site)) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().equals("caf\u00e9 \u2603.html")),
                        "the file has its name (the unit's LANG=C.UTF-8)");
            }
            assertFalse(logHas(log, "tree watch off"), "the tree watch is on");
            assertFalse(logHas(log, "not UTF-8"), "no warning about file names");
            String loaded = Files.readString(classes);
            assertTrue(loaded.contains("dev.pullhook.git.DeployRehearsal"), "class logging works");
            assertFalse(loaded.contains("javax.management.MBeanServer "), "JMX was started");
        } finally {
            daemon.destroy();
            daemon.waitFor(30, TimeUnit.SECONDS);
            daemon.destroyForcibly();
            repos.close();
            System.out.println("--- daemon log ---\n" + Files.readString(log));
        }
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static boolean idle(int port) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body()
                    .contains("\"state\":\"idle\"");
        } catch (IOException e) {
            return false;  // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean logHas(Path log, String text) {
        try {
            return Files.exists(log) && Files.readString(log).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void unitHasWhatTheDaemonReliesOn() throws IOException {
        String unit = Files.readString(UNIT);
        List<String> lines = unit.lines().map(String::strip).filter(l -> !l.startsWith("#")).toList();
        for (String needed : List.of("User=pullhook", "LoadCredential=webhook-secret:/etc/pullhook/secret",
                "StateDirectory=pullhook", "Restart=on-failure", "RestartPreventExitStatus=2",
                "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=")) {
            assertTrue(lines.contains(needed), "missing " + needed);
        }
        assertTrue(unit.contains("#LoadCredential=git-password:"), "the git-password credential is shown");
        assertTrue(unit.contains("state.dir = /var/lib/pullhook"), "the unit says which state.dir to set");
        assertTrue(lines.stream().noneMatch(l -> l.matches("MemoryDenyWriteExecute\\s*=\\s*(yes|true|1|on)")),
                "MemoryDenyWriteExecute=yes kills the JIT");
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("ProcSubset=")),
                "ProcSubset=pid hides /proc/mounts: JGit's file-store lookup then fails on every deploy");
        String exec = execStart(unit);
        assertTrue(exec.contains("-Duser.home=/var/lib/pullhook"), exec);
        assertTrue(exec.contains("-Dorg.slf4j.simpleLogger.showDateTime=false"), exec);
        assertTrue(lines.contains("Environment=XDG_CONFIG_HOME=/var/lib/pullhook/.config GIT_CONFIG_NOSYSTEM=1"));
        assertTrue(lines.contains("Environment=LANG=C.UTF-8"), "file names are UTF-8 whatever the system's locale");
        long stop = lines.stream().filter(l -> l.startsWith("TimeoutStopSec=")).mapToLong(l -> Long.parseLong(
                l.substring("TimeoutStopSec=".length()).replace("s", ""))).findFirst().orElse(0);
        // shutdown.drain.seconds (30) plus Jetty's graceful stop (5 s), with room to spare
        assertTrue(stop > 35, "TimeoutStopSec=" + stop + " must exceed shutdown.drain.seconds + the HTTP stop");
    }

    /**
     * The unit's JVM options with its paths on the machine ({@code /var/lib/pullhook}: the CDS archive, the
     * home) moved into this test's folder, where nothing exists yet: a test must not read what an install on
     * this machine left there (a CDS archive made by another JDK makes the JVM warn at start).
     */
    private List<String> awayFromTheMachinesInstall(List<String> options) {
        List<String> out = new ArrayList<>();
        for (String option : options) {
            if (option.startsWith("-XX:SharedArchiveFile=")) {
                out.add("-XX:SharedArchiveFile=" + tmp.resolve("cds").resolve("pullhook.jsa"));
            } else if (option.startsWith("-Duser.home=")) {
                out.add("-Duser.home=" + tmp.resolve("home"));
            } else {
                out.add(option);
            }
        }
        return out;
    }

    /** The variables the unit's Environment= lines set. */
    private static Map<String, String> environment(String unit) {
        Map<String, String> env = new HashMap<>();
        unit.lines().map(String::strip).filter(l -> l.startsWith("Environment=")).forEach(l -> {
            for (String pair : l.substring("Environment=".length()).split("\\s+")) {
                int eq = pair.indexOf('=');
                env.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        });
        return env;
    }

    /** ExecStart with its continuation lines joined. */
    private static String execStart(String unit) {
        Matcher m = Pattern.compile("(?m)^ExecStart=((?:.*\\\\\\n)*.*)$").matcher(unit);
        assertTrue(m.find(), "no ExecStart");
        return m.group(1).replaceAll("\\\\\\n\\s*", " ");
    }

    /** The options between the java binary and -jar. */
    private static List<String> jvmOptions(String execStart) {
        List<String> words = Arrays.asList(execStart.trim().split("\\s+"));
        int jar = words.indexOf("-jar");
        assertTrue(jar > 0, execStart);
        return new ArrayList<>(words.subList(1, jar));
    }
}
