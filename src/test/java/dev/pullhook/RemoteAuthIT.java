package dev.pullhook;

import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import dev.pullhook.testing.Tools;
import io.javalin.Javalin;
import io.javalin.http.Context;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Deploys from remotes that want credentials, against real servers on loopback: a real OpenSSH
 * {@code sshd} (child process, its own config, keys made with {@code ssh-keygen}) serving the bare origin
 * through the real {@code git-upload-pack}, with pullhook's {@code git.ssh.key} and
 * {@code git.ssh.known.hosts}; and the real {@code git http-backend} (smart HTTP, run as CGI from a small
 * Javalin route behind Basic authentication) with {@code git.https.username} and
 * {@code git.https.password.file}. Secrets never reach the log or /status, nor the working copy's config.
 *
 * <p>HTTP here is plain HTTP on loopback: the credentials path in JGit is the same as for HTTPS, and a
 * trusted TLS server would need this JVM's trust store changed for every test running in it. An untrusted
 * one (self-signed) is tested: that failure needs no change.
 */
class RemoteAuthIT {
    private static final String USER = System.getProperty("user.name");
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    /** The sshd's folder: its keys, config and log, for the whole class. */
    @TempDir
    static Path sshdDir;
    private static Sshd sshd;

    /** The class's sshd, started by the first test that needs it; its log from here on is this test's. */
    private static Sshd sshd() throws Exception {
        if (sshd == null) {
            sshd = Sshd.start(sshdDir);
        }
        sshd.mark();
        return sshd;
    }

    @AfterAll
    static void stopSshd() {
        if (sshd != null) {
            sshd.close();
        }
    }

    // --- SSH ------------------------------------------------------------------------------------------

