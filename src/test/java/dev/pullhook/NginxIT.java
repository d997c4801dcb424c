package dev.pullhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Fixtures;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import dev.pullhook.testing.Tools;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shipped {@code nginx/pullhook.conf} in a real NGINX (a child process on loopback ports, with a
 * throw-away self-signed certificate) in front of a real pullhook: a signed Bitbucket push over HTTPS
 * deploys, pullhook takes the client address NGINX forwarded (and only believes X-Forwarded-For from a
 * trusted proxy), and nothing but {@code /pull-repo} is reachable through NGINX. The client address is seen
 * where it decides: this daemon allows webhooks only from the test's made-up clients (webhook.allow.from),
 * so a request whose forwarded address was lost would be refused.
 *
 * <p>The config under test is the shipped file with only what a test machine cannot have replaced: the
 * listen ports (free ports of 127.0.0.1, no IPv6), the certificate paths, the upstream port, and the two
 * certbot files (options-ssl-nginx.conf, ssl-dhparams.pem) left out. Each replacement must match, so a
 * changed file fails here rather than being tested half.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NginxIT {
    private static final Path CONF = Path.of(System.getProperty("user.dir"), "nginx", "pullhook.conf");
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    /** The made-up client addresses the tests send as X-Forwarded-For; 127.0.0.1 (NGINX, this test) is not one. */
    private static final String ALLOWED = "203.0.113.9, 198.51.100.0/24";
    private static final String NOT_ALLOWED = "client address not allowed";
    private static final List<String> OUTCOMES = List.of("accepted", "ignored", "duplicate", "forbidden",
            "bad_request", "pong", "up_to_date", "unavailable", "too_large");

    private Path tmp;
    private TestRepos repos;
    private TestDaemon daemon;
    private Path nginxBinary;
    private Process nginx;
    private int httpPort;
    private int httpsPort;
    private HttpClient https;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        nginxBinary = Tools.nginx();  // skipped with the reason when nginx is missing (failed under CI=true)
        Tools.openssl();
        repos = TestRepos.create(tmp.resolve("repos"));
        // default server.trusted.proxies: 127.0.0.1, ::1
        daemon = TestDaemon.start(repos, Map.of("webhook.allow.from", ALLOWED));

        Path cert = tmp.resolve("cert.pem");
        Path key = tmp.resolve("key.pem");
        selfSignedCertificate(cert, key);
        https = HttpClient.newBuilder().sslContext(trusting(cert)).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();

        httpPort = Ports.free();
        httpsPort = Ports.free();
        Path server = tmp.resolve("pullhook.conf");
        Files.writeString(server, derive(Files.readString(CONF), httpPort, httpsPort, daemon.daemon.port(), cert, key));
        Path main = tmp.resolve("nginx.conf");
        Files.writeString(main, wrapper(server));
        nginx = startNginx(main);
    }

    @AfterAll
    void stop() {
        try {
            stopNginx();
        } finally {
            if (daemon != null) {
                daemon.close();
            }
            if (repos != null) {
                repos.close();
            }
        }
    }

    // --- the tests ------------------------------------------------------------------------------------

    @Test
    void signedBitbucketPushThroughNginxDeploysForTheForwardedClient() throws Exception {
        ObjectId pushed = repos.pushNewCommit();
        String delivery = "{" + UUID.randomUUID() + "}";
        byte[] body = Fixtures.payload("bitbucket-cloud/push.json");
        HttpResponse<String> r = postHttps("/pull-repo", body, "Content-Type", "application/json",
                "X-Event-Key", "repo:push", "X-Request-UUID", delivery, "User-Agent", "Bitbucket-Webhooks/2.0",
                "X-Hub-Signature", Signatures.sha256(TestDaemon.SECRET, body),
                // what the client claims; NGINX appends the peer it saw (127.0.0.1, a trusted proxy)
                "X-Forwarded-For", "203.0.113.9");
        assertEquals(202, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"status\":\"queued\""), r.body());
        await("the working copy at the pushed commit", () -> pushed.equals(repos.siteHead()));

        // X-Forwarded-For arrives as "203.0.113.9, 127.0.0.1"; read right to left, 127.0.0.1 (NGINX's view
        // of this test, a loopback client) is a trusted proxy, so 203.0.113.9 is the client: allowed, where
        // 127.0.0.1 is not. On a server the right-most entry is the caller's public address, which is not
        // trusted: a forged value never wins.
        String status = daemon.get("/status").body();
        assertTrue(status.contains("\"delivery\":\"bitbucket-cloud/" + delivery + "\""), status);
    }

    /** Bitbucket Data Center's delivery id travels in X-Request-Id: NGINX passes it, and adds none of its own. */
    @Test
    void nginxPassesTheHostsRequestIdAndGeneratesNone() throws Exception {
        byte[] body = Fixtures.payload("bitbucket-dc/push.json");
        String id = "dc-" + UUID.randomUUID();
        HttpResponse<String> dc = postHttps("/pull-repo", body, "Content-Type", "application/json",
                "X-Event-Key", "repo:refs_changed", "X-Request-Id", id,
                "X-Hub-Signature", Signatures.sha256(TestDaemon.SECRET, body), "X-Forwarded-For", "198.51.100.21");
        assertTrue(dc.statusCode() == 202 || dc.statusCode() == 200, dc.statusCode() + " " + dc.body());
        String status = daemon.get("/status").body();
        assertTrue(status.contains("\"delivery\":\"bitbucket-dc/" + id + "\""), "the host's id reached pullhook: " + status);
        List<String> deliveries = deliveries();

        // a Bitbucket event without any delivery header: pullhook must see none (no generated X-Request-Id)
        byte[] cloud = Fixtures.payload("bitbucket-cloud/push.json");
        HttpResponse<String> r = postHttps("/pull-repo", cloud, "Content-Type", "application/json",
                "X-Event-Key", "repo:push", "X-Hub-Signature", Signatures.sha256(TestDaemon.SECRET, cloud),
                "X-Forwarded-For", "198.51.100.22");
        assertTrue(r.statusCode() == 202 || r.statusCode() == 200, r.statusCode() + " " + r.body());
        // a delivery id (an X-Request-Id beside X-Event-Key) would have been remembered as a delivery
        assertEquals(deliveries, deliveries(), "NGINX must not invent a delivery id");
    }

    /** The ids ({@code host/id}) of the deliveries /status lists. */
    private List<String> deliveries() throws IOException {
        List<String> ids = new ArrayList<>();
        new ObjectMapper().readTree(daemon.get("/status").body()).path("sites").get(0).path("deliveries")
                .forEach(d -> ids.add(d.path("delivery").asText()));
        return ids;
    }

    /** Requests pullhook's webhook answered, whatever the answer. */
    private double webhookRequests() {
        PrometheusText m = PrometheusText.parse(daemon.get("/metrics").body());
        double sum = 0;
        for (String outcome : OUTCOMES) {
            Double v = m.value("pullhook_webhook_requests_total", "site", "default", "outcome", outcome);
            sum += v == null ? 0 : v;
        }
        return sum;
    }

    @Test
    void onlyThePullRepoEndpointIsReachableThroughNginx() throws Exception {
        for (String path : List.of("/status", "/deploys/1/log", "/health", "/metrics", "/", "/pull-repo/../status",
                "/pull-repox")) {
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(httpsUri(path)).GET()
                    .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, r.statusCode(), "GET " + path);
        }
        HttpResponse<String> rollback = postHttps("/rollback", "{}".getBytes(StandardCharsets.UTF_8),
                "X-Pullhook-Auth", Signatures.manual(TestDaemon.SECRET, "/rollback", "{}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(404, rollback.statusCode(), "POST /rollback must stay private");
        // the daemon itself does answer them: it is NGINX that keeps them private
        assertEquals(200, daemon.get("/status").statusCode());
    }

    @Test
    void plainHttpIsRedirectedToHttps() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + "/pull-repo")).timeout(Duration.ofSeconds(15))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(301, r.statusCode());
        assertEquals("https://127.0.0.1/pull-repo", r.headers().firstValue("Location").orElse(""));
    }

    @Test
    void bodiesOverFiveMegabytesAreRefusedByNginx() throws Exception {
        byte[] big = new byte[5 * 1024 * 1024 + 1];
        double before = webhookRequests();
        HttpResponse<String> r = postHttps("/pull-repo", big, "Content-Type", "application/json",
                "X-Forwarded-For", "198.51.100.23");
        assertEquals(413, r.statusCode());
        // a small request after it, which does reach pullhook (counted before it is answered): the big one
        // would have been counted too
        HttpResponse<String> after = postHttps("/pull-repo", "{}".getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/json", "X-Forwarded-For", "198.51.100.24");
        assertTrue(after.statusCode() == 401 || after.statusCode() == 403, after.statusCode() + " " + after.body());
        assertEquals(before + 1, webhookRequests(), "the big body never reached pullhook");
    }

    /**
     * Straight to pullhook, from a peer that is not a trusted proxy: a forged X-Forwarded-For is not
     * believed, the TCP peer is the client (refused here, where only the forged address is allowed).
     */
    @Test
    void forgedForwardedForFromAnUntrustedPeerIsIgnored() throws Exception {
        try (TestRepos other = TestRepos.create(tmp.resolve("other"));
             TestDaemon direct = TestDaemon.start(other, Map.of("server.trusted.proxies", "10.9.9.9",
                     "webhook.allow.from", "203.0.113.9"))) {
            String delivery = "{" + UUID.randomUUID() + "}";
            byte[] body = Fixtures.payload("bitbucket-cloud/push.json");
            HttpResponse<String> r = direct.post("/pull-repo", body, "Content-Type", "application/json",
                    "X-Event-Key", "repo:push", "X-Request-UUID", delivery,
                    "X-Hub-Signature", Signatures.sha256(TestDaemon.SECRET, body),
                    "X-Forwarded-For", "203.0.113.9");
            assertEquals(403, r.statusCode(), r.body());
            assertTrue(r.body().contains(NOT_ALLOWED), "the client is the peer, 127.0.0.1: " + r.body());
        }
    }

    // --- NGINX ----------------------------------------------------------------------------------------

    /** The shipped server blocks, made runnable on this machine (see the class comment). */
    static String derive(String conf, int httpPort, int httpsPort, int upstreamPort, Path cert, Path key) {
        String c = conf;
        c = replace(c, "(?m)^\\s*listen \\[::\\]:\\d+[^;]*;\\s*\\n", "", 2);
        c = replace(c, "listen 80;", "listen 127.0.0.1:" + httpPort + ";", 1);
        c = replace(c, "listen 443 ssl;", "listen 127.0.0.1:" + httpsPort + " ssl;", 1);
        c = replace(c, "ssl_certificate /etc/letsencrypt/live/deploy.example.com/fullchain.pem;",
                "ssl_certificate " + cert + ";", 1);
        c = replace(c, "ssl_certificate_key /etc/letsencrypt/live/deploy.example.com/privkey.pem;",
                "ssl_certificate_key " + key + ";", 1);
        c = replace(c, "(?m)^\\s*include /etc/letsencrypt/options-ssl-nginx.conf;\\s*\\n", "", 1);
        c = replace(c, "(?m)^\\s*ssl_dhparam /etc/letsencrypt/ssl-dhparams.pem;\\s*\\n", "", 1);
        c = replace(c, "proxy_pass http://127.0.0.1:5000;", "proxy_pass http://127.0.0.1:" + upstreamPort + ";", 1);
        assertFalse(c.contains("/etc/letsencrypt"), "a certbot file is still referenced:\n" + c);
        return c;
    }

    /** Replaces {@code target} (a regex when it starts with "(?m)", else literal), which must occur {@code times} times. */
    private static String replace(String text, String target, String replacement, int times) {
        Pattern p = target.startsWith("(?m)") ? Pattern.compile(target) : Pattern.compile(Pattern.quote(target));
        Matcher m = p.matcher(text);
        int found = 0;
        while (m.find()) {
            found++;
        }
        assertEquals(times, found, "nginx/pullhook.conf changed shape: expected " + times + " of " + target);
        return p.matcher(text).replaceAll(Matcher.quoteReplacement(replacement));
    }

    private String wrapper(Path serverBlocks) {
        String t = tmp.toString();
        // as root, NGINX's workers would run as "nobody" and could not enter the private temp folder
        String user = "root".equals(System.getProperty("user.name")) ? "user root;\n" : "";
        return user + """
                worker_processes 1;
                events { worker_connections 64; }
                http {
                    access_log %1$s/access.log;
                    client_body_temp_path %1$s/client_body_temp;
                    proxy_temp_path %1$s/proxy_temp;
                    fastcgi_temp_path %1$s/fastcgi_temp;
                    uwsgi_temp_path %1$s/uwsgi_temp;
                    scgi_temp_path %1$s/scgi_temp;
                    include %2$s;
                }
                """.formatted(t, serverBlocks);
    }

    private List<String> nginxCommand(Path mainConf, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(nginxBinary.toString(), "-p", tmp + "/", "-c", mainConf.toString(),
                "-g", "daemon off; pid " + tmp.resolve("nginx.pid") + "; error_log " + tmp.resolve("error.log") + ";"));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    private Process startNginx(Path mainConf) throws Exception {
        // nginx -t first: a config error is then reported as such
        Process check = new ProcessBuilder(nginxCommand(mainConf, "-t")).redirectErrorStream(true).start();
        String checkOut;
        try (InputStream in = check.getInputStream()) {
            checkOut = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            if (!check.waitFor(30, TimeUnit.SECONDS)) {
                check.destroyForcibly();
            }
        }
        assertEquals(0, check.exitValue(), "nginx -t rejected the derived config:\n" + checkOut
                + "\n--- config ---\n" + Files.readString(tmp.resolve("pullhook.conf")));

        Process p = new ProcessBuilder(nginxCommand(mainConf)).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("nginx.out").toFile()).start();
        if (!Poll.within(PATIENCE, () -> !p.isAlive() || (Ports.listening(httpPort) && Ports.listening(httpsPort)))
                || !p.isAlive()) {
            p.destroyForcibly();
            fail("nginx did not start:\n" + Files.readString(tmp.resolve("nginx.out"))
                    + readIfExists(tmp.resolve("error.log")));
        }
        return p;
    }

    /** SIGTERM to the master (our child), then any worker still there by its pid; the pid file as a last resort. */
    private void stopNginx() {
        if (nginx == null) {
            return;
        }
        List<ProcessHandle> children = nginx.descendants().toList();
        nginx.destroy();
        try {
            if (!nginx.waitFor(10, TimeUnit.SECONDS)) {
                nginx.destroyForcibly();
                nginx.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ProcessHandle child : children) {
            child.destroyForcibly();
        }
        Path pidFile = tmp.resolve("nginx.pid");
        try {
            if (Files.exists(pidFile)) {
                long pid = Long.parseLong(Files.readString(pidFile).strip());
                ProcessHandle.of(pid).filter(h -> h.info().command().map(c -> c.contains("nginx")).orElse(false))
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException e) {
            // the master removes its pid file when it exits: nothing left to stop
        }
    }

    private static String readIfExists(Path file) throws IOException {
        return Files.exists(file) ? "\n--- " + file.getFileName() + " ---\n" + Files.readString(file) : "";
    }

    // --- helpers --------------------------------------------------------------------------------------

    private URI httpsUri(String path) {
        return URI.create("https://127.0.0.1:" + httpsPort + path);
    }

    private HttpResponse<String> postHttps(String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(httpsUri(path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A throw-away certificate for 127.0.0.1 and localhost, valid for one day. */
    private static void selfSignedCertificate(Path cert, Path key) throws Exception {
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", key.toString(), "-out", cert.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        assertEquals(0, p.exitValue(), "openssl req failed (.ci/run installs openssl):\n" + out);
    }

    /** Trusts exactly the test's certificate: hostname verification stays on. */
    private static SSLContext trusting(Path cert) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            trust.setCertificateEntry("nginx-test", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static void await(String what, BooleanSupplier condition) {
        Poll.until(PATIENCE, what, condition);
    }
}
