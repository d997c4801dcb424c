package dev.pullhook.testing;

import dev.pullhook.Daemon;
import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigLoader;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A real pullhook {@link Daemon} on an ephemeral port of 127.0.0.1, deploying {@link TestRepos#site},
 * plus an HTTP client to talk to it. The secret comes through the environment map, as PULLHOOK_SECRET.
 */
public final class TestDaemon implements AutoCloseable {
    public static final String SECRET = "It's a Secret to Everybody, 0123456789";

    public final Daemon daemon;
    public final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestDaemon(Daemon daemon) {
        this.daemon = daemon;
    }

    /** Starts a daemon for {@code repos} with extra config {@code keys} (may override the defaults used here). */
    public static TestDaemon start(TestRepos repos, Map<String, String> keys) {
        Map<String, String> values = new HashMap<>();
        values.put("repo.path", repos.site.toString());
        values.put("server.port", "0");
        // LogFormatIT counts rejection lines, HostileInputIT needs each delivery's; RejectionLogIT checks the budget
        values.put("server.log.rejections.per.minute", "1000000");
        // the start-up deploy rehearsal costs ~0.3 s CPU, and the first deploy waits for it: the suite starts
        // ~160 daemons; WarmUpTest covers the rehearsal (a test may still set it to true)
        values.put("server.warmup", "false");
        values.putAll(keys);
        try {
            Config config = new ConfigLoader(Map.of("PULLHOOK_SECRET", SECRET), w -> { }).fromMap(values);
            return new TestDaemon(Daemon.start(config));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static TestDaemon start(TestRepos repos) {
        return start(repos, Map.of());
    }

    public URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + daemon.port() + pathAndQuery);
    }

    /** POSTs {@code body} to {@code pathAndQuery} with the given headers (name, value, name, value...). */
    public HttpResponse<String> post(String pathAndQuery, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    /**
     * A POST with the right credentials: signed the way GitHub signs (X-Hub-Signature-256) when the headers
     * name a git host's event, else a manual request with a fresh X-Pullhook-Auth proof for its path.
     */
    public HttpResponse<String> postSigned(String pathAndQuery, String body, String... headers) {
        byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String[] all = new String[headers.length + 2];
        if (Signatures.hasEventHeader(headers)) {
            all[0] = "X-Hub-Signature-256";
            all[1] = Signatures.sha256(SECRET, bytes);
        } else {
            all[0] = "X-Pullhook-Auth";
            all[1] = Signatures.manual(SECRET, URI.create(pathAndQuery).getPath(), bytes);
        }
        System.arraycopy(headers, 0, all, 2, headers.length);
        return post(pathAndQuery, bytes, all);
    }

    public HttpResponse<String> get(String pathAndQuery) {
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(30)).GET().build());
    }

    public HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        daemon.stop();
    }
}