    /**
     * A deploy key and the known host key, of each common kind: ed25519, RSA (also in the old PEM format
     * many servers still have, {@code -----BEGIN RSA PRIVATE KEY-----}) and ECDSA, as Bitbucket and GitHub
     * offer them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ed25519", "rsa", "rsa-pem", "ecdsa"})
    void deployKeyAndKnownHostsDeployOverSsh(String kind) throws Exception {
        Sshd sshd = sshd();
        Path clientKey = sshd.clientKey(kind);
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             LogCapture log = new LogCapture()) {
            if (kind.equals("rsa-pem")) {
                assertTrue(Files.readString(clientKey).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
            }
            repos.setSiteRemoteUrl(sshd.url(repos.origin));
            Path knownHosts = writeKnownHosts(sshd.port, sshd.hostKeyPub(kind));
            ObjectId pushed = repos.pushNewCommit();
            try (TestDaemon daemon = sshDaemon(repos, clientKey, knownHosts)) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains("\"status\":\"deployed\""), r.body());
                assertEquals(pushed, repos.siteHead());
                assertTrue(sshd.log().contains("Accepted publickey for " + USER), "fetched through sshd:\n" + sshd.log());
                assertNoPrivateKey(clientKey, log.text() + daemon.get("/status").body());
            }
        }
    }

    @Test
    void aHostKeyThatIsNotTheKnownOneFailsTheDeploy() throws Exception {
        Sshd sshd = sshd();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(sshd.url(repos.origin));
            Path otherHostKey = sshKeygen(tmp.resolve("other_host_key"));
            Path knownHosts = writeKnownHosts(sshd.port, Files.readString(pub(otherHostKey)));
            ObjectId before = repos.siteHead();
            repos.pushNewCommit();
            try (TestDaemon daemon = sshDaemon(repos, sshd.clientKey, knownHosts)) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(500, r.statusCode(), r.body());
                assertTrue(r.body().contains("\"status\":\"failed\""), r.body());
                assertTrue(r.body().toLowerCase().contains("host key"), "the error names the host key: " + r.body());
                assertTrue(r.body().contains(knownHosts.toString()), "the error names the known_hosts file: " + r.body());
                assertEquals(before, repos.siteHead(), "nothing deployed");
                assertFalse(sshd.log().contains("Accepted publickey"), "no login to a host that is not the known one");
                assertNoPrivateKey(sshd.clientKey, log.text() + daemon.get("/status").body());
            }
        }
    }

    @Test
    void aKeyTheServerDoesNotKnowFailsTheDeployWithAHint() throws Exception {
        Sshd sshd = sshd();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(sshd.url(repos.origin));
            Path knownHosts = writeKnownHosts(sshd.port, sshd.hostKeyPub);
            Path strangerKey = sshKeygen(tmp.resolve("stranger_key"));
            repos.pushNewCommit();
            try (TestDaemon daemon = sshDaemon(repos, strangerKey, knownHosts)) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(500, r.statusCode(), r.body());
                assertTrue(r.body().contains("deploy key"), "the error says what to check: " + r.body());
                assertNoPrivateKey(strangerKey, log.text() + daemon.get("/status").body());
            }
        }
    }

    /**
     * One event, one log line (journald and grep see a line at a time): JGit's "Cannot log in" message spans
     * four lines ("publickey: trying ...", "server refused ...", "no more keys to try ..."), and the
     * {@code deploy failed ... error="..."} line carries them verbatim.
     */
    @Test
    void aRefusedSshKeyIsLoggedOnOneLine() throws Exception {
        Sshd sshd = sshd();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(sshd.url(repos.origin));
            Path knownHosts = writeKnownHosts(sshd.port, sshd.hostKeyPub);
            Path strangerKey = sshKeygen(tmp.resolve("stranger_key"));
            try (TestDaemon daemon = sshDaemon(repos, strangerKey, knownHosts)) {
                assertEquals(500, daemon.postSigned("/pull-repo?wait=true", "{}").statusCode());
            }
            List<String> continuation = log.lines().stream()
                    .filter(l -> l.startsWith("publickey:")).toList();
            assertEquals(List.of(), continuation, "lines of a 'deploy failed' message that are not log lines");
        }
    }

    /**
     * A daemon for {@code repos} with {@code keys} that deploys only when asked: the one fetch of a test is the
     * one it asserts on (a start-up deploy would fetch first, as slow as the second over SSH).
     */
    private static TestDaemon startDaemon(TestRepos repos, Map<String, String> keys) {
        Map<String, String> all = new HashMap<>(keys);
        all.put("deploy.on.start", "false");
        return TestDaemon.start(repos, all);
    }

    /** A daemon for {@code repos} that fetches over SSH with {@code key}, trusting only {@code knownHosts}. */
    private static TestDaemon sshDaemon(TestRepos repos, Path key, Path knownHosts) {
        return startDaemon(repos, Map.of("git.ssh.key", key.toString(), "git.ssh.known.hosts", knownHosts.toString()));
    }

    private Path writeKnownHosts(int port, String hostKeyPub) throws IOException {
        String[] parts = hostKeyPub.strip().split("\\s+");
        Path file = tmp.resolve("known_hosts-" + UUID.randomUUID());
        Files.writeString(file, "[127.0.0.1]:" + port + " " + parts[0] + " " + parts[1] + "\n");
        return file;
    }

    /** Neither the key file's text nor any of its base64 lines appear in {@code text}. */
    private static void assertNoPrivateKey(Path key, String text) throws IOException {
        assertFalse(text.contains("PRIVATE KEY"), "a private key in the log");
        for (String line : Files.readAllLines(key)) {
            if (!line.startsWith("-----") && line.length() > 16) {
                assertFalse(text.contains(line), "a line of the private key in the log");
            }
        }
    }

    private static Path pub(Path key) {
        return key.resolveSibling(key.getFileName() + ".pub");
    }

    /** A fresh ed25519 key pair without passphrase; returns the private key's path. */
    private static Path sshKeygen(Path key) throws IOException, InterruptedException {
        return sshKeygen(key, List.of("-t", "ed25519"));
    }

    /** A fresh key pair of the type {@code ssh-keygen} options name, without passphrase. */
    private static Path sshKeygen(Path key, List<String> type) throws IOException, InterruptedException {
        String keygen = Tools.sshKeygen().toString();
        Files.createDirectories(key.getParent());
        List<String> command = new ArrayList<>(List.of(keygen, "-q"));
        command.addAll(type);
        command.addAll(List.of("-N", "", "-C", "pullhook-test", "-f", key.toString()));
        Output out = run(command);
        assertEquals(0, out.exit, out.text);
        return key;
    }

    /**
     * A real OpenSSH server on a free port of 127.0.0.1, as a child process: its own config, host keys,
     * authorized_keys and pid file in a temporary folder, password login off. It offers a host key of each
     * kind (as GitHub and Bitbucket do) and accepts a deploy key of each kind; what a client trusts is only
     * what its known_hosts names. The login user is the one running the tests; {@code git-upload-pack} runs
     * on the server side as for any git host. One for the whole class ({@link #sshd()}): the keys are what
     * costs, and every test uses its own repositories and client settings.
     */
    static final class Sshd implements AutoCloseable {
        /** Each kind's {@code ssh-keygen} options; the PEM one is the RSA key rewritten in the old format. */
        private static final Map<String, List<String>> KINDS = Map.of(
                "ed25519", List.of("-t", "ed25519"),
                "rsa", List.of("-t", "rsa", "-b", "3072"),
                "ecdsa", List.of("-t", "ecdsa", "-b", "256"));

        final Path dir;
        final int port;
        /** The ed25519 deploy key and host key, for the tests of refusals. */
        final Path clientKey;
        final String hostKeyPub;
        private final Map<String, Path> clientKeys;
        private final Map<String, String> hostKeyPubs;
        private final Process process;
        /** Where this test's part of the log starts. */
        private long mark;

        private Sshd(Path dir, int port, Map<String, Path> clientKeys, Map<String, String> hostKeyPubs, Process process) {
            this.dir = dir;
            this.port = port;
            this.clientKeys = clientKeys;
            this.hostKeyPubs = hostKeyPubs;
            this.clientKey = clientKeys.get("ed25519");
            this.hostKeyPub = hostKeyPubs.get("ed25519");
            this.process = process;
        }

        /** The deploy key of {@code kind} (ed25519, rsa, rsa-pem, ecdsa); the server accepts each. */
        Path clientKey(String kind) {
            return clientKeys.get(kind);
        }

        /** The server's public host key of {@code kind}'s type, as a known_hosts line would name it. */
        String hostKeyPub(String kind) {
            return hostKeyPubs.get(kind.equals("rsa-pem") ? "rsa" : kind);
        }

        static Sshd start(Path dir) throws Exception {
            Path server = Tools.sshd();  // skipped with the reason when sshd is missing (failed under CI=true)
            Tools.git();  // git-upload-pack, on the server side
            Files.createDirectories(dir);
            Map<String, Path> clientKeys = new HashMap<>();
            Map<String, String> hostKeyPubs = new HashMap<>();
            List<String> config = new ArrayList<>(List.of("Port PORT", "ListenAddress 127.0.0.1"));
            StringBuilder authorized = new StringBuilder();
            for (Map.Entry<String, List<String>> kind : KINDS.entrySet()) {
                Path hostKey = sshKeygen(dir.resolve("ssh_host_" + kind.getKey() + "_key"), kind.getValue());
                config.add("HostKey " + hostKey);
                hostKeyPubs.put(kind.getKey(), Files.readString(pub(hostKey)));
                Path clientKey = sshKeygen(dir.resolve("id_" + kind.getKey()), kind.getValue());
                clientKeys.put(kind.getKey(), clientKey);
                authorized.append(Files.readString(pub(clientKey)));
            }
            // the same RSA key in the PEM format many servers still have (-----BEGIN RSA PRIVATE KEY-----)
            Path pem = Files.copy(clientKeys.get("rsa"), dir.resolve("id_rsa_pem"));
            Output converted = run(List.of(Tools.sshKeygen().toString(), "-q", "-p", "-N", "", "-m", "PEM", "-f",
                    pem.toString()));
            assertEquals(0, converted.exit, converted.text);
            clientKeys.put("rsa-pem", pem);
            Path authorizedKeys = Files.writeString(dir.resolve("authorized_keys"), authorized);
            if ("root".equals(USER)) {
                // sshd started by root insists on its privilege separation directory
                Files.createDirectories(Path.of("/run/sshd"));
            }
            int port = Ports.free();
            config.set(0, "Port " + port);
            config.addAll(List.of(
                    "AuthorizedKeysFile " + authorizedKeys,
                    "AllowUsers " + USER,
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "UsePAM no",
                    "StrictModes no",
                    "PidFile " + dir.resolve("sshd.pid"),
                    "LogLevel VERBOSE",
                    ""));
            Path configFile = Files.writeString(dir.resolve("sshd_config"), String.join("\n", config));
            Output check = run(List.of(server.toString(), "-t", "-f", configFile.toString()));
            assertEquals(0, check.exit, "sshd -t: " + check.text);
            // -D: stay in the foreground (our child), -e: log to stderr (the file below); absolute path required
            Process p = new ProcessBuilder(server.toString(), "-D", "-e", "-f", configFile.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sshd.log").toFile()).start();
            Sshd sshd = new Sshd(dir, port, clientKeys, hostKeyPubs, p);
            if (!Poll.within(PATIENCE, () -> !p.isAlive() || Ports.listening(port)) || !p.isAlive()) {
                sshd.close();
                fail("sshd did not start:\n" + sshd.log());
            }
            return sshd;
        }

        /** {@code ssh://user@127.0.0.1:port/absolute/path}: the repository by its absolute path. */
        String url(Path bareRepo) {
            return "ssh://" + USER + "@127.0.0.1:" + port + bareRepo.toAbsolutePath();
        }

        /** What it logged since the current test began (its per-connection processes log there too). */
        String log() {
            try {
                byte[] all = Files.readAllBytes(dir.resolve("sshd.log"));
                int from = (int) Math.min(mark, all.length);
                return new String(all, from, all.length - from, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(no sshd log: " + e + ")";
            }
        }

        /** A test begins: {@link #log()} shows only what comes next. */
        void mark() {
            try {
                mark = Files.size(dir.resolve("sshd.log"));
            } catch (IOException e) {
                mark = 0;
            }
        }

        /** SIGTERM to our sshd, then its per-connection children, by pid. */
        @Override
        public void close() {
            List<ProcessHandle> children = process.descendants().toList();
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        }
    }

    // --- HTTP(S) with Basic authentication ------------------------------------------------------------

    private static final String HTTP_USER = "bot";

    @Test
    void rightCredentialsDeployAndStayOutOfLogStatusAndGitConfig() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             GitHttpServer server = GitHttpServer.start(repos.origin, HTTP_USER, password);
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(server.url());
            byte[] gitConfig = Files.readAllBytes(repos.site.resolve(".git/config"));
            Path passwordFile = secretFile("git-password", password);
            ObjectId pushed = repos.pushNewCommit();
            try (TestDaemon daemon = startDaemon(repos, Map.of(
                    "git.https.username", HTTP_USER, "git.https.password.file", passwordFile.toString()))) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(pushed, repos.siteHead());
                assertTrue(server.authorizations.contains(server.expected), "the server saw the Basic credentials");
                String seen = log.text() + daemon.get("/status").body();
                assertFalse(seen.contains(password), "the password in the log or /status");
                assertFalse(seen.contains(server.expected.substring("Basic ".length())), "the Basic header in the log or /status");
                // what Main logs once at start: where the password came from, masked
                String config = daemon.daemon.config().toString();
                assertTrue(config.contains("git.https.password=**** (file " + passwordFile + ")"), config);
                assertFalse(config.contains(password), config);
            }
            assertArrayEquals(gitConfig, Files.readAllBytes(repos.site.resolve(".git/config")),
                    "the working copy's .git/config is unchanged (no credentials written)");
        }
    }

    @Test
    void aWrongPasswordFailsTheDeployNamingTheCredentials() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        String wrong = "wrong-" + UUID.randomUUID();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             GitHttpServer server = GitHttpServer.start(repos.origin, HTTP_USER, password);
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(server.url());
            ObjectId before = repos.siteHead();
            repos.pushNewCommit();
            try (TestDaemon daemon = startDaemon(repos, Map.of(
                    "git.https.username", HTTP_USER, "git.https.password.file", secretFile("wrong", wrong).toString()))) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(500, r.statusCode(), r.body());
                assertTrue(r.body().contains("not authorized") && r.body().contains("git.https.username"),
                        "the error names the credentials: " + r.body());
                assertEquals(before, repos.siteHead());
                String seen = log.text() + daemon.get("/status").body();
                assertFalse(seen.contains(wrong), "the password in the log or /status");
                String header = Base64.getEncoder().encodeToString((HTTP_USER + ":" + wrong).getBytes(StandardCharsets.UTF_8));
                assertTrue(server.authorizations.contains("Basic " + header), "the wrong password was sent");
                assertFalse(seen.contains(header), "the Basic header in the log or /status");
            }
        }
    }

    @Test
    void noCredentialsConfiguredFailsClearly() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             GitHttpServer server = GitHttpServer.start(repos.origin, HTTP_USER, "pw-" + UUID.randomUUID())) {
            repos.setSiteRemoteUrl(server.url());
            repos.pushNewCommit();
            try (TestDaemon daemon = startDaemon(repos, Map.of())) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(500, r.statusCode(), r.body());
                assertTrue(r.body().contains("Authentication is required") && r.body().contains("git.https.username"),
                        "the error says credentials are needed and which keys: " + r.body());
                assertTrue(server.authorizations.isEmpty(), "nothing to send");
            }
        }
    }

    @Test
    void credentialsInTheRemoteUrlAreRedactedInTheLog() throws Exception {
        String token = "tok-" + UUID.randomUUID();
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             GitHttpServer server = GitHttpServer.start(repos.origin, HTTP_USER, "pw-" + UUID.randomUUID());
             LogCapture log = new LogCapture()) {
            repos.setSiteRemoteUrl(server.url().replace("http://", "http://" + HTTP_USER + ":" + token + "@"));
            repos.pushNewCommit();
            try (TestDaemon daemon = startDaemon(repos, Map.of())) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(500, r.statusCode(), r.body());
                String status = daemon.get("/status").body();
                List<String> failed = log.linesWith("deploy failed", "phase=fetch");
                assertFalse(failed.isEmpty(), log.text());
                assertTrue(failed.get(failed.size() - 1).contains("***@127.0.0.1"), failed.get(failed.size() - 1));
                assertFalse(log.text().contains(token), "the token in the log");
                assertFalse(status.contains(token) || r.body().contains(token), "the token in /status or the answer");
            }
        }
    }

    /**
     * An HTTPS remote whose certificate this Java does not trust (self-signed, as an internal server's):
     * the deploy fails before any credential is sent, and the error says what to do.
     */
    @Test
    void anUntrustedTlsCertificateFailsTheDeployWithAHint() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"));
             TlsServer server = TlsServer.start(tmp.resolve("tls"))) {
            repos.setSiteRemoteUrl("https://127.0.0.1:" + server.port() + "/origin.git");
            ObjectId before = repos.siteHead();
            repos.pushNewCommit();
            try (TestDaemon daemon = startDaemon(repos, Map.of())) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "{}");

                assertEquals(500, r.statusCode(), r.body());
                assertTrue(r.body().contains("PKIX path building failed"), r.body());
                assertTrue(r.body().contains("not signed by an authority this Java trusts")
                        && r.body().contains("update-ca-certificates"), r.body());
                assertEquals(before, repos.siteHead());
                assertTrue(server.handshakes() > 0, "the client reached the TLS server");
            }
        }
    }

    /** A TLS server on 127.0.0.1 with a fresh self-signed certificate (keytool); it only shakes hands. */
    private record TlsServer(javax.net.ssl.SSLServerSocket socket, Thread thread,
                             java.util.concurrent.atomic.AtomicInteger handshakeCount) implements AutoCloseable {
        static TlsServer start(Path dir) throws Exception {
            Files.createDirectories(dir);
            Path store = dir.resolve("server.p12");
            String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
            // a JVM of its own for a second: C1 and the serial GC, as the package's command line runs
            Output out = run(List.of(keytool, "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname",
                    "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1", "-validity", "2",
                    "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "changeit"));
            assertEquals(0, out.exit, out.text);
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                ks.load(in, "changeit".toCharArray());
            }
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "changeit".toCharArray());
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            javax.net.ssl.SSLServerSocket socket = (javax.net.ssl.SSLServerSocket) context.getServerSocketFactory()
                    .createServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
            java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
            Thread thread = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (javax.net.ssl.SSLSocket client = (javax.net.ssl.SSLSocket) socket.accept()) {
                        client.setSoTimeout(10_000);
                        count.incrementAndGet();
                        client.startHandshake();  // the client gives up here: it does not trust the certificate
                    } catch (IOException e) {
                        // the failed handshake, or the socket closed by close()
                    }
                }
            }, "tls-test-server");
            thread.setDaemon(true);
            thread.start();
            return new TlsServer(socket, thread, count);
        }

        int port() {
            return socket.getLocalPort();
        }

        int handshakes() {
            return handshakeCount.get();
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(10_000);
        }
    }

    private Path secretFile(String name, String value) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, value + "\n");
        Files.setPosixFilePermissions(file, Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE));
        return file;
    }

    /**
     * Smart HTTP for one bare repository: the real {@code git http-backend}, run as CGI for each request by
     * a Javalin route on 127.0.0.1, behind Basic authentication (401 with a challenge without the right
     * credentials, as hosts answer). Records every Authorization header it was sent.
     */
    static final class GitHttpServer implements AutoCloseable {
        final String expected;
        final Set<String> authorizations = ConcurrentHashMap.newKeySet();
        private final Path repo;
        private final Javalin app;

        private GitHttpServer(Path repo, String user, String password) {
            this.repo = repo;
            this.expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            this.app = Javalin.create(cfg -> {
                cfg.jetty.host = "127.0.0.1";
                cfg.jetty.port = 0;
                cfg.startup.showJavalinBanner = false;
                cfg.routes.get("/git/*", this::serve);
                cfg.routes.post("/git/*", this::serve);
            });
        }

        static GitHttpServer start(Path bareRepo, String user, String password) {
            Tools.git();  // git http-backend
            GitHttpServer s = new GitHttpServer(bareRepo, user, password);
            s.app.start();
            return s;
        }

        String url() {
            return "http://127.0.0.1:" + app.port() + "/git/" + repo.getFileName();
        }

        private void serve(Context ctx) throws Exception {
            String auth = ctx.header("Authorization");
            if (auth != null) {
                authorizations.add(auth);
            }
            if (!expected.equals(auth)) {
                ctx.status(401).header("WWW-Authenticate", "Basic realm=\"git\"").result("authentication required\n");
                return;
            }
            ProcessBuilder pb = new ProcessBuilder("git", "http-backend");
            Map<String, String> env = pb.environment();
            env.put("GIT_PROJECT_ROOT", repo.getParent().toString());
            env.put("GIT_HTTP_EXPORT_ALL", "1");
            env.put("GIT_CONFIG_NOSYSTEM", "1");
            env.put("PATH_INFO", ctx.path().substring("/git".length()));
            env.put("QUERY_STRING", ctx.queryString() == null ? "" : ctx.queryString());
            env.put("REQUEST_METHOD", ctx.method().name());
            env.put("REMOTE_USER", "bot");
            env.put("REMOTE_ADDR", "127.0.0.1");
            putIfPresent(env, "CONTENT_TYPE", ctx.header("Content-Type"));
            putIfPresent(env, "HTTP_CONTENT_ENCODING", ctx.header("Content-Encoding"));
            putIfPresent(env, "HTTP_GIT_PROTOCOL", ctx.header("Git-Protocol"));
            byte[] body = ctx.req().getInputStream().readAllBytes();
            if (ctx.method().name().equals("POST")) {
                env.put("CONTENT_LENGTH", Integer.toString(body.length));
            }
            Process p = pb.start();
            Thread writer = new Thread(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(body);
                } catch (IOException e) {
                    // the backend stopped reading: its answer says why
                }
            });
            writer.start();
            byte[] out;
            try (InputStream stdout = p.getInputStream()) {
                out = stdout.readAllBytes();
            } finally {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
                writer.join(5_000);
            }
            cgiResponse(ctx, out);
        }

        /** Copies a CGI answer (headers, blank line, body) to the response. */
        private static void cgiResponse(Context ctx, byte[] out) {
            int end = -1;
            int skip = 0;
            for (int i = 0; i + 1 < out.length; i++) {
                if (out[i] == '\n' && out[i + 1] == '\n') {
                    end = i;
                    skip = 2;
                    break;
                }
                if (i + 3 < out.length && out[i] == '\r' && out[i + 1] == '\n' && out[i + 2] == '\r' && out[i + 3] == '\n') {
                    end = i;
                    skip = 4;
                    break;
                }
            }
            if (end < 0) {
                ctx.status(502).result("bad CGI answer");
                return;
            }
            int status = 200;
            for (String line : new String(out, 0, end, StandardCharsets.ISO_8859_1).split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = line.substring(0, colon).strip();
                String value = line.substring(colon + 1).strip();
                if (name.equalsIgnoreCase("Status")) {
                    status = Integer.parseInt(value.split(" ")[0]);
                } else {
                    ctx.header(name, value);
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(out, end + skip, out.length - end - skip);
            ctx.status(status).result(body.toByteArray());
        }

        private static void putIfPresent(Map<String, String> env, String name, String value) {
            if (value != null) {
                env.put(name, value);
            }
        }

        @Override
        public void close() {
            app.stop();
        }
    }

    // --- helpers --------------------------------------------------------------------------------------

    private record Output(int exit, String text) {
    }

    private static Output run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
            return new Output(p.exitValue(), text);
        } finally {
            p.destroyForcibly();
        }
    }
}
