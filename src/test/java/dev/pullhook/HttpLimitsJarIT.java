package dev.pullhook;

import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Fixtures;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP edge's limits in the shipped jar, with its default limits and a 64 MB heap: a body announced
 * too large is refused from its {@code Content-Length} before a byte of it is read; bodies trickled slower
 * than {@code server.body.min.bytes.per.second} are cut by the server; while they trickle, {@code /health}
 * answers and a signed push is deployed. (The same attacks at full scale, for 60 s each through the
 * shipped NGINX, are bench/load.sh's; this is their functional check.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpLimitsJarIT {
    private TestRepos repos;
    private ChildDaemon daemon;
    private int port;

    @BeforeAll
    void start(@TempDir Path tmp) throws Exception {
        repos = TestRepos.create(tmp.resolve("repos"));
        Path secret = Files.writeString(tmp.resolve("secret"), TestDaemon.SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        port = Ports.free();
        Path config = Files.writeString(tmp.resolve("config.properties"), "repo.path=" + repos.site
                + "\nwebhook.secret.file=" + secret + "\nserver.port=" + port + "\n");
        daemon = ChildDaemon.startJar(config, port, tmp.resolve("daemon.log"));
    }

    @AfterAll
    void stop() throws Exception {
        daemon.close();
        repos.close();
    }

    @Test
    void aBodyAnnouncedTooLargeIsRefusedBeforeItIsSent() throws IOException {
        try (Socket s = connect()) {
            // 50 MB announced, not one byte of it sent: the answer must come anyway
            send(s, "POST /pull-repo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n");
            String answer = readAnswer(s);
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer + "\n" + daemon.logText());
            assertTrue(answer.contains("\"status\":\"too large\""), answer);
        }
    }

    @Test
    void slowBodiesAreCutWhileHealthAnswersAndASignedPushDeploys() throws Exception {
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {  // 20 bodies of 1,000 bytes at 10 bytes/s: 100 s each if let be
                Socket s = connect();
                send(s, "POST /pull-repo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: push\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
                slow.add(s);
            }
            ObjectId tip = repos.pushNewCommit();
            byte[] body = Fixtures.payload("github/push.json");
            long cutBy = System.nanoTime() + 30_000_000_000L;
            boolean pushed = false;
            int open = slow.size();
            while (open > 0 && System.nanoTime() < cutBy) {
                open = 0;
                for (Socket s : slow) {
                    if (!s.isClosed() && trickle(s)) {
                        open++;
                    }
                }
                assertTrue(daemon.get("/health").contains("\"ok\""), daemon::logText);
                if (!pushed) {
                    assertEquals(200, daemon.post("/pull-repo?wait=true", body, "X-GitHub-Event", "push",
                            "X-GitHub-Delivery", "limits-1",
                            "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, body)).statusCode(),
                            daemon::logText);
                    assertEquals(tip, repos.siteHead());
                    pushed = true;
                }
            }
            assertEquals(0, open, "bodies at 10 bytes/s still open after 30 s\n" + daemon.logText());
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    /** Sends one more byte (about 10 bytes/s with the loop's pace); false once the server closed or answered. */
    private static boolean trickle(Socket s) {
        try {
            s.getOutputStream().write(' ');
            s.getOutputStream().flush();
            s.setSoTimeout(5);  // 20 sockets x 5 ms: about 10 bytes/s each
            s.getInputStream().read();
            s.close();  // an answer (408, 400) or the end of the stream: cut
            return false;
        } catch (SocketTimeoutException e) {
            return true;  // still reading our body
        } catch (IOException e) {
            closeQuietly(s);
            return false;  // reset by the server: cut
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(10_000);
        return s;
    }

    private static void send(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private static String readAnswer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        StringBuilder answer = new StringBuilder();
        int n;
        while ((n = in.read(buf)) > 0) {
            answer.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            if (answer.indexOf("\r\n\r\n") >= 0 && answer.indexOf("}") >= 0) {
                break;
            }
        }
        return answer.toString();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a socket the server reset
        }
    }
}
