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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The real daemon as a child process of the test's classes ({@link ChildJvm#daemonClassPath()}: under
 * failsafe the packaged jar), for what only a process shows: its environment, its umask, what its children
 * inherit. Started through {@code sh -c '<setup>; exec java ...'} with the test JVM's environment less every
 * {@code PULLHOOK_*} variable, plus {@code env}; it logs to a file, and listens on 127.0.0.1 only. Its JVM
 * runs with the unit's collector and compiler and a class-data archive ({@link ChildJvm}), and without the
 * start-up warm-up ({@code server.warmup=false}, unless the config or {@code env} sets it): a child daemon's
 * start-up is not what these tests are about.
 */
public final class ChildDaemon implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public final Process process;
    public final int port;
    public final Path log;
    private final ChildJvm.Launch jvm;

    private ChildDaemon(Process process, int port, Path log, ChildJvm.Launch jvm) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.jvm = jvm;
    }

    /**
     * Starts {@code dev.pullhook.Main --config <config>} and waits until its queue is idle (the start-up
     * check done). {@code config} must set {@code server.port} to {@code port}.
     *
     * @param setup shell commands run before the JVM ({@code umask 000}), or an empty string
     * @param env   variables added to the child's environment
     */
    public static ChildDaemon start(Path config, int port, Path log, String setup, Map<String, String> env)
            throws IOException, InterruptedException {
        String classPath = ChildJvm.daemonClassPath();
        return launch(classPath, List.of("-cp", classPath, "dev.pullhook.Main"), config, port, log, setup, env);
    }

    /** The shipped jar, built by {@code mvn package} before the *JarIT tests run (failsafe). */
    public static final Path JAR = Path.of("target", "pullhook.jar");

    /** {@link #start}, but of the shipped jar: {@code java -Xmx64m ... -jar target/pullhook.jar --config <config>}. */
    public static ChildDaemon startJar(Path config, int port, Path log) throws IOException, InterruptedException {
        if (!Files.isRegularFile(JAR)) {
            fail(JAR.toAbsolutePath() + " is missing: the *JarIT tests run after mvn package (mvn verify)");
        }
        String jar = JAR.toAbsolutePath().toString();
        return launch(jar, List.of("-jar", jar), config, port, log, "", Map.of());
    }

    private static ChildDaemon launch(String classPath, List<String> what, Path config, int port, Path log,
                                      String setup, Map<String, String> env) throws IOException, InterruptedException {
        ChildJvm.Launch jvm = ChildJvm.launch(classPath, true);
        List<String> command = new ArrayList<>(List.of("sh", "-c", (setup.isBlank() ? ":" : setup)
                + "; exec \"$0\" \"$@\"", ChildJvm.java(), "-Xmx64m"));
        command.addAll(jvm.options());
        command.add("-Duser.home=" + System.getProperty("user.home"));
        command.addAll(what);
        command.addAll(List.of("--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PULLHOOK_"));
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        if (!Files.readString(config, StandardCharsets.UTF_8).contains("server.warmup")) {
            pb.environment().put("PULLHOOK_SERVER_WARMUP", "false");  // ~0.6 s of CPU less a start
        }
        pb.environment().putAll(env);
        Process process;
        try {
            process = jvm.started(pb.start());
        } catch (IOException | RuntimeException e) {
            jvm.exited();
            throw e;
        }
        ChildDaemon d = new ChildDaemon(process, port, log, jvm);
        try {
            d.awaitIdle();
        } catch (RuntimeException | Error e) {
            d.close();
            throw e;
        }
        return d;
    }

    /** {@code POST pathAndQuery} with {@code body} and the given headers (name, value, name, value...). */
    public HttpResponse<String> post(String pathAndQuery, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException("POST " + pathAndQuery + " failed; the daemon's log:\n" + logText(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code POST pathAndQuery} with {@code body}, a manual request with a fresh proof made with {@code secret}. */
    public HttpResponse<String> postSigned(String secret, String pathAndQuery, String body)
            throws IOException, InterruptedException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return HTTP.send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(120))
                .header("X-Pullhook-Auth", Signatures.manual(secret, URI.create(pathAndQuery).getPath(), bytes))
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
    }

    public String get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** What it has logged so far. */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    private void awaitIdle() {
        Poll.until(Duration.ofSeconds(60), () -> "the daemon idle; its log:\n" + logText(), () -> {
            if (!process.isAlive()) {
                fail("the daemon exited with status " + process.exitValue() + ":\n" + logText());
            }
            try {
                return get("/status").contains("\"state\":\"idle\"");
            } catch (IOException e) {
                return false;  // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    /**
     * SIGTERM, then SIGKILL if it has not stopped after 30 s; then its log (the end of it, past 1 MB) goes to
     * the test's own log (target/test-logs, see TestLog), kept after the temporary folder is gone and shown
     * with the test's failure.
     */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        if (!process.isAlive()) {
            jvm.exited();  // its class-data archive, if it wrote one, in place for the next child (ChildJvm)
        }
        String text = logText();
        System.out.println("---- the child daemon's log (" + log.getFileName() + ", port " + port + ") ----\n"
                + (text.length() > 1_000_000 ? "[...]" + text.substring(text.length() - 1_000_000) : text)
                + "---- end of the child daemon's log ----");
    }
}
