package dev.pullhook.demo;

import dev.pullhook.Daemon;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.Tools;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.PersonIdent;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --demo} with no configuration: the printed paths and URL work, a push from the printed developer
 * clone followed by a signed POST deploys it, the secret is never printed, and the folder goes at the end.
 */
class DemoIT {
    @Test
    void demoDeploysAPushFromItsOwnCloneAndCleansUp() throws Exception {
        // the printed command needs them; skipped with the reason when one is missing (failed under CI=true)
        Tools.openssl();
        Tools.curl();
        Demo demo = Demo.create(new ConfigLoader(Map.of(), w -> { }));
        Path dir = demo.config().repoPath().getParent();
        try (Daemon daemon = Daemon.start(demo.config())) {
            String text = demo.instructions(daemon.port());
            String secret = Files.readString(dir.resolve("secret")).strip();
            assertFalse(text.contains(secret), "the instructions read the secret from its file, never show it");
            assertTrue(text.contains("http://127.0.0.1:" + daemon.port() + "/pull-repo?wait=true"), text);
            Matcher devPath = Pattern.compile("cd (\\S+/dev) ").matcher(text);
            assertTrue(devPath.find(), text);

            Path dev = Path.of(devPath.group(1));
            Files.writeString(dev.resolve("index.html"), "<p>changed</p>\n");
            PersonIdent who = new PersonIdent("demo", "demo@example.invalid");
            try (Git git = Git.open(dev.toFile())) {
                git.commit().setAll(true).setMessage("demo change").setAuthor(who).setCommitter(who).call();
                git.push().setRemote("origin").add("main").call();
            }
            // step 2 exactly as printed: the shell computes the proof with openssl and sends it with curl
            Matcher trigger = Pattern.compile("(?m)^\\s*(t=\\$\\(date.*curl .*/pull-repo\\?wait=true'); echo$").matcher(text);
            assertTrue(trigger.find(), text);
            Process sh = new ProcessBuilder("bash", "-c", trigger.group(1)).redirectErrorStream(true).start();
            String answer = new String(sh.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(0, sh.waitFor(), answer);
            assertTrue(answer.contains("\"status\":\"deployed\""), answer);
            // the same request again (same nonce) is refused: a captured manual request cannot be replayed
            String proof = Signatures.manual(secret, "POST", "/pull-repo", new byte[0], System.currentTimeMillis() / 1000,
                    Signatures.freshNonce());
            HttpResponse<String> first = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + daemon.port() + "/pull-repo?wait=true"))
                    .header("X-Pullhook-Auth", proof)
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, first.statusCode(), first.body());
            HttpResponse<String> again = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + daemon.port() + "/pull-repo?wait=true"))
                    .header("X-Pullhook-Auth", proof)
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(403, again.statusCode(), again.body());
            assertEquals("<p>changed</p>\n", Files.readString(dir.resolve("site/index.html")));
        } finally {
            demo.cleanUp();
        }
        assertFalse(Files.exists(dir), "the demo folder is removed");
    }
}
