package dev.pullhook.packaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
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
 * The Debian package {@code target/pullhook_<version>_all.deb}, installed for real on this machine with
 * dpkg (root, Debian): install → a config pointing at a real repository (a bare origin and its working copy
 * in a temporary folder) → the daemon started the way the unit starts it (this machine has no systemd as
 * PID 1: the unit's ExecStart, Environment=, WorkingDirectory=, UMask= and User=, and its credential as a
 * credentials folder) → a signed deploy and a deploy by {@code /usr/bin/pullhook}; an upgrade to a higher
 * version keeps config, secret, state and history; a JDK change under /usr/lib/jvm (a real package there)
 * remakes a stale class-data archive through the dpkg trigger; remove keeps the config; purge removes it.
 *
 * <p>It leaves the machine as it found it: it runs only where no pullhook is installed (neither the
 * package, nor a manual install in /opt/pullhook or /etc/pullhook, nor the user), and purges the package,
 * the test package and the user pullhook at the end. It skips, with the reason, when not root or without
 * dpkg; with CI=true it fails instead.
 */
class DebianPackageIT {
    private static final Path TARGET = Path.of(System.getProperty("user.dir"), "target");
    private static final Path UNIT = Path.of("/lib/systemd/system/pullhook.service");
    private static final Path CONFIG = Path.of("/etc/pullhook/config.properties");
    private static final Path SECRET = Path.of("/etc/pullhook/secret");
    private static final Path STATE = Path.of("/var/lib/pullhook");
    private static final Path ARCHIVE = STATE.resolve("pullhook.jsa");
    private static final String CDS_ARCHIVE = "/usr/share/pullhook/cds-archive";
    private static final String TRIGGER_TEST_PACKAGE = "pullhook-jvm-trigger-test";
    /** What an install of pullhook leaves; none may exist before this test, none after it. */
    private static final List<Path> FOOTPRINT = List.of(Path.of("/etc/pullhook"), STATE, Path.of("/opt/pullhook"),
            Path.of("/usr/share/pullhook"), Path.of("/usr/bin/pullhook"), UNIT,
            Path.of("/etc/systemd/system/pullhook.service"), Path.of("/etc/nginx/sites-available/pullhook"),
            Path.of("/usr/share/doc/pullhook"), Path.of("/usr/lib/jvm/.pullhook-trigger-test"),
            Path.of("/etc/nginx/sites-enabled/pullhook"));

    @TempDir
    Path tmp;

    private final List<Path> logs = new ArrayList<>();
    /** Seconds per step, printed at the end: where the time goes. */
    private final List<String> steps = new ArrayList<>();
    private long stepStart = System.nanoTime();

    private void step(String name) {
        long now = System.nanoTime();
        steps.add(String.format("%s %.1f", name, (now - stepStart) / 1e9));
        stepStart = now;
    }

