package dev.pullhook.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shipped jar ({@code target/pullhook.jar}, built by {@code mvn package} before the integration tests)
 * run as a child process: {@code java -Xmx64m -jar target/pullhook.jar --config <config>}, with no
 * {@code PULLHOOK_*} variable from the test's environment, logging to a file, on 127.0.0.1 only.
 */
public final class JarDaemon implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    public static final Path JAR = Path.of("target", "pullhook.jar");

    public final Process process;
    public final int port;
    public final Path log;

    private JarDaemon(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts the jar and waits until its queue is idle (the start-up check done); {@code config} sets {@code port}. */
    public static JarDaemon start(Path config, int port, Path log) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is missing: run the tests with mvn verify");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx64m", "-Duser.home=" + System.getProperty("user.home"),
                "-jar", JAR.toString(), "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        JarDaemon d = new JarDaemon(pb.start(), port, log);
        try {
            d.awaitIdle();
        } catch (RuntimeException | Error | IOException | InterruptedException e) {
            d.close();
            throw e;
        }
        return d;
    }

    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    /** {@code POST} with the given headers (name, value, name, value...). */
    public HttpResponse<String> post(String pathAndQuery, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("POST " + pathAndQuery + " failed; daemon log:\n" + logText(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String get(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new IllegalStateException("GET " + path + " failed; daemon log:\n" + logText(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits (up to 60 s) until {@code /status} says the queue is idle. */
    public void awaitIdle() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                fail("the daemon exited with status " + process.exitValue() + "; its log:\n" + logText());
            }
            try {
                String status = HTTP.send(HttpRequest.newBuilder(uri("/status")).timeout(Duration.ofSeconds(5))
                        .GET().build(), HttpResponse.BodyHandlers.ofString()).body();
                if (status.contains("\"state\":\"idle\"")) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        fail("the daemon was not idle within 60 s; its log:\n" + logText());
    }

    /** What it has logged so far. */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** Stops it with SIGTERM (waits up to 30 s, then SIGKILL). */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
