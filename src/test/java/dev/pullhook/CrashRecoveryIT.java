package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.ChildJvm;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.Status;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The daemon runs as a real child process and is killed with SIGKILL in the middle of a deploy; started
 * again, it repairs the working copy with no manual step: HEAD at origin/main and a clean status.
 */
class CrashRecoveryIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path tmp;

    @Test
    void killedMidDeployTheDaemonRecoversTheWorkingCopyAtNextStart() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, TestDaemon.SECRET + "\n");
        int port = Ports.free();
        Path config = tmp.resolve("config.properties");
        Files.writeString(config, "repo.path=" + repos.site + "\nwebhook.secret.file=" + secret
                + "\nserver.port=" + port + "\nserver.warmup=false\n");
        Path marker = repos.site.resolve(".git/pullhook/deploy.running");

        boolean killedMidDeploy = false;
        for (int attempt = 0; attempt < 6 && !killedMidDeploy; attempt++) {
            Path log = tmp.resolve("daemon-" + attempt + ".log");
            Process daemon = startDaemon(config, log);
            try {
                awaitHealth(port);
                // the start-up job (a check, or a recovery after the last kill) has put HEAD at origin's tip
                ObjectId tip = repos.originTip();
                awaitIdle(port, () -> tip.equals(headOrNull(repos)));
                pushManyFiles(repos, attempt);
                // kill while the reset holds the index lock: the working tree is then half written. inotify
                // tells the moment the lock is taken (watched from before the deploy is asked for)
                try (WatchService gitDir = repos.site.getFileSystem().newWatchService()) {
                    repos.site.resolve(".git").register(gitDir, StandardWatchEventKinds.ENTRY_CREATE);
                    post(port);
                    awaitCreated(gitDir, "index.lock", Duration.ofSeconds(30));
                }
            } finally {
                daemon.destroyForcibly();  // SIGKILL: no shutdown hook, no lock cleanup
                daemon.waitFor(10, TimeUnit.SECONDS);
            }
            killedMidDeploy = Files.exists(marker) && Files.exists(repos.site.resolve(".git/index.lock"));
            System.out.println("attempt " + attempt + ": " + (killedMidDeploy ? "killed in the middle of the reset"
                    : "the deploy was not caught in its reset") + "; the daemon's log:\n" + read(log));
        }
        assertTrue(killedMidDeploy, "could not kill the daemon in the middle of a reset in 6 attempts");

        Path log = tmp.resolve("daemon-restarted.log");
        Process daemon = startDaemon(config, log);
        try {
            awaitHealth(port);
            ObjectId tip = repos.originTip();
            // the recovery of the interrupted deploy (an earlier attempt's recovery went to an older tip)
            awaitIdle(port, () -> {
                JsonNode newest = newestDeploy(port);
                return "recovery".equals(newest.path("trigger").asText()) && tip.name().equals(newest.path("to").asText());
            });
            assertEquals(tip, repos.siteHead(), "working copy at origin/main after restart");
            try (Git git = Git.open(repos.site.toFile())) {
                Status st = git.status().call();
                assertTrue(st.isClean(), "git status clean: " + st.getUncommittedChanges() + " " + st.getUntracked());
            }
            String status = get(port, "/status");
            assertEquals("deployed", newestDeploy(port).path("outcome").asText(), "the recovery deployed: " + status);
            assertFalse(Files.exists(repos.site.resolve(".git/index.lock")), "the dead lock was removed");
            try (Git git = Git.open(repos.site.toFile())) {
                assertTrue(git.stashList().call().isEmpty(), "a half-written reset is not mistaken for local edits");
            }
            assertTrue(!status.contains("\"id\":1,\"trigger\":\"recovery\""), "the interrupted deploy's id is not reused");
            assertTrue(!Files.exists(marker), "the crash marker is gone once recovered");
            System.out.println("--- restarted daemon's log ---\n" + Files.readString(log));
        } finally {
            daemon.destroy();
            daemon.waitFor(30, TimeUnit.SECONDS);
            repos.close();
        }
    }

    /** A commit that rewrites thousands of files, so that the reset takes long enough to be interrupted. */
    private static void pushManyFiles(TestRepos repos, int round) throws IOException {
        String chunk = ("round " + round + " ").repeat(300);
        for (int i = 0; i < 3000; i++) {
            Path f = repos.dev.resolve("d" + (i % 30)).resolve("f" + i + ".txt");
            Files.createDirectories(f.getParent());
            Files.writeString(f, chunk + i);
        }
        try (Git git = Git.open(repos.dev.toFile())) {
            git.add().addFilepattern(".").call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        repos.commitAndPush("round.txt", "round " + round + "\n", "rewrite many files " + round);
    }

    /** The daemon as a child JVM with the unit's collector and compiler and a class-data archive (ChildJvm). */
    private static Process startDaemon(Path config, Path log) throws IOException {
        String classPath = ChildJvm.daemonClassPath();
        ChildJvm.Launch jvm = ChildJvm.launch(classPath, true);
        List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "-Xmx128m"));
        command.addAll(jvm.options());
        command.addAll(List.of("-Duser.home=" + System.getProperty("user.home"),
                "-cp", classPath, "dev.pullhook.Main", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        env.put("GIT_CONFIG_NOSYSTEM", "1");
        try {
            return jvm.started(pb.start());
        } catch (IOException | RuntimeException e) {
            jvm.exited();
            throw e;
        }
    }

    private static void awaitHealth(int port) {
        Poll.until(Duration.ofSeconds(60), "the daemon's /health", () -> {
            try {
                return get(port, "/health").contains("ok");
            } catch (IOException e) {
                return false;  // not up yet
            }
        });
    }

    /** What a finished job shows ({@code done}), and the daemon idle: nothing queued or running. */
    private static void awaitIdle(int port, IoCondition done) {
        Poll.until(Duration.ofSeconds(60), "the daemon idle, its job done", () -> {
            try {
                return done.holds() && get(port, "/status").contains("\"state\":\"idle\"");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private interface IoCondition {
        boolean holds() throws IOException;
    }

    private static JsonNode newestDeploy(int port) throws IOException {
        return new ObjectMapper().readTree(get(port, "/status")).path("deploys").path(0);
    }

    /** HEAD of the working copy, or null while a deploy has it half written. */
    private static ObjectId headOrNull(TestRepos repos) {
        try {
            return repos.siteHead();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Returns once {@code name} is created in the watched folder (or already exists), or after {@code patience}. */
    private static void awaitCreated(WatchService watch, String name, Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        Path folder = null;
        while (System.nanoTime() < deadline) {
            WatchKey key = watch.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (key == null) {
                return;
            }
            folder = (Path) key.watchable();
            for (WatchEvent<?> event : key.pollEvents()) {
                if (name.equals(String.valueOf(event.context()))) {
                    return;
                }
            }
            key.reset();
            if (Files.exists(folder.resolve(name))) {
                return;
            }
        }
    }

    private static void post(int port) throws IOException, InterruptedException {
        HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/pull-repo"))
                .header("X-Pullhook-Auth", Signatures.manual(TestDaemon.SECRET, "/pull-repo", new byte[0]))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String get(int port, String path) throws IOException {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static boolean clean(Path site) {
        try (Git git = Git.open(site.toFile())) {
            return git.status().call().isClean();
        } catch (Exception e) {
            return false;
        }
    }
}
