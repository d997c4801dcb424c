package dev.pullhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shipped jar's command line against the shipped jar's daemon, each a process of its own: a deploy goes
 * through the daemon and says "up to date" when nothing moved, and a user who may not read the secret
 * still gets {@code status}, while every command that cannot use a file says which permission that user
 * lacks. The other user is {@code nobody} (through {@code setpriv}) when the tests run as root, else the
 * test's own user, kept out by the files' modes. Each command runs with the JVM options of the package's
 * {@code /usr/bin/pullhook}; one daemon serves both tests (the second deploys nothing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliJarIT {
    private static final String SECRET = TestDaemon.SECRET;
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));
    /** The user the denied commands run as. */
    private static final String OTHER = ROOT ? "nobody" : System.getProperty("user.name");

    /** The JVM options {@code /usr/bin/pullhook} runs a command with, read from the script the package installs. */
    private static final List<String> LAUNCHER_OPTIONS = launcherOptions();

    private Path dir;
    private TestRepos repos;
    private Path secret;
    private int port;
    private ChildDaemon daemon;

    /** What one command printed and returned. */
    private record Run(int status, String out, String err) {
        String all() {
            return "status " + status + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    @BeforeAll
    void startTheDaemon(@TempDir Path tmp) throws Exception {
        dir = tmp;
        // the other user must reach the working copy and the config, as the service user reaches them
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        repos = TestRepos.create(dir.resolve("repos"));
        secret = Files.writeString(dir.resolve("secret"), SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        port = Ports.free();
        Path config = config("config.properties", "webhook.secret.file = " + secret);
        daemon = ChildDaemon.startJar(config, port, dir.resolve("daemon.log"));
    }

    /** The secret readable by this user again: a test that takes it away (when not root) leaves the daemon's config as it was. */
    @AfterEach
    void secretReadableAgain() throws IOException {
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterAll
    void stopTheDaemon() throws Exception {
        daemon.close();
        repos.close();
    }

    private Path config(String name, String... extra) throws IOException {
        List<String> lines = new ArrayList<>(List.of("repo.path = " + repos.site, "server.port = " + port,
                "deploy.on.start = false"));
        lines.addAll(List.of(extra));
        Path file = Files.writeString(dir.resolve(name), String.join("\n", lines) + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        return file;
    }

    /** {@code java -jar target/pullhook.jar args}, as this user or as {@link #OTHER}. */
    private Run cli(boolean asOther, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path home = Files.createDirectories(dir.resolve("home-" + (asOther ? "other" : "self")));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> command = new ArrayList<>();
        if (asOther && ROOT) {
            command.addAll(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"));
        }
        command.add(java);
        command.addAll(LAUNCHER_OPTIONS);
        command.addAll(List.of("-Duser.home=" + home, "-jar", ChildDaemon.JAR.toAbsolutePath().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(home.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_") || k.equals("CREDENTIALS_DIRECTORY"));
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        pb.environment().put("XDG_CONFIG_HOME", home.resolve(".config").toString());
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("pullhook " + String.join(" ", args) + " did not finish in 120 s");
        }
        Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        assertFalse(r.all().contains(SECRET), "the secret is never printed");
        return r;
    }

    /** The options between {@code java} and {@code -jar} on the last {@code exec} line of packaging/deb/pullhook. */
    private static List<String> launcherOptions() {
        try {
            List<String> lines = Files.readAllLines(Path.of("packaging", "deb", "pullhook"));
            for (int i = lines.size() - 1; i >= 0; i--) {
                List<String> words = List.of(lines.get(i).strip().split("\\s+"));
                if (words.size() > 2 && words.get(0).equals("exec") && words.get(1).endsWith("/java")
                        && words.contains("-jar")) {
                    return words.subList(2, words.indexOf("-jar"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no 'exec /usr/bin/java ... -jar' line in packaging/deb/pullhook");
    }

    @Test
    void aDeployGoesThroughTheDaemonAndSaysUpToDateWhenNothingMoved() throws Exception {
        Path config = dir.resolve("config.properties");
        ObjectId a = repos.siteHead();
        ObjectId b = repos.pushNewCommit();
        Run deployed = cli(false, "deploy", "--config", config.toString());
        assertEquals(0, deployed.status(), deployed::all);
        assertTrue(deployed.out().contains("deployed: " + a.name() + " -> " + b.name()), deployed::all);
        assertEquals(b, repos.siteHead());

        Run again = cli(false, "deploy", "--config", config.toString());
        assertEquals(0, again.status(), again::all);
        assertTrue(again.out().contains("up to date: " + b.name() + " is already the tip of origin/main"), again::all);

        var deploys = new ObjectMapper().readTree(daemon.get("/status")).get("deploys");
        assertEquals(2, deploys.size(), "the daemon did both, no second writer: " + deploys);
        assertEquals("manual", deploys.get(1).get("trigger").asText());

        Run version = cli(false, "version");
        assertEquals(0, version.status(), version::all);
        assertTrue(version.out().strip().matches("pullhook \\d[^\\n]*\\njava .*"), "the jar knows its version: " + version.out());
    }

    @Test
    void aUserWhoMayNotReadTheSecretGetsStatusAndIsToldWhatEachOtherCommandLacks() throws Exception {
        if (!ROOT) {
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
        }
        Path config = dir.resolve("config.properties");
        Run status = cli(true, "status", "--config", config.toString());
        assertEquals(0, status.status(), "status needs no secret: " + status.all());
        assertTrue(status.out().contains("HEAD    " + repos.siteHead().name()), status::all);

        Run deploy = cli(true, "deploy", "--config", config.toString());
        assertEquals(2, deploy.status(), deploy::all);
        assertTrue(deploy.err().contains("pullhook: config webhook.secret.file: cannot read " + secret
                + ": permission denied for user " + OTHER + " (needs read on " + secret + ", which is "), deploy::all);

        Path unreadable = config("unreadable.properties", "webhook.secret.file = " + secret);
        Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString(ROOT ? "rw-------" : "---------"));
        Run check = cli(true, "check", "--config", unreadable.toString());
        assertEquals(2, check.status(), check::all);
        assertTrue(check.err().contains("pullhook: config --config: cannot read " + unreadable + ": permission denied"
                + " for user " + OTHER + " (needs read on " + unreadable + ", which is "), check::all);

        // a state folder the user cannot even look into
        Path shared = Files.writeString(dir.resolve("shared-secret"), SECRET + "\n");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rw-r--r--"));
        Path state = Files.createDirectories(dir.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString(ROOT ? "rwx------" : "---------"));
        Path locked = config("locked-state.properties", "webhook.secret.file = " + shared, "state.dir = " + state);
        Run inState = cli(true, "check", "--config", locked.toString());
        assertEquals(2, inState.status(), inState::all);
        assertTrue(inState.out().contains("state   FAILED: state.dir: cannot tell whether a pullhook runs: "
                + state.resolve("lock") + ": permission denied for user " + OTHER + " (needs search (x) on " + state
                + ", which is "), inState::all);
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
    }
}