    @Test
    void installConfigureDeployUpgradeRemovePurge() throws Exception {
        require(isLinuxRoot(), "needs root (dpkg -i, a system user)");
        require(Files.isExecutable(Path.of("/usr/bin/dpkg")) && Files.isExecutable(Path.of("/usr/bin/dpkg-deb")),
                "needs dpkg and dpkg-deb (Debian)");
        require(Files.isExecutable(Path.of("/usr/bin/java")), "needs /usr/bin/java (the package's Java runtime)");
        Path deb = builtPackage();
        String before = footprint();
        String leftOver = " (left by an interrupted run of this test? dpkg -P pullhook " + TRIGGER_TEST_PACKAGE
                + "; userdel pullhook)";
        require(before.isEmpty(), "pullhook is already on this machine (" + before + "): this test would change it"
                + leftOver);
        require(!run("dpkg-query", "-W", "pullhook").output().contains("pullhook\t"),
                "the package pullhook is known to dpkg here: this test would change it" + leftOver);
        require(run("getent", "passwd", "pullhook").exit() != 0 && run("getent", "group", "pullhook").exit() != 0,
                "a user or group pullhook exists here: this test would change it" + leftOver);
        boolean nginxSites = Files.isDirectory(Path.of("/etc/nginx/sites-available"));
        // the JVMs the test runs as pullhook (without the unit's PrivateTmp=) leave their perf data there
        Path perfData = Path.of("/tmp/hsperfdata_pullhook");
        boolean hadPerfData = Files.exists(perfData);
        long started = System.nanoTime();
        stepStart = started;
        try {
            installed(deb);
        } catch (Throwable t) {
            for (Path log : logs) {
                System.out.println("--- " + log + " ---\n" + (Files.exists(log) ? Files.readString(log) : "(none)"));
            }
            throw t;
        } finally {
            cleanUp();
            if (!hadPerfData) {
                run("rm", "-rf", perfData.toString());
            }
            step("cleanup");
            System.out.printf("DebianPackageIT: %.1f s (%s)%n", (System.nanoTime() - started) / 1e9,
                    String.join(", ", steps));
        }
        assertEquals("", footprint(), "the machine is as it was before the test");
        assertEquals(nginxSites, Files.isDirectory(Path.of("/etc/nginx/sites-available")), "/etc/nginx/sites-available");
        assertTrue(run("getent", "passwd", "pullhook").exit() != 0, "the test removes the user it made");
    }

