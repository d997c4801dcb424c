package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the daemon's secrets reach, with the daemon as a real child process (its environment and umask are
 * the point): {@code deploy.command} gets none of them in its environment; the state folder gives nothing to
 * other users under umask 000 and is narrowed when found wider; the command's output is kept masked and
 * capped in the history, {@code /status} and the log; and the shipped unit hands secrets over as credentials.
 */
class SecretHygieneIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Credentials the way systemd hands them over: a folder named by {@code CREDENTIALS_DIRECTORY}. */
    private record Credentials(Path dir, String webhookSecret, String gitPassword) {
        static Credentials in(Path dir) throws IOException {
            Files.createDirectories(dir);
            Credentials c = new Credentials(dir, random("webhook-"), random("gitpass-"));
            Files.writeString(dir.resolve("webhook-secret"), c.webhookSecret + "\n");
            Files.writeString(dir.resolve("git-password"), c.gitPassword + "\n");
            return c;
        }
    }

    @Test
    void deployCommandGetsTheDeployFactsAndTheOrdinaryEnvironmentButNoSecretOfTheDaemon() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Credentials cred = Credentials.in(tmp.resolve("credentials"));
        String fileSecret = random("file-");
        Path secretFile = tmp.resolve("secret");
        Files.writeString(secretFile, fileSecret + "\n");
        String envSecret = random("env-");
        Path dump = tmp.resolve("env.txt");
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CREDENTIALS_DIRECTORY", cred.dir.toString());
        env.put("PULLHOOK_SECRET", envSecret);
        env.put("PULLHOOK_WEBHOOK_SECRET_FILE", secretFile.toString());
        env.put("PULLHOOK_GIT_HTTPS_USERNAME", "deploy-bot");
        env.put("PULLHOOK_DEPLOY_COMMAND_TIMEOUT_SECONDS", "120");
        env.put("PULLHOOK_A_KEY_ADDED_LATER", "kept from the command too");
        env.put("LANG", "C.UTF-8");
        env.put("SITE_MODE", "production");
        int port = Ports.free();
        Path config = config(repos, port, Map.of("deploy.command", "env > " + dump));
        try (ChildDaemon d = ChildDaemon.start(config, port, tmp.resolve("daemon.log"), "", env)) {
            ObjectId before = repos.siteHead();
            ObjectId pushed = repos.pushNewCommit();

            JsonNode answer = deploy(d, cred.webhookSecret);

            assertEquals("deployed", answer.path("status").asText(), answer::toString);
            String text = Files.readString(dump, StandardCharsets.UTF_8);
            Map<String, String> seen = parseEnv(text);
            List<String> pullhook = seen.keySet().stream().filter(k -> k.startsWith("PULLHOOK_")).sorted().toList();
            assertEquals(List.of("PULLHOOK_BRANCH", "PULLHOOK_FROM", "PULLHOOK_TO"), pullhook, text);
            assertEquals(before.name(), seen.get("PULLHOOK_FROM"));
            assertEquals(pushed.name(), seen.get("PULLHOOK_TO"));
            assertEquals("main", seen.get("PULLHOOK_BRANCH"));
            assertFalse(seen.containsKey("CREDENTIALS_DIRECTORY"), text);
            for (String secret : List.of(cred.webhookSecret, cred.gitPassword, fileSecret, envSecret)) {
                assertFalse(text.contains(secret), "a secret in the command's environment:\n" + text);
            }
            assertFalse(text.contains(cred.dir.toString()), "the credentials folder is not named:\n" + text);
            assertEquals("production", seen.get("SITE_MODE"), "the ordinary environment is kept");
            assertEquals("C.UTF-8", seen.get("LANG"));
            assertEquals(System.getenv("PATH"), seen.get("PATH"));
            if (System.getenv("HOME") != null) {
                assertEquals(System.getenv("HOME"), seen.get("HOME"));
            }
            String log = d.logText();
            for (String secret : List.of(cred.webhookSecret, cred.gitPassword, fileSecret, envSecret)) {
                assertFalse(log.contains(secret), "a secret in the log:\n" + log);
            }
        } finally {
            repos.close();
        }
    }

    @Test
    void underUmask000TheStateFolderAndEveryFileInItAreTheDaemonsOnly() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Path state = tmp.resolve("state");
        Path markerMode = tmp.resolve("marker-mode");
        int port = Ports.free();
        // history.size 1: the second deploy rewrites the history through history.jsonl.tmp
        Path config = config(repos, port, Map.of("state.dir", state.toString(), "deploy.history.size", "1",
                "deploy.command", "stat -c %a " + state.resolve("deploy.running") + " > " + markerMode));
        try (ChildDaemon d = ChildDaemon.start(config, port, tmp.resolve("daemon.log"), "umask 000",
                Map.of("PULLHOOK_SECRET", SECRET))) {
            for (int i = 0; i < 2; i++) {
                repos.pushNewCommit();
                JsonNode answer = deploy(d, SECRET);
                assertEquals("deployed", answer.path("status").asText(), answer::toString);
            }
            assertEquals("rwx------", perms(state));
            assertEquals("rw-------", perms(state.resolve("lock")));
            assertEquals("rw-------", perms(state.resolve("history.jsonl")));
            assertEquals(1, Files.readAllLines(state.resolve("history.jsonl")).size(), "the history was rewritten");
            assertEquals("600", Files.readString(markerMode).strip(), "the crash marker, seen by the command");
            assertFalse(Files.exists(state.resolve("history.jsonl.tmp")));
            // what the daemon did not write keeps the daemon's umask: the working copy is the site's
            assertEquals("rw-rw-rw-", perms(repos.site.resolve("change-2.txt")));
        } finally {
            repos.close();
        }
    }

    @Test
    void aStateFolderFoundWiderIsNarrowedAtStartWithAWarningNamingEachPath() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Path state = tmp.resolve("state");
        Files.createDirectories(state);
        List<Path> files = new ArrayList<>();
        for (String name : List.of("lock", "history.jsonl", "history.jsonl.tmp")) {
            Path f = state.resolve(name);
            Files.writeString(f, "");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
            files.add(f);
        }
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
        int port = Ports.free();
        Path config = config(repos, port, Map.of("state.dir", state.toString()));
        try (ChildDaemon d = ChildDaemon.start(config, port, tmp.resolve("daemon.log"), "umask 000",
                Map.of("PULLHOOK_SECRET", SECRET))) {
            repos.pushNewCommit();
            JsonNode answer = deploy(d, SECRET);
            assertEquals("deployed", answer.path("status").asText(), answer::toString);

            assertEquals("rwxr-x---", perms(state), "group read and search may stay (StateDirectoryMode=0750)");
            for (Path f : files) {
                assertEquals("rw-------", perms(f), f.toString());
            }
            String log = d.logText();
            assertTrue(log.contains("state permissions tightened path=" + state + " was=rwxrwxrwx now=rwxr-x---"), log);
            for (Path f : files) {
                assertTrue(log.contains("state permissions tightened path=" + f + " was=rw-rw-rw- now=rw-------"), log);
            }
        } finally {
            repos.close();
        }
    }

    @Test
    void commandOutputIsKeptMaskedAndCappedInTheHistoryStatusAndLog() throws Exception {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        Credentials cred = Credentials.in(tmp.resolve("credentials"));
        Path c = cred.dir;
        // prints the credentials it can read (the folder's name is no secret), and far more than is kept:
        // 30 short lines, 8 of 1000 characters, the webhook secret across the 500-character cut, the git
        // password alone and in a URL, a 64 MiB line without a newline in sight, the secret once more
        Path script = tmp.resolve("noisy.sh");
        Files.writeString(script, String.join("\n",
                "seq 1 30",
                "for i in 1 2 3 4 5 6 7 8; do yes xxxxxxxxxx | tr -d '\\n' | head -c 1000; echo; done",
                "printf '%0495d%s' 0 \"$(cat " + c + "/webhook-secret)\"; echo",
                "p=$(cat " + c + "/git-password); echo \"token=$p url=https://deploy-bot:$p@git.example.com/site.git\"",
                "yes yyyyyyyyyyyyyyyy | tr -d '\\n' | head -c 67108864; echo",
                "echo \"webhook $(cat " + c + "/webhook-secret)\"",
                "exit 3", ""));
        int port = Ports.free();
        Path state = tmp.resolve("state");
        Path config = config(repos, port, Map.of("deploy.command", "sh " + script, "state.dir", state.toString()));
        Map<String, String> env = Map.of("CREDENTIALS_DIRECTORY", c.toString(),
                "PULLHOOK_GIT_HTTPS_USERNAME", "deploy-bot");
        try (ChildDaemon d = ChildDaemon.start(config, port, tmp.resolve("daemon.log"), "", env)) {
            repos.pushNewCommit();

            JsonNode answer = deploy(d, cred.webhookSecret);

            assertEquals("failed", answer.path("status").asText(), answer::toString);
            assertEquals("deploy.command exited with status 3: webhook ****", answer.path("error").asText());
            String history = Files.readString(state.resolve("history.jsonl"), StandardCharsets.UTF_8);
            JsonNode entry = JSON.readTree(history.lines().reduce((a, b) -> b).orElseThrow());
            List<String> output = new ArrayList<>();
            entry.path("command").path("output").forEach(l -> output.add(l.asText()));
            // the last 20 lines, then the newest of them that fit in 4096 bytes with a newline each: the last
            // four (1,070 bytes) and 6 of the 1000-character lines cut to 500 (504 bytes each)
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                expected.add("x".repeat(500) + "...");
            }
            expected.add("0".repeat(495) + "****");
            expected.add("token=**** url=https://****@git.example.com/site.git");
            expected.add("y".repeat(500) + "...");
            expected.add("webhook ****");
            assertEquals(expected, output);
            int bytes = output.stream().mapToInt(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).sum();
            assertTrue(bytes <= 4096 && output.size() <= 20, bytes + " bytes in " + output.size() + " lines");

            String status = d.get("/status");
            String log = d.logText();
            assertTrue(status.contains("webhook ****"), status);
            assertTrue(log.contains("command output: token=**** url=https://****@git.example.com/site.git"), log);
            for (String where : List.of(history, status, log)) {
                for (String secret : List.of(cred.webhookSecret, cred.gitPassword)) {
                    assertFalse(where.contains(secret.substring(0, 12)), "a secret, or its start:\n" + where);
                }
            }
        } finally {
            repos.close();
        }
    }

    @Test
    void theShippedUnitHandsSecretsOverAsCredentialsNotThroughTheEnvironment() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("systemd/pullhook.service")).stream()
                .map(String::strip).filter(l -> !l.startsWith("#")).toList();
        assertTrue(lines.contains("LoadCredential=webhook-secret:/etc/pullhook/secret"), lines::toString);
        for (String l : lines) {
            assertFalse(l.startsWith("Environment=") && l.contains("PULLHOOK_"), l);
            assertFalse(l.startsWith("EnvironmentFile=") || l.startsWith("PassEnvironment="), l);
        }
    }

    private static final String SECRET = random("secret-");

    private Path config(TestRepos repos, int port, Map<String, String> keys) throws IOException {
        Map<String, String> all = new HashMap<>(Map.of("repo.path", repos.site.toString(),
                "server.port", Integer.toString(port), "deploy.on.start", "false"));
        all.putAll(keys);
        StringBuilder text = new StringBuilder();
        all.forEach((k, v) -> text.append(k).append(" = ").append(v).append('\n'));
        Path file = Files.createTempFile(tmp, "config", ".properties");
        Files.writeString(file, text.toString());
        return file;
    }

    private static JsonNode deploy(ChildDaemon d, String secret) throws IOException, InterruptedException {
        HttpResponse<String> r = d.postSigned(secret, "/pull-repo?wait=true", "{}");
        return JSON.readTree(r.body());
    }

    private static Map<String, String> parseEnv(String text) {
        Map<String, String> env = new HashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                env.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return env;
    }

    private static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static String random(String prefix) {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }
}
