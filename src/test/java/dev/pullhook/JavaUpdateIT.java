package dev.pullhook;

import dev.pullhook.testing.ChildJvm;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
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
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A JDK update under a running daemon, as apt does it: the JDK's files are replaced in place while the JVM
 * runs on. The daemon runs as a child process on a copy of this test's JDK (symbolic links to every file,
 * real copies of the few the JVM resolves its own folder from and of those the update replaces), whose
 * {@code lib/jspawnhelper} is then replaced by one that refuses, as the helper of another JDK version
 * refuses this JVM ("Incorrect Java version"). deploy.command must still run, and the daemon must say
 * that it should be restarted.
 */
class JavaUpdateIT {
    private static final String SECRET = "a-secret-for-the-java-update-test-0123456789";
    /** Copied, not linked: the launcher and libjvm.so find the JDK's folder from their own real path. */
    private static final Set<String> COPIED = Set.of("bin/java", "lib/server/libjvm.so", "lib/jspawnhelper", "release");

    @TempDir
    Path dir;

    /** This JDK as symbolic links, but for {@link #COPIED}. */
    private static Path linkedCopyOf(Path jdk, Path copy) throws IOException {
        Files.walkFileTree(jdk, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(copy.resolve(jdk.relativize(d).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                String name = jdk.relativize(f).toString();
                Path target = copy.resolve(name);
                if (COPIED.contains(name)) {
                    Files.copy(f, target, StandardCopyOption.COPY_ATTRIBUTES);
                } else {
                    Files.createSymbolicLink(target, f.toAbsolutePath());
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return copy;
    }

    /** What dpkg does to a file of a package it upgrades: writes the new one beside it, renames it over. */
    private static void replace(Path file, String content) throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".dpkg-new");
        Files.writeString(next, content);
        Files.setPosixFilePermissions(next, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(next, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void deployCommandStillRunsAfterTheJdkWasReplacedAndTheDaemonSaysToRestart() throws Exception {
        Path jdk = Path.of(System.getProperty("java.home")).toRealPath();
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && Files.isExecutable(jdk.resolve("lib/jspawnhelper"))
                && Files.isRegularFile(jdk.resolve("lib/server/libjvm.so")), "a Linux JDK with lib/jspawnhelper");
        Path copy = linkedCopyOf(jdk, dir.resolve("jdk"));
        TestRepos repos = TestRepos.create(dir.resolve("repos"));
        Path ran = dir.resolve("command-ran");
        Path secret = Files.writeString(dir.resolve("secret"), SECRET + "\n");
        int port = Ports.free();
        Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                "repo.path = " + repos.site, "webhook.secret.file = " + secret, "server.port = " + port,
                "deploy.on.start = false", "server.warmup = false", "deploy.command = echo \"$PULLHOOK_TO\" > " + ran,
                ""));
        Path log = dir.resolve("daemon.log");
        // the unit's collector and compiler, and the class-data archive of this JDK's child daemons (ChildJvm)
        String classPath = ChildJvm.daemonClassPath();
        List<String> command = new ArrayList<>(List.of(copy.resolve("bin/java").toString(), "-Xmx64m"));
        command.addAll(ChildJvm.launch(classPath, false).options());
        command.addAll(List.of("-Duser.home=" + System.getProperty("user.home"), "-cp", classPath,
                "dev.pullhook.Main", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        Process daemon = pb.start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        try {
            Poll.until("the daemon is idle (its log: " + log + ")", () -> {
                assertTrue(daemon.isAlive(), () -> "the daemon exited:\n" + read(log));
                try {
                    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/status")).build(),
                            HttpResponse.BodyHandlers.ofString()).body().contains("\"state\":\"idle\"");
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });

            // the update: a spawn helper of another version, and the other files of the runtime
            replace(copy.resolve("lib/jspawnhelper"), "#!/bin/sh\necho 'Incorrect Java version' >&2\nexit 1\n");
            replace(copy.resolve("release"), "JAVA_VERSION=\"17.0.99\"\n");
            ObjectId pushed = repos.pushNewCommit();

            byte[] body = new byte[0];
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/pull-repo?wait=true"))
                    .timeout(Duration.ofSeconds(120))
                    .header("X-Pullhook-Auth", Signatures.manual(SECRET, "/pull-repo", body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), () -> r.body() + "\n" + read(log));
            assertTrue(r.body().contains("\"status\":\"deployed\""), () -> r.body() + "\n" + read(log));
            assertEquals(pushed.name(), Files.readString(ran).strip(), "deploy.command ran after the update");

            // the warning is the only sign of it; its words are JavaRuntimeWatchTest's to pin, here it comes once
            Poll.until("the warning that the runtime changed", () -> warnings(log, copy) > 0);
            assertEquals(1, warnings(log, copy), () -> read(log));
        } finally {
            daemon.destroy();
            if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
            repos.close();
        }
    }

    /** JavaRuntimeWatch's WARN lines about the runtime under {@code jdk}. */
    private static long warnings(Path log, Path jdk) {
        return read(log).lines().filter(l -> l.contains("[WARN] JavaRuntimeWatch - ") && l.contains(jdk.toString())).count();
    }

    private static String read(Path log) {
        try {
            return Files.exists(log, LinkOption.NOFOLLOW_LINKS) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }
}
