package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.DiskSnapshot;
import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.ObjectForge;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end, {@code deploy.mode=atomic}: each deploy checks the pushed commit out into a new folder under
 * {@code releases/} from the shared bare {@code repo.git}, runs the command and the health check there, and only
 * then points {@code current} at it; whatever fails before leaves {@code current} as it was and no half-made
 * release behind. The reference for a release's files is {@code git archive} of the same commit.
 */
class AtomicDeployIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private TestRepos repos;
    private LogCapture log;
    private Path root;

    @BeforeEach
    void start() throws Exception {
        log = new LogCapture();
        repos = TestRepos.create(dir.resolve("repos"));
        root = dir.resolve("www");
        Files.createDirectories(root);
        try (Git g = Git.cloneRepository().setURI(repos.origin.toUri().toString()).setBare(true)
                .setDirectory(root.resolve("repo.git").toFile()).call()) {
            g.getRepository();
        }
    }

    @AfterEach
    void stop() {
        repos.close();
        log.close();
    }

    private TestDaemon startDaemon(String... keys) {
        Map<String, String> values = new HashMap<>();
        values.put("deploy.on.start", "false");
        values.put("repo.path", root.toString());
        values.put("deploy.mode", "atomic");
        for (int i = 0; i + 1 < keys.length; i += 2) {
            values.put(keys[i], keys[i + 1]);
        }
        return TestDaemon.start(repos, values);
    }

    private static HttpResponse<String> deploy(TestDaemon d) {
        return d.postSigned("/pull-repo?wait=true", "{}");
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    private Path current() throws IOException {
        Path link = root.resolve("current");
        assertTrue(Files.isSymbolicLink(link), "current is a link");
        return root.resolve(Files.readSymbolicLink(link)).normalize();
    }

    private List<String> releases() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("releases"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    /** The files of {@code commit} as {@code git archive} writes them, extracted by tar. */
    private Path archive(ObjectId commit) throws Exception {
        Path out = Files.createDirectories(dir.resolve("archive-" + commit.name()));
        Path tar = dir.resolve(commit.name() + ".tar");
        GitCli.run(repos.origin, "archive", "--format=tar", "-o", tar.toString(), commit.name());
        Process p = new ProcessBuilder("tar", "-xf", tar.toString(), "-C", out.toString()).redirectErrorStream(true)
                .start();
        assertEquals(0, p.waitFor(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        return out;
    }

    @Test
    void deployWritesANewReleaseThatMatchesGitArchiveAndSwitchesCurrentToIt() throws Exception {
        Path dev = repos.dev;
        Files.createDirectories(dev.resolve("assets/css"));
        Files.writeString(dev.resolve("assets/css/site.css"), "body { color: red }\n");
        Files.writeString(dev.resolve("run.sh"), "#!/bin/sh\necho hi\n");
        dev.resolve("run.sh").toFile().setExecutable(true);
        Files.createSymbolicLink(dev.resolve("style.css"), Path.of("assets/css/site.css"));
        // attributes apply as git's checkout applies them: line endings converted on the way out
        Files.writeString(dev.resolve(".gitattributes"), "*.bat text eol=crlf\n");
        Files.writeString(dev.resolve("build.bat"), "echo one\necho two\n");
        GitCli.run(dev, "add", "-A");
        GitCli.run(dev, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "files of all kinds");
        GitCli.run(dev, "push", "-q", "origin", "HEAD:main");
        ObjectId a = repos.originTip();

        try (TestDaemon d = startDaemon("deploy.command", "echo \"$PULLHOOK_TO\" > built.txt")) {
            HttpResponse<String> r = deploy(d);
            assertEquals(200, r.statusCode(), r::body);
            Path release = current();
            assertTrue(release.getFileName().toString().endsWith("-" + a.abbreviate(7).name()), release.toString());
            assertEquals(a.name() + "\n", Files.readString(release.resolve("built.txt")),
                    "deploy.command ran in the new release");
            Files.delete(release.resolve("built.txt"));
            DiskSnapshot expected = DiskSnapshot.of(archive(a), rel -> rel.isEmpty());
            DiskSnapshot got = DiskSnapshot.of(release, rel -> rel.isEmpty());
            assertEquals(expected.entries(), got.entries(), () -> String.join("\n", expected.diff(got)));
            assertFalse(Files.exists(release.resolve(".git"), LinkOption.NOFOLLOW_LINKS), "no .git in a release");
            assertEquals("echo one\r\necho two\r\n", Files.readString(release.resolve("build.bat")), "eol=crlf applied");
            assertTrue(Files.isSymbolicLink(release.resolve("style.css")), "a link stays a link");
            assertTrue(Files.isExecutable(release.resolve("run.sh")), "the executable bit is kept");
            assertEquals(a.name(), json(d.get("/status")).get("head").asText());
        }
    }

    @Test
    void failingCommandOrCheckLeavesCurrentUntouchedAndRemovesTheNewRelease() throws Exception {
        try (TestDaemon d = startDaemon("deploy.command", "! grep -q yes fail-build 2>/dev/null || { echo broken build; exit 1; }",
                "deploy.check.command", "! grep -q yes fail-check 2>/dev/null", "deploy.check.retries", "0")) {
            ObjectId a = repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            Path before = current();
            List<String> releasesBefore = releases();

            repos.commitAndPush("fail-build", "yes\n", "a broken build");
            HttpResponse<String> failed = deploy(d);
            assertEquals(500, failed.statusCode(), failed::body);
            assertTrue(json(failed).get("error").asText().contains("current still points to " + before.getFileName()),
                    failed::body);
            assertEquals(before, current(), "a failed command never switches current");
            assertEquals(releasesBefore, releases(), "the half-made release is gone");

            repos.commitAndPush("fail-build", "no\n", "the build is fixed");
            repos.commitAndPush("fail-check", "yes\n", "but the site is down");
            HttpResponse<String> unhealthy = deploy(d);
            assertEquals(500, unhealthy.statusCode(), unhealthy::body);
            assertEquals("command", json(unhealthy).get("check").asText(), unhealthy::body);
            assertTrue(json(unhealthy).get("error").asText().contains("the release was not switched in"),
                    unhealthy::body);
            assertEquals(before, current(), "a failed health check never switches current");
            assertEquals(releasesBefore, releases());
            assertEquals(a.name(), json(d.get("/status")).get("head").asText());
        }
    }

    @Test
    void onlyTheNewestReleasesAreKeptAndRollbackSwitchesCurrentBackToTheKeptFolder() throws Exception {
        try (TestDaemon d = startDaemon("deploy.keep.releases", "2")) {
            List<Path> made = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                repos.pushNewCommit();
                assertEquals(200, deploy(d).statusCode());
                made.add(current());
            }
            assertEquals(List.of(made.get(2).getFileName().toString(), made.get(3).getFileName().toString()),
                    releases(), "deploy.keep.releases=2 keeps the newest two");

            HttpResponse<String> back = d.postSigned("/rollback?wait=true", "");
            assertEquals(200, back.statusCode(), back::body);
            assertEquals(made.get(2), current(), "rollback points current at the previous release, not a copy");
            assertEquals(2, releases().size());
        }
    }

    /** Also the one test of the line docs/atomic.md quotes for it: only this test keeps an edited release. */
    @Test
    void anOldReleaseWithEditedFilesIsKeptNotPruned() throws Exception {
        try (TestDaemon d = startDaemon("deploy.keep.releases", "1")) {
            repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            Path edited = current();
            Files.writeString(edited.resolve("change-1.txt"), "edited on the server\n");
            repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            assertNotEquals(edited, current());
            assertTrue(Files.isDirectory(edited), "the edited release is kept");
            assertEquals("edited on the server\n", Files.readString(edited.resolve("change-1.txt")));
            assertEquals(1, log.linesWith("[WARN] OldReleases - deploy id=2 keeping the old release " + edited.getFileName()
                    + ": its tracked files were edited [change-1.txt] (releases are read-only; copy the edits into the"
                    + " repository, then remove it)").size(), log::text);

            repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            assertEquals(2, releases().size(), "the newest, and the edited one; the untouched one went");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"true", "false"})
    void aHostileTreeCannotWriteOutsideTheReleaseOrIntoGit(String fsck) throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("victim"), "nothing may write here\n");
        try (TestDaemon d = startDaemon("git.fsck", fsck)) {
            ObjectId a = repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            Path before = current();
            DiskSnapshot outsideBefore = DiskSnapshot.of(outside);
            DiskSnapshot storeConfig = DiskSnapshot.of(root.resolve("repo.git/config"));

            try (ObjectForge f = ObjectForge.open(repos.origin)) {
                ObjectId victim = f.blob("overwritten\n");
                ObjectId link = f.blob(outside.toString());
                // a link to outside, and a folder of the same name holding a file: git refuses both orders
                ObjectId viaLink = f.tree(ObjectForge.symlink("out", link),
                        ObjectForge.folder("out", f.tree(ObjectForge.file("victim", victim))));
                ObjectId dotGit = f.tree(ObjectForge.folder(".git", f.tree(ObjectForge.file("config", victim))));
                for (ObjectId tree : List.of(viaLink, dotGit)) {
                    f.moveBranch("main", f.commit(tree, a, "hostile"));
                    HttpResponse<String> r = deploy(d);
                    assertEquals(500, r.statusCode(), r::body);
                    assertEquals(before, current(), r.body());
                    assertEquals(List.of(before.getFileName().toString()), releases(), r.body());
                    assertEquals(outsideBefore, DiskSnapshot.of(outside), r.body());
                    assertEquals(storeConfig, DiskSnapshot.of(root.resolve("repo.git/config")), r.body());
                }
            }
        }
    }

    @Test
    void killedMidCommandTheNextStartRemovesTheUnfinishedReleaseAndBuildsANewOne() throws Exception {
        Path armed = dir.resolve("armed");
        Path started = dir.resolve("started");
        Path release = dir.resolve("release-it");
        int port = dev.pullhook.testing.Ports.free();
        Path secret = Files.writeString(dir.resolve("secret"), TestDaemon.SECRET + "\n");
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        // the first run of the command hangs until the test lets it go (or its folder is gone: the killed
        // daemon leaves it running, and the folder may be removed before it sees release-it); later runs pass
        String command = "if [ -e '" + armed + "' ]; then rm '" + armed + "'; touch '" + started + "';"
                + " while [ ! -e '" + release + "' ] && [ -d '" + dir + "' ]; do sleep 0.05; done; fi";
        Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                "repo.path = " + root, "server.port = " + port, "deploy.mode = atomic",
                "webhook.secret.file = " + secret, "deploy.command = " + command) + "\n");
        String unfinished;
        try {
            ObjectId a = repos.pushNewCommit();
            try (dev.pullhook.testing.ChildDaemon d = dev.pullhook.testing.ChildDaemon.start(config, port,
                    dir.resolve("daemon-1.log"), "", Map.of())) {
                dev.pullhook.testing.Poll.until("the start-up deploy", () -> Files.isSymbolicLink(root.resolve("current")));
                Path before = current();
                Files.createFile(armed);
                repos.pushNewCommit();
                d.post("/pull-repo", "{}".getBytes(StandardCharsets.UTF_8), "X-Pullhook-Auth",
                        dev.pullhook.testing.Signatures.manual(TestDaemon.SECRET, "/pull-repo",
                                "{}".getBytes(StandardCharsets.UTF_8)));
                dev.pullhook.testing.Poll.until("the command hangs", () -> Files.exists(started));
                assertEquals(2, releases().size(), "the unfinished release is there while its command runs");
                unfinished = releases().stream().filter(r -> !r.equals(before.getFileName().toString()))
                        .findFirst().orElseThrow();
                d.process.destroyForcibly().waitFor();
                Files.createFile(release);  // the killed daemon's command, left running, may end now
                assertEquals(before, current(), "killed before the switch: current is untouched");
            }
            ObjectId c = repos.originTip();
            try (dev.pullhook.testing.ChildDaemon d = dev.pullhook.testing.ChildDaemon.start(config, port,
                    dir.resolve("daemon-2.log"), "", Map.of())) {
                dev.pullhook.testing.Poll.until("the recovery deploy", () -> {
                    try {
                        return current().getFileName().toString().endsWith(c.abbreviate(7).name());
                    } catch (IOException e) {
                        return false;
                    }
                });
                assertEquals(2, releases().size(), "the unfinished release was removed, a new one made: "
                        + releases());
                assertFalse(releases().contains(unfinished), "the unfinished release " + unfinished + " is gone: "
                        + releases());
            }
            assertNotEquals(a, c);
        } finally {
            if (!Files.exists(release)) {
                Files.createFile(release);
            }
        }
    }

    @Test
    void atomicModeOnAWorkingCopyIsAConfigErrorThatSaysHowToSwitch() {
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader(
                Map.of("PULLHOOK_SECRET", TestDaemon.SECRET), w -> { }).fromMap(Map.of(
                "repo.path", repos.site.toString(), "deploy.mode", "atomic")));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("repo.path: ") && p.contains("working copy")
                && p.contains("git clone --bare")), e.problems()::toString);
        ConfigException mode = assertThrows(ConfigException.class, () -> new ConfigLoader(
                Map.of("PULLHOOK_SECRET", TestDaemon.SECRET), w -> { }).fromMap(Map.of(
                "repo.path", repos.site.toString(), "deploy.mode", "blue-green")));
        assertTrue(mode.problems().stream().anyMatch(p -> p.startsWith("deploy.mode: ")), mode.problems()::toString);
    }
}