    private void installed(Path deb) throws Exception {
        String version = run("dpkg-deb", "-f", deb.toString(), "Version").output().strip();
        String contents = ok(run("dpkg-deb", "-c", deb.toString()));
        for (String path : List.of("./usr/share/pullhook/pullhook.jar", "./usr/bin/pullhook",
                "./lib/systemd/system/pullhook.service", "./etc/pullhook/config.properties",
                "./etc/nginx/sites-available/pullhook", "./usr/share/doc/pullhook/README.md",
                "./usr/share/doc/pullhook/copyright", CDS_ARCHIVE.replaceFirst("^", "."))) {
            assertTrue(contents.contains(" " + path + "\n"), "the package has " + path + ":\n" + contents);
        }
        assertTrue(ok(run("dpkg-deb", "-f", deb.toString(), "Depends")).contains("java17-runtime-headless"));

        step("checks");
        // install: the user, the secret, the archive; the service neither enabled nor started
        String install = ok(dpkg("-i", deb.toString()));
        assertTrue(install.contains("installed, not started"), install);
        String passwd = ok(run("getent", "passwd", "pullhook"));
        assertTrue(passwd.strip().endsWith(":/var/lib/pullhook:/usr/sbin/nologin"), passwd);
        assertMode(Path.of("/etc/pullhook"), "rwxr-x---", "root", "pullhook");
        assertMode(CONFIG, "rw-r-----", "root", "pullhook");
        assertMode(SECRET, "rw-------", "root", "root");
        assertMode(STATE, "rwxr-x---", "pullhook", "pullhook");
        String secret = Files.readString(SECRET);
        assertTrue(secret.matches("[0-9a-f]{64}\n"), "the secret is 64 hex digits and a newline");
        assertFalse(install.contains(secret.strip()), "dpkg's output shows the secret");
        assertEquals(0, run(CDS_ARCHIVE, "--check").exit(), "postinst made a class-data archive /usr/bin/java uses");
        assertTrue(ok(run("/usr/bin/pullhook", "--version")).contains(version.replace("~", "-").replace(
                "-snapshot", "-SNAPSHOT")), "pullhook --version names the package's version " + version);

        step("install");
        // configure: a real repository, as the operator would (repo.path, a port, state.dir)
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        try {
            ok(run("chown", "-R", "pullhook:pullhook", repos.site.toString()));
            int port = Ports.free();
            String config = Files.readString(CONFIG);
            config = set(config, "repo.path", repos.site.toString());
            config = set(config, "server.port", Integer.toString(port));
            config = set(config, "state.dir", STATE.toString());
            Files.writeString(CONFIG, config);
            Path credentials = credentials();

            // start as the unit does; a signed deploy, then one by the command line, which asks the daemon
            ObjectId first;
            ObjectId second;
            Process daemon = startAsTheUnit(credentials, "daemon-1.log");
            try {
                waitUntilServing(port, "daemon-1.log");
                first = repos.pushNewCommit();
                HttpResponse<String> r = signedDeploy(port, secret.strip());
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(first, repos.siteHead(), "the signed deploy reset the working copy");
                second = repos.pushNewCommit();
                String cli = ok(run(Map.of("CREDENTIALS_DIRECTORY", credentials.toString()),
                        "/usr/bin/pullhook", "deploy", "--config", CONFIG.toString()));
                assertEquals(second, repos.siteHead(), "pullhook deploy reset the working copy: " + cli);
                // the CLI as the service user, with the archive made for it
                String status = ok(run(Map.of("CREDENTIALS_DIRECTORY", credentials.toString()), "setpriv",
                        "--reuid=pullhook", "--regid=pullhook", "--clear-groups", "/usr/bin/pullhook", "status",
                        "--config", CONFIG.toString()));
                assertTrue(status.contains(second.name()), status);
            } finally {
                stop(daemon);
            }
            assertNoCdsComplaint("daemon-1.log");

            step("run");
            // upgrade to a higher version: config, secret, state and history stay; the archive still fits
            byte[] history = Files.readAllBytes(STATE.resolve("history.jsonl"));
            String configBefore = Files.readString(CONFIG);
            String higher = version + "+1";
            assertEquals(0, run("dpkg", "--compare-versions", higher, "gt", version).exit());
            Path upgrade = repack(deb, higher);
            ok(dpkg("-i", upgrade.toString()));
            assertEquals(higher, ok(run("dpkg-query", "-W", "-f=${Version}", "pullhook")).strip());
            assertEquals(configBefore, Files.readString(CONFIG), "the upgrade keeps the config");
            assertEquals(secret, Files.readString(SECRET), "the upgrade keeps the secret");
            assertMode(SECRET, "rw-------", "root", "root");
            assertMode(CONFIG, "rw-r-----", "root", "pullhook");
            assertEquals(Arrays.toString(history), Arrays.toString(Files.readAllBytes(STATE.resolve("history.jsonl"))),
                    "the upgrade keeps the deploy history");
            assertEquals(0, run(CDS_ARCHIVE, "--check").exit(), "the archive fits the upgraded package");

            step("upgrade");
            daemon = startAsTheUnit(credentials, "daemon-2.log");
            try {
                waitUntilServing(port, "daemon-2.log");
                JsonNode status = new ObjectMapper().readTree(get(port, "/status"));
                List<String> deployed = new ArrayList<>();
                status.path("deploys").forEach(d -> deployed.add(d.path("to").asText()));
                assertTrue(deployed.contains(first.name()) && deployed.contains(second.name()),
                        "/status after the upgrade lists the deploys from before: " + status);
                ObjectId third = repos.pushNewCommit();
                HttpResponse<String> r = signedDeploy(port, secret.strip());
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(third, repos.siteHead());
            } finally {
                stop(daemon);
            }
            assertNoCdsComplaint("daemon-2.log");
        } finally {
            repos.close();
        }

        step("run again");
        // a JDK changing under /usr/lib/jvm: the trigger remakes an archive that no longer fits
        Path jar = Path.of("/usr/share/pullhook/pullhook.jar");
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now()));
        assertEquals(1, run(CDS_ARCHIVE, "--check").exit(), "a changed jar makes the archive stale");
        String trigger = ok(dpkg("-i", jvmPackage().toString()));
        assertTrue(trigger.contains("Processing triggers for pullhook"), trigger);
        assertEquals(0, run(CDS_ARCHIVE, "--check").exit(), "the trigger remade the archive: " + trigger);
        ok(dpkg("-P", TRIGGER_TEST_PACKAGE));

        step("jdk trigger");
        // remove keeps config, secret and state; purge removes them (the user stays, as Debian does)
        String configured = Files.readString(CONFIG);
        ok(dpkg("-r", "pullhook"));
        assertFalse(Files.exists(jar) || Files.exists(Path.of("/usr/bin/pullhook")) || Files.exists(UNIT),
                "remove deletes the program");
        assertEquals(configured, Files.readString(CONFIG), "remove keeps the config");
        assertEquals(secret, Files.readString(SECRET), "remove keeps the secret");
        assertTrue(Files.exists(STATE.resolve("history.jsonl")), "remove keeps the state");
        // the site enabled the way docs/install-debian.md says (where NGINX's folders are)
        Path enabled = Path.of("/etc/nginx/sites-enabled/pullhook");
        boolean nginx = Files.isDirectory(enabled.getParent());
        if (nginx) {
            Files.createSymbolicLink(enabled, Path.of("../sites-available/pullhook"));
        }
        String purge = ok(dpkg("-P", "pullhook"));
        assertFalse(Files.exists(enabled, LinkOption.NOFOLLOW_LINKS), "purge removes the link to the purged site");
        assertEquals(nginx, purge.contains("removed " + enabled), purge);
        assertFalse(Files.exists(Path.of("/etc/pullhook")), "purge removes /etc/pullhook");
        assertFalse(Files.exists(STATE), "purge removes /var/lib/pullhook");
        assertFalse(Files.exists(Path.of("/etc/nginx/sites-available/pullhook")), "purge removes the site");
        assertFalse(ok(run("dpkg-statoverride", "--list")).contains("pullhook"), "purge removes the overrides");
        assertEquals(0, run("getent", "passwd", "pullhook").exit(), "purge keeps the system user");
        step("remove and purge");
    }

    /** The newest {@code target/pullhook_*_all.deb} (built by {@code mvn package}). */
    private static Path builtPackage() throws IOException {
        try (Stream<Path> files = Files.list(TARGET)) {
            return files.filter(f -> f.getFileName().toString().matches("pullhook_.+_all\\.deb"))
                    .max(Comparator.comparing(f -> f.toFile().lastModified()))
                    .orElseGet(() -> fail("no target/pullhook_*_all.deb: run mvn package (or verify) first"));
        }
    }

    /** The same package under another version: unpacked and built again with dpkg-deb. */
    private Path repack(Path deb, String version) throws Exception {
        Path dir = tmp.resolve("repack");
        ok(run("dpkg-deb", "-R", deb.toString(), dir.toString()));
        Path control = dir.resolve("DEBIAN/control");
        Files.writeString(control, Files.readString(control).replaceFirst("(?m)^Version: .*$",
                "Version: " + Matcher.quoteReplacement(version)));
        Path out = tmp.resolve("pullhook_upgrade_all.deb");
        ok(run("dpkg-deb", "-Znone", "--root-owner-group", "-b", dir.toString(), out.toString()));
        return out;
    }

    /** A tiny package with one file under /usr/lib/jvm, standing in for a JDK update. */
    private Path jvmPackage() throws Exception {
        Path dir = tmp.resolve("jvm-package");
        Files.createDirectories(dir.resolve("DEBIAN"));
        Files.createDirectories(dir.resolve("usr/lib/jvm/.pullhook-trigger-test"));
        Files.writeString(dir.resolve("usr/lib/jvm/.pullhook-trigger-test/release"), "JAVA_VERSION=\"0\"\n");
        Files.writeString(dir.resolve("DEBIAN/control"), "Package: " + TRIGGER_TEST_PACKAGE + "\nVersion: 1\n"
                + "Architecture: all\nMaintainer: pullhook tests <tests@localhost>\n"
                + "Description: DebianPackageIT: a file under /usr/lib/jvm\n made and purged by the test\n");
        Path out = tmp.resolve(TRIGGER_TEST_PACKAGE + ".deb");
        ok(run("dpkg-deb", "-Znone", "--root-owner-group", "-b", dir.toString(), out.toString()));
        return out;
    }

    /** A credentials folder as systemd makes one for LoadCredential=webhook-secret:/etc/pullhook/secret. */
    private Path credentials() throws Exception {
        String load = unitValues("LoadCredential").stream().filter(v -> v.startsWith("webhook-secret:"))
                .findFirst().orElseGet(() -> fail("the unit has no LoadCredential=webhook-secret:"));
        assertEquals("webhook-secret:" + SECRET, load);
        Path dir = tmp.resolve("credentials");
        Files.createDirectories(dir);
        Files.copy(SECRET, dir.resolve("webhook-secret"));
        ok(run("chown", "-R", "pullhook:pullhook", dir.toString()));
        ok(run("chmod", "0500", dir.toString()));
        ok(run("chmod", "0400", dir.resolve("webhook-secret").toString()));
        return dir;
    }

    /**
     * The installed unit's ExecStart, run as its User= and Group= with only its Environment=, in its
     * WorkingDirectory= and with its UMask=, its credential in {@code credentials}. Output to a log file.
     */
    private Process startAsTheUnit(Path credentials, String logName) throws Exception {
        String unit = Files.readString(UNIT);
        Matcher exec = Pattern.compile("(?m)^ExecStart=((?:.*\\\\\\n)*.*)$").matcher(unit);
        assertTrue(exec.find(), "no ExecStart in " + UNIT);
        List<String> execStart = Arrays.asList(exec.group(1).replaceAll("\\\\\\n\\s*", " ").trim().split("\\s+"));
        assertTrue(execStart.contains("/usr/share/pullhook/pullhook.jar"), execStart.toString());
        String user = one(unit, "User");
        String group = one(unit, "Group");
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + user, "--regid=" + group,
                "--clear-groups", "env", "-i", "PATH=/usr/bin:/bin", "CREDENTIALS_DIRECTORY=" + credentials));
        for (String line : unitValues("Environment")) {
            command.addAll(Arrays.asList(line.split("\\s+")));
        }
        command.addAll(List.of("sh", "-c", "umask " + one(unit, "UMask") + " && exec \"$@\"", "sh"));
        command.addAll(execStart);
        Path log = tmp.resolve(logName);
        logs.add(log);
        return new ProcessBuilder(command).directory(Path.of(one(unit, "WorkingDirectory")).toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Answering, and idle: the start-up check (deploy.on.start) waits behind the warm-up on the deploy worker. */
    private void waitUntilServing(int port, String logName) {
        Poll.until("pullhook idle after its warm-up and start-up check (its log: " + logName + ")", () -> {
            try {
                return get(port, "/status").contains("\"state\":\"idle\"");
            } catch (Exception e) {
                return false;  // not listening yet
            }
        });
    }

    /** The daemon found the archive usable: -Xshare:auto says nothing (a stale one gets a warning). */
    private void assertNoCdsComplaint(String logName) throws IOException {
        String log = Files.readString(tmp.resolve(logName));
        assertFalse(log.contains("[cds") || log.contains("shared archive"), "the daemon's JVM complains:\n" + log);
    }

    private static void stop(Process daemon) throws InterruptedException {
        daemon.destroy();
        if (!daemon.waitFor(45, TimeUnit.SECONDS)) {
            daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("the daemon did not stop within the unit's TimeoutStopSec=45");
        }
    }

    private static HttpResponse<String> signedDeploy(int port, String secret) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + port + "/pull-repo?wait=true"))
                .header("X-Pullhook-Auth", Signatures.manual(secret, "/pull-repo", new byte[0]))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String get(int port, String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** Sets {@code key} in a properties text, whether it is there, commented out, or missing. */
    private static String set(String config, String key, String value) {
        Pattern line = Pattern.compile("(?m)^#?" + Pattern.quote(key) + "\\s*=.*$");
        String replacement = Matcher.quoteReplacement(key + " = " + value);
        Matcher m = line.matcher(config);
        return m.find() ? m.replaceFirst(replacement) : config + "\n" + key + " = " + value + "\n";
    }

    private List<String> unitValues(String key) throws IOException {
        List<String> values = new ArrayList<>();
        for (String l : Files.readAllLines(UNIT)) {
            if (l.startsWith(key + "=")) {
                values.add(l.substring(key.length() + 1).strip());
            }
        }
        return values;
    }

    private static String one(String unit, String key) {
        Matcher m = Pattern.compile("(?m)^" + key + "=(.*)$").matcher(unit);
        assertTrue(m.find(), "no " + key + "= in the unit");
        return m.group(1).strip();
    }

    private static void assertMode(Path path, String permissions, String owner, String group) throws IOException {
        PosixFileAttributes a = Files.getFileAttributeView(path, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS).readAttributes();
        assertEquals(permissions + " " + owner + ":" + group, PosixFilePermissions.toString(a.permissions()) + " "
                + a.owner().getName() + ":" + a.group().getName(), path.toString());
    }

    /** Which of the paths an install leaves exist now ("" when none). */
    private static String footprint() {
        return String.join(", ", FOOTPRINT.stream().filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS))
                .map(Path::toString).toList());
    }

    /** Purges what the test installed and removes the user and group it made; quiet, never throws. */
    private void cleanUp() {
        try {
            for (String pkg : List.of(TRIGGER_TEST_PACKAGE, "pullhook")) {
                if (run("dpkg-query", "-W", pkg).exit() == 0) {
                    Result r = dpkg("-P", pkg);
                    if (r.exit() != 0) {
                        System.out.println("cleanup: dpkg -P " + pkg + ": " + r.output());
                    }
                }
            }
            if (run("getent", "passwd", "pullhook").exit() == 0) {
                run("userdel", "pullhook");
            }
            if (run("getent", "group", "pullhook").exit() == 0) {
                run("groupdel", "pullhook");
            }
        } catch (Exception e) {
            System.out.println("cleanup failed: " + e);
        }
    }

    private static boolean isLinuxRoot() {
        try {
            return System.getProperty("os.name").equals("Linux")
                    && run("id", "-u").output().strip().equals("0");
        } catch (Exception e) {
            return false;
        }
    }

    /** Skips the test with the reason, or fails it where CI=true (CI must run it). */
    private static void require(boolean condition, String reason) {
        if (!condition) {
            if ("true".equals(System.getenv("CI"))) {
                fail(reason + " (CI=true: this test must run, not skip)");
            }
            Assumptions.assumeTrue(false, reason);
        }
    }

    private static Result dpkg(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("dpkg"));
        command.addAll(List.of(args));
        return run(Map.of("DEBIAN_FRONTEND", "noninteractive"), command.toArray(String[]::new));
    }

    private static String ok(Result r) {
        assertEquals(0, r.exit(), r.command() + " failed:\n" + r.output());
        return r.output();
    }

    private static Result run(String... command) throws Exception {
        return run(Map.of(), command);
    }

    /** Runs a command (its output merged, no input), with this environment less Java's and pullhook's own. */
    private static Result run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_") || k.equals("JAVA_TOOL_OPTIONS")
                || k.equals("_JAVA_OPTIONS") || k.equals("CREDENTIALS_DIRECTORY"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + String.join(" ", command));
        }
        return new Result(String.join(" ", command), p.exitValue(), out);
    }

    private record Result(String command, int exit, String output) {
    }
}
