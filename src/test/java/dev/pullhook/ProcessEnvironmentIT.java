package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.ChildJvm;
import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
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
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the daemon's process environment changes, with the daemon as a real child process: the umask
 * (files are written as git writes them, {@code 0666} or {@code 0777} less the umask, by both engines), and
 * the locale ({@code LANG=C}, systemd's default: a name that is not ASCII cannot be written by Java there,
 * so the deploy fails before anything changes and says what to do, while ASCII pushes still deploy).
 */
class ProcessEnvironmentIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void filesAreWrittenUnderTheDaemonsUmaskAsGitWritesThemByBothEngines() throws Exception {
        // one daemon, a site for each engine
        List<String> engines = List.of("fast", "jgit");
        Map<String, TestRepos> sites = new HashMap<>();
        Map<String, String> keys = new HashMap<>(Map.of("sites", String.join(", ", engines)));
        for (String engine : engines) {
            TestRepos site = TestRepos.create(tmp.resolve(engine));
            sites.put(engine, site);
            keys.put("site." + engine + ".repo.path", site.site.toString());
            keys.put("site." + engine + ".webhook.secret.file", secretFile().toString());
            keys.put("site." + engine + ".git.engine", engine);
        }
        try (Daemon d = start("umask 027", keys)) {
            for (String engine : engines) {
                TestRepos repos = sites.get(engine);
                repos.commitAndPush("page.html", "<p>hi</p>\n", "a page");
                ObjectId pushed = repos.commitAndPush("bin/run.sh", "#!/bin/sh\necho run\n", "a script");
                GitCli.run(repos.dev, "update-index", "--chmod=+x", "bin/run.sh");
                GitCli.run(repos.dev, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q",
                        "-m", "executable");
                GitCli.run(repos.dev, "push", "-q", "origin", "main");
                pushed = repos.originTip();

                JsonNode answer = d.deploy("/pull-repo/" + engine);

                assertEquals("deployed", answer.get("status").asText(), answer::toString);
                assertEquals(pushed.name(), answer.get("to").asText());
                assertEquals("rwxr-x---", perms(repos.site.resolve("bin/run.sh")), engine + ": 0777 less umask 027");
                assertEquals("rw-r-----", perms(repos.site.resolve("page.html")), engine + ": 0666 less umask 027");
                assertEquals("rwxr-x---", perms(repos.site.resolve("bin")), engine + ": a new folder, 0777 less the umask");
            }
        } finally {
            sites.values().forEach(TestRepos::close);
        }
    }

    @Test
    void underLangCANonAsciiNameFailsBeforeAnyChangeAndSaysWhatToDo() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        try (Daemon d = start(repos, "export LANG=C; unset LC_ALL LC_CTYPE", Map.of())) {
            ObjectId before = repos.siteHead();
            repos.commitAndPush("café.html", "<p>café</p>\n", "a name that is not ASCII");

            JsonNode answer = d.deploy();

            assertEquals("failed", answer.get("status").asText(), answer::toString);
            String error = answer.get("error").asText();
            assertTrue(error.contains("LANG=C.UTF-8") && error.contains("not ASCII"), error);
            assertEquals(before, repos.siteHead(), "HEAD did not move");
            try (var files = Files.list(repos.site)) {
                assertEquals(List.of(".git", "README.md"), files.map(p -> p.getFileName().toString()).sorted().toList());
            }

            // the push that renames it deploys, under the same locale
            GitCli.run(repos.dev, "mv", "café.html", "cafe.html");
            GitCli.run(repos.dev, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "ascii");
            GitCli.run(repos.dev, "push", "-q", "origin", "main");
            JsonNode next = d.deploy();
            assertEquals("deployed", next.get("status").asText(), next::toString);
            assertEquals("<p>café</p>\n", Files.readString(repos.site.resolve("cafe.html")));
        } finally {
            repos.close();
        }
    }

    private static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    /** The file of {@link TestDaemon#SECRET}. */
    private Path secretFile() throws IOException {
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, TestDaemon.SECRET + "\n");
        return secret;
    }

    /** A daemon of {@code repos} started by {@code sh -c '<setup>; exec java ...'}. */
    private Daemon start(TestRepos repos, String setup, Map<String, String> keys) throws Exception {
        Map<String, String> all = new HashMap<>(keys);
        all.put("repo.path", repos.site.toString());
        all.put("webhook.secret.file", secretFile().toString());
        return start(setup, all);
    }

    /** A daemon child process with the config {@code keys} started by {@code sh -c '<setup>; exec java ...'}. */
    private Daemon start(String setup, Map<String, String> keys) throws Exception {
        int port = Ports.free();
        Path config = Files.createTempFile(tmp, "config", ".properties");
        StringBuilder c = new StringBuilder("server.port=" + port + "\ndeploy.on.start=false\nserver.warmup=false\n");
        keys.forEach((k, v) -> c.append(k).append('=').append(v).append('\n'));
        Files.writeString(config, c.toString());
        Path log = Files.createTempFile(tmp, "daemon", ".log");
        String classPath = ChildJvm.daemonClassPath();
        ChildJvm.Launch jvm = ChildJvm.launch(classPath, true);
        List<String> command = new ArrayList<>(List.of("sh", "-c", setup + "; exec \"$0\" \"$@\"", ChildJvm.java(),
                "-Xmx128m"));
        command.addAll(jvm.options());
        command.addAll(List.of("-Duser.home=" + System.getProperty("user.home"), "-cp", classPath,
                "dev.pullhook.Main", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        Daemon d = new Daemon(jvm.started(pb.start()), port, log, jvm);
        d.awaitIdle();
        return d;
    }

    private record Daemon(Process process, int port, Path log, ChildJvm.Launch jvm) implements AutoCloseable {
        JsonNode deploy() throws IOException, InterruptedException {
            return deploy("/pull-repo");
        }

        JsonNode deploy(String path) throws IOException, InterruptedException {
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + path + "?wait=true")).timeout(Duration.ofSeconds(60))
                    .header("X-Pullhook-Auth", Signatures.manual(TestDaemon.SECRET, path, body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        }

        void awaitIdle() {
            Poll.until(Duration.ofSeconds(60), () -> "the daemon idle: " + logText(), () -> {
                if (!process.isAlive()) {
                    fail("the daemon exited: " + logText());
                }
                try {
                    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status"))
                                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString())
                            .body().contains("\"state\":\"idle\"");
                } catch (IOException e) {
                    return false;  // not listening yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            });
        }

        String logText() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(cannot read " + log + ": " + e + ")";
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            assertFalse(process.isAlive());
            jvm.exited();
        }
    }
}
