package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.GatedGitServer;
import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * End to end, what a deploy does to work found in the working copy (edited files, local commits, untracked
 * files, git locks), what runs after it ({@code deploy.command}), and what deploys without a webhook
 * (rollback, start, poll) or is cut short (timeouts). Each test has its own repositories and its own daemon
 * with the keys it needs; {@code deploy.on.start} is off unless the test is about it, so that nothing runs
 * that the test did not ask for.
 */
class SafeDeployIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PersonIdent ADMIN = new PersonIdent("Server Admin", "admin@example.invalid");
    private static final String LOCAL_EDIT = "edited on the server\n";

    @TempDir
    Path dir;
    private TestRepos repos;
    private LogCapture log;

    @BeforeEach
    void createRepositories() {
        log = new LogCapture();
        repos = TestRepos.create(dir.resolve("repos"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
        log.close();
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** A daemon for this test's repositories, without a start-up deploy unless {@code keys} asks for one. */
    private TestDaemon startDaemon(String... keys) {
        Map<String, String> values = new HashMap<>();
        values.put("deploy.on.start", "false");
        for (int i = 0; i + 1 < keys.length; i += 2) {
            values.put(keys[i], keys[i + 1]);
        }
        return TestDaemon.start(repos, values);
    }

    private static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + response.body(), e);
        }
    }

    private static HttpResponse<String> deploy(TestDaemon d) {
        return d.postSigned("/pull-repo?wait=true", "{}");
    }

    /** A signed deploy request whose answer must come within {@code bound}, else the test fails. */
    private static HttpResponse<String> deployWithin(TestDaemon d, Duration bound) {
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        return d.send(HttpRequest.newBuilder(d.uri("/pull-repo?wait=true")).timeout(bound)
                .header("X-Pullhook-Auth", Signatures.manual(SECRET, "/pull-repo", body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    private static JsonNode status(TestDaemon d) {
        HttpResponse<String> response = d.get("/status");
        assertEquals(200, response.statusCode(), response::body);
        return json(response);
    }

    private static JsonNode newestDeploy(TestDaemon d) {
        JsonNode deploys = status(d).get("deploys");
        assertFalse(deploys.isEmpty(), "no deploy in /status");
        return deploys.get(0);
    }

    private static long newestDeployId(TestDaemon d) {
        JsonNode deploys = status(d).get("deploys");
        return deploys.isEmpty() ? 0 : deploys.get(0).get("id").asLong();
    }

    private void assertDeployed(HttpResponse<String> response, ObjectId to) {
        assertEquals(200, response.statusCode(), response::body);
        JsonNode body = json(response);
        assertEquals("deployed", body.get("status").asText(), response::body);
        assertEquals(to.name(), body.get("to").asText(), response::body);
        assertEquals(to, repos.siteHead());
    }

    /** Asserts a 500 "failed" answer and returns its error. */
    private static String assertFailed(HttpResponse<String> response) {
        assertEquals(500, response.statusCode(), response::body);
        JsonNode body = json(response);
        assertEquals("failed", body.get("status").asText(), response::body);
        String error = body.get("error").asText();
        assertFalse(error.isBlank(), response::body);
        return error;
    }

    private static String abbrev(ObjectId id) {
        return id.abbreviate(7).name();
    }

    private Git site() throws IOException {
        return Git.open(repos.site.toFile());
    }

    private void editReadmeInSite() throws IOException {
        Files.writeString(repos.site.resolve("README.md"), LOCAL_EDIT);
    }

    private Collection<RevCommit> stashes() throws Exception {
        try (Git git = site()) {
            return git.stashList().call();
        }
    }

    private List<Ref> backupRefs() throws IOException {
        try (Git git = site()) {
            return git.getRepository().getRefDatabase().getRefsByPrefix("refs/pullhook/backup/");
        }
    }

    private String fileInCommit(ObjectId commit, String path) throws IOException {
        try (Git git = site(); RevWalk walk = new RevWalk(git.getRepository())) {
            RevCommit c = walk.parseCommit(commit);
            try (TreeWalk tw = TreeWalk.forPath(git.getRepository(), path, c.getTree())) {
                assertNotNull(tw, path + " is not in " + commit.name());
                return new String(git.getRepository().open(tw.getObjectId(0)).getBytes(), StandardCharsets.UTF_8);
            }
        }
    }

    // ---- local changes to tracked files ---------------------------------------------------------------

    @Test
    void editedTrackedFileIsStashedByDefaultAndTheDeployGoesAhead() throws Exception {
        try (TestDaemon d = startDaemon()) {
            editReadmeInSite();
            ObjectId pushed = repos.commitAndPush("README.md", "# site, version 2\n", "readme v2");

            HttpResponse<String> response = deploy(d);

            assertDeployed(response, pushed);
            assertEquals("# site, version 2\n", repos.siteFile("README.md"), "the file has origin's content");
            Collection<RevCommit> stashes = stashes();
            assertEquals(1, stashes.size(), "one stash entry");
            RevCommit stash = stashes.iterator().next();
            assertTrue(stash.getFullMessage().contains("pullhook"), stash.getFullMessage());
            assertEquals(LOCAL_EDIT, fileInCommit(stash, "README.md"), "the stash holds the local edit");

            String saved = newestDeploy(d).get("saved").asText();
            assertTrue(saved.contains("stash") && saved.contains(stash.name()), saved);
            assertTrue(json(response).get("saved").asText().contains(stash.name()), response::body);
        }
    }

    /**
     * Files whose times changed but not their content (copied without their times, touched, restored from a
     * backup) are no local change; their new times go into the index, as git's refresh does, so that later
     * deploys need not read them again.
     */
    @Test
    void touchedButUnchangedFilesAreNoLocalChangeAndTheIndexLearnsTheirTimes() throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", "refuse")) {
            repos.commitAndPush("a/one.txt", "one\n", "one");
            ObjectId both = repos.commitAndPush("a/two.txt", "two\n", "two");
            assertDeployed(deploy(d), both);
            Instant past = Instant.now().minus(Duration.ofDays(3)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            List<String> touched = List.of("README.md", "a/one.txt", "a/two.txt");
            for (String file : touched) {
                Files.setLastModifiedTime(repos.site.resolve(file), FileTime.from(past));
                assertNotEquals(past.getEpochSecond(), indexedMtime(file), file);
            }

            ObjectId pushed = repos.pushNewCommit();
            assertDeployed(deploy(d), pushed);

            for (String file : touched) {
                assertEquals(past.getEpochSecond(), indexedMtime(file), file + ": the index has its new time");
            }
            assertTrue(stashes().isEmpty(), "nothing was stashed");
            assertEquals("one\n", repos.siteFile("a/one.txt"));
        }
    }

    /** The modification time (seconds) the index records for {@code file}, as git shows it. */
    private long indexedMtime(String file) {
        String debug = GitCli.run(repos.site, "ls-files", "--debug", "--", file);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("mtime: ?(\\d+):").matcher(debug);
        assertTrue(m.find(), debug);
        return Long.parseLong(m.group(1));
    }

    @Test
    void refuseFailsTheDeployNamingTheEditedFileAndTouchesNothing() throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", "refuse")) {
            ObjectId before = repos.siteHead();
            editReadmeInSite();
            repos.pushNewCommit();

            String error = assertFailed(deploy(d));

            assertTrue(error.contains("local changes"), error);
            assertTrue(error.contains("README.md"), error);
            assertEquals(before, repos.siteHead(), "HEAD did not move");
            assertEquals(LOCAL_EDIT, repos.siteFile("README.md"), "the edit is still on disk");
            assertNull(repos.siteFile("change-1.txt"), "the pushed file was not checked out");
            assertTrue(stashes().isEmpty(), "nothing was stashed");
        }
    }

    /**
     * With the tree watch (deploy.watch, on by default) a deploy looks only at files changed since the last
     * one: an edit it refused for must still be there for the next deploy, which refuses again.
     */
    @Test
    void refuseRefusesAgainOnEveryDeployWhileTheEditStays() throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", "refuse")) {
            ObjectId first = repos.pushNewCommit();
            assertDeployed(deploy(d), first);
            ObjectId before = repos.siteHead();
            editReadmeInSite();
            repos.pushNewCommit();

            for (int attempt = 1; attempt <= 3; attempt++) {
                String error = assertFailed(deploy(d));
                assertTrue(error.contains("local changes") && error.contains("README.md"), attempt + ": " + error);
                assertEquals(before, repos.siteHead(), attempt + ": HEAD did not move");
                assertEquals(LOCAL_EDIT, repos.siteFile("README.md"), attempt + ": the edit is still on disk");
            }
            GitCli.run(repos.site, "checkout", "--", "README.md");  // the admin drops the edit
            assertDeployed(deploy(d), repos.originTip());
        }
    }

    @Test
    void editInAFolderTheLastDeployCreatedIsStashed() throws Exception {
        try (TestDaemon d = startDaemon()) {
            ObjectId first = repos.commitAndPush("assets/js/app.js", "console.log(1)\n", "new folder");
            assertDeployed(deploy(d), first);
            Files.writeString(repos.site.resolve("assets/js/app.js"), "console.log('hotfix on the server')\n");
            ObjectId pushed = repos.pushNewCommit();

            assertDeployed(deploy(d), pushed);

            Collection<RevCommit> stashes = stashes();
            assertEquals(1, stashes.size(), "one stash entry");
            assertEquals("console.log('hotfix on the server')\n", fileInCommit(stashes.iterator().next(), "assets/js/app.js"));
            assertEquals("console.log(1)\n", repos.siteFile("assets/js/app.js"), "origin's content is back");
        }
    }

    /** The edit comes a moment before each webhook, to the very file the push changes: it is never overwritten. */
    @Test
    void anEditMadeRightBeforeEachOfTwentyWebhooksIsStashedEveryTime() throws Exception {
        try (TestDaemon d = startDaemon()) {
            ObjectId first = repos.commitAndPush("page.html", "<p>version 0</p>\n", "page 0");
            assertDeployed(deploy(d), first);
            for (int i = 1; i <= 20; i++) {
                ObjectId pushed = repos.commitAndPush("page.html", "<p>version " + i + "</p>\n", "page " + i);
                String edit = "<p>hotfix " + i + " on the server</p>\n";
                Files.writeString(repos.site.resolve("page.html"), edit);

                assertDeployed(deploy(d), pushed);

                Collection<RevCommit> stashes = stashes();
                assertEquals(i, stashes.size(), "deploy " + i + ": one more stash entry");
                assertEquals(edit, fileInCommit(stashes.iterator().next(), "page.html"), "deploy " + i);
                assertEquals("<p>version " + i + "</p>\n", repos.siteFile("page.html"));
            }
        }
    }

    @Test
    void withTheWatchOffEditsAreFoundByLookingAtEveryFile() throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", "refuse", "deploy.watch", "false")) {
            ObjectId first = repos.pushNewCommit();
            assertDeployed(deploy(d), first);
            editReadmeInSite();
            repos.pushNewCommit();
            for (int attempt = 1; attempt <= 2; attempt++) {
                String error = assertFailed(deploy(d));
                assertTrue(error.contains("README.md"), attempt + ": " + error);
            }
            assertTrue(log.linesWith("tree watch").isEmpty(), "the watch was not asked for, so nothing is said about it");
        }
    }

    @Test
    void indexChangedWithGitBetweenDeploysIsReadAgainNotTakenFromMemory() throws Exception {
        // the daemon keeps the index it wrote between deploys: a change by someone else must still be seen
        try (TestDaemon d = startDaemon("deploy.local.changes", "refuse")) {
            ObjectId first = repos.pushNewCommit();
            assertDeployed(deploy(d), first);  // the daemon has written the index itself
            ObjectId before = repos.siteHead();
            GitCli.run(repos.site, "rm", "--cached", "-q", "README.md");  // a staged deletion; the file stays on disk
            repos.pushNewCommit();

            String error = assertFailed(deploy(d));

            assertTrue(error.contains("local changes") && error.contains("README.md"), error);
            assertEquals(before, repos.siteHead(), "HEAD did not move");
            GitCli.run(repos.site, "reset", "-q", "--", "README.md");  // the admin takes it back: the next deploy works
            assertDeployed(deploy(d), repos.originTip());
        }
    }

    @Test
    void discardDropsTheEditWithoutStashing() throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", "discard")) {
            editReadmeInSite();
            ObjectId pushed = repos.pushNewCommit();

            HttpResponse<String> response = deploy(d);

            assertDeployed(response, pushed);
            assertEquals("# site\n", repos.siteFile("README.md"), "the edit is gone");
            assertTrue(stashes().isEmpty(), "nothing was stashed");
            assertFalse(json(response).has("saved"), response::body);
        }
    }

    // ---- local commits ---------------------------------------------------------------------------------

    @ParameterizedTest(name = "deploy.local.changes={0}")
    @ValueSource(strings = {"stash", "discard", "refuse"})
    void localCommitIsKeptOnABackupRefInEveryMode(String mode) throws Exception {
        try (TestDaemon d = startDaemon("deploy.local.changes", mode)) {
            RevCommit local;
            try (Git git = site()) {
                Files.writeString(repos.site.resolve("hotfix.txt"), "fixed on the server\n");
                git.add().addFilepattern("hotfix.txt").call();
                local = git.commit().setMessage("hotfix made on the server").setAuthor(ADMIN).setCommitter(ADMIN).call();
            }
            ObjectId pushed = repos.pushNewCommit();

            HttpResponse<String> response = deploy(d);

            assertDeployed(response, pushed);
            assertNull(repos.siteFile("hotfix.txt"), "the working copy is exactly origin's commit");
            List<Ref> backups = backupRefs();
            assertEquals(1, backups.size(), () -> "backup refs: " + backups);
            Ref backup = backups.get(0);
            assertEquals(local.getId(), backup.getObjectId(), "the backup ref points at the local commit");
            assertTrue(json(response).get("saved").asText().contains(backup.getName()), response::body);
        }
    }

    // ---- untracked files -------------------------------------------------------------------------------

    @Test
    void untrackedFilesAreKeptByDefault() throws Exception {
        try (TestDaemon d = startDaemon()) {
            Files.writeString(repos.site.resolve("upload.txt"), "a user's upload\n");
            Files.createDirectories(repos.site.resolve("cache"));
            Files.writeString(repos.site.resolve("cache/page.html"), "<p>cached</p>\n");
            ObjectId pushed = repos.pushNewCommit();

            assertDeployed(deploy(d), pushed);

            assertEquals("a user's upload\n", repos.siteFile("upload.txt"));
            assertEquals("<p>cached</p>\n", repos.siteFile("cache/page.html"));
        }
    }

    /**
     * A push that brings a file where the working copy has an untracked one (a config written on the
     * server, an upload), or an untracked file where the push needs a folder: git reset --hard would
     * overwrite it. pullhook saves it in git first (a commit on refs/pullhook/saved/<time>), says where, and
     * deploys exactly what git would.
     */
    @Test
    void untrackedFilesInThePathOfThePushAreSavedNotLost() throws Exception {
        try (TestDaemon d = startDaemon()) {
            Files.writeString(repos.site.resolve("settings.local.php"), "<?php $db = 'server';\n");
            Files.writeString(repos.site.resolve("docs"), "an untracked file where the push makes a folder\n");
            repos.commitAndPush("settings.local.php", "<?php $db = 'from git';\n", "settings");
            ObjectId pushed = repos.commitAndPush("docs/index.md", "# docs\n", "docs");

            HttpResponse<String> response = deploy(d);

            assertDeployed(response, pushed);
            assertEquals("<?php $db = 'from git';\n", repos.siteFile("settings.local.php"));
            assertEquals("# docs\n", repos.siteFile("docs/index.md"));
            String ref = savedRef(json(response).get("saved").asText());
            assertEquals("<?php $db = 'server';\n", GitCli.run(repos.site, "show", ref + ":settings.local.php"));
            assertEquals("an untracked file where the push makes a folder\n", GitCli.run(repos.site, "show", ref + ":docs"));
            assertEquals("docs\nsettings.local.php\n", GitCli.run(repos.site, "ls-tree", "--name-only", ref));
            assertTrue(stashes().isEmpty(), "nothing tracked was edited");
        }
    }

    @Test
    void anIgnoredFileInThePathIsSavedButACopyOfWhatThePushBringsIsNot() throws Exception {
        try (TestDaemon d = startDaemon()) {
            Files.createDirectories(repos.site.resolve(".git/info"));
            Files.writeString(repos.site.resolve(".git/info/exclude"), ".env\n");
            Files.writeString(repos.site.resolve(".env"), "SECRET=server\n");
            Files.writeString(repos.site.resolve("robots.txt"), "User-agent: *\n");  // copied by hand before the push
            repos.commitAndPush("robots.txt", "User-agent: *\n", "robots");
            ObjectId pushed = repos.commitAndPush(".env", "SECRET=example\n", "an example .env");

            HttpResponse<String> response = deploy(d);

            assertDeployed(response, pushed);
            String ref = savedRef(json(response).get("saved").asText());
            assertEquals(".env\n", GitCli.run(repos.site, "ls-tree", "--name-only", ref));
            assertEquals("SECRET=server\n", GitCli.run(repos.site, "show", ref + ":.env"));
        }
    }

    /** The ref named by a deploy's "saved" field for untracked files. */
    private static String savedRef(String saved) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("untracked files on (refs/pullhook/saved/\\S+)")
                .matcher(saved);
        assertTrue(m.find(), saved);
        return m.group(1).replaceAll(",$", "");
    }

    @Test
    void cleanRemovesUntrackedFilesButKeepsIgnoredOnes() throws Exception {
        try (TestDaemon d = startDaemon("deploy.clean", "true")) {
            ObjectId ignoring = repos.commitAndPush(".gitignore", "*.log\n", "ignore logs");
            assertDeployed(deploy(d), ignoring);
            Files.writeString(repos.site.resolve("x.log"), "ignored\n");
            Files.writeString(repos.site.resolve("y.txt"), "untracked\n");
            Files.createDirectories(repos.site.resolve("stray"));
            Files.writeString(repos.site.resolve("stray/z.txt"), "untracked in a folder\n");
            ObjectId pushed = repos.pushNewCommit();

            assertDeployed(deploy(d), pushed);

            assertEquals("ignored\n", repos.siteFile("x.log"), "the ignored file stays");
            assertNull(repos.siteFile("y.txt"), "the untracked file is removed");
            assertFalse(Files.exists(repos.site.resolve("stray")), "the untracked folder is removed");
        }
    }

    // ---- git lock files --------------------------------------------------------------------------------

    @Test
    void staleIndexLockIsRemovedAndTheDeployGoesAhead() throws Exception {
        try (TestDaemon d = startDaemon()) {
            Path lock = repos.site.resolve(".git").resolve("index.lock");
            Files.createFile(lock);
            Files.setLastModifiedTime(lock, FileTime.from(Instant.now().minus(Duration.ofMinutes(10))));
            ObjectId pushed = repos.pushNewCommit();

            assertDeployed(deploy(d), pushed);

            assertNotNull(repos.siteFile("change-1.txt"));
            assertFalse(Files.exists(lock), "the stale lock is gone");
        }
    }

    @Test
    void freshIndexLockFailsTheDeployAfterTheWaitAndTheNextOneWorksOnceItIsGone() throws Exception {
        try (TestDaemon d = startDaemon("deploy.lock.wait.seconds", "1")) {
            ObjectId before = repos.siteHead();
            Path lock = repos.site.resolve(".git").resolve("index.lock");
            Files.createFile(lock);
            ObjectId pushed = repos.pushNewCommit();
            try {
                String error = assertFailed(deploy(d));
                assertTrue(error.contains("lock") && error.contains("index.lock"), error);
                assertEquals(before, repos.siteHead(), "HEAD did not move");
                assertNull(repos.siteFile("change-1.txt"), "the working tree did not change");
                assertTrue(Files.exists(lock), "a lock held by a live process is left alone");
            } finally {
                Files.deleteIfExists(lock);
            }

            assertDeployed(deploy(d), pushed);
            assertNotNull(repos.siteFile("change-1.txt"));
        }
    }

    // ---- deploy.command --------------------------------------------------------------------------------

    @Test
    void commandRunsInTheWorkingCopyWithFromToAndBranchAndItsOutputIsShown() throws Exception {
        String command = "echo \"from=$PULLHOOK_FROM to=$PULLHOOK_TO branch=$PULLHOOK_BRANCH\"; pwd";
        try (TestDaemon d = startDaemon("deploy.command", command)) {
            ObjectId before = repos.siteHead();
            ObjectId pushed = repos.pushNewCommit();

            assertDeployed(deploy(d), pushed);

            String fromTo = "from=" + before.name() + " to=" + pushed.name() + " branch=main";
            String pwd = repos.site.toRealPath().toString();
            JsonNode deployed = newestDeploy(d);
            assertEquals("deployed", deployed.get("outcome").asText());
            JsonNode ran = deployed.get("command");
            assertEquals(0, ran.get("exit").asInt(), ran::toString);
            assertFalse(ran.get("timedOut").asBoolean(), ran::toString);
            List<String> output = new ArrayList<>();
            ran.get("output").forEach(line -> output.add(line.asText()));
            assertEquals(List.of(fromTo, pwd), output);
        }
    }

    @Test
    void commandExitingNonZeroFailsTheDeployAfterTheResetHappened() {
        try (TestDaemon d = startDaemon("deploy.command", "echo building; exit 3")) {
            ObjectId pushed = repos.pushNewCommit();

            String error = assertFailed(deploy(d));

            assertTrue(error.contains("exited with status 3"), error);
            assertEquals(pushed, repos.siteHead(), "the reset happened before the command ran");
            assertNotNull(repos.siteFile("change-1.txt"));
            JsonNode failed = newestDeploy(d);
            assertEquals("failed", failed.get("outcome").asText());
            assertEquals(3, failed.get("command").get("exit").asInt(), failed::toString);
            assertEquals("building", failed.get("command").get("output").get(0).asText(), failed::toString);
        }
    }

    @Test
    void commandTimingOutIsKilledWithItsBackgroundGrandchild() throws Exception {
        long grandchild = -1;
        try (TestDaemon d = startDaemon("deploy.command", "sleep 60 & echo $! > bg.pid; sleep 60",
                "deploy.command.timeout.seconds", "1")) {
            repos.pushNewCommit();

            String error = assertFailed(deploy(d));

            assertTrue(error.contains("timed out"), error);
            assertTrue(newestDeploy(d).get("command").get("timedOut").asBoolean());
            String pidText = repos.siteFile("bg.pid");
            assertNotNull(pidText, "the command wrote the grandchild's pid");
            grandchild = Long.parseLong(pidText.strip());
            long pid = grandchild;
            Poll.until(Duration.ofSeconds(10), "background grandchild " + pid + " to be gone", () -> !running(pid));
        } finally {
            if (grandchild > 0) {
                ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /**
     * Whether {@code pid} still runs. A killed process whose new parent has not reaped it yet (a zombie) does
     * not: the machine's init may be slow to reap.
     */
    private static boolean running(long pid) {
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
            } catch (IOException e) {
                return false;  // gone meanwhile
            }
        }
        return false;
    }

    // ---- rollback --------------------------------------------------------------------------------------

    @Test
    void rollbackRequestPutsThePreviousCommitBackAndTheNextPushDeploysNormally() {
        try (TestDaemon d = startDaemon()) {
            ObjectId a = repos.pushNewCommit();
            assertDeployed(deploy(d), a);
            ObjectId b = repos.pushNewCommit();
            assertDeployed(deploy(d), b);

            HttpResponse<String> unsigned = d.post("/rollback?wait=true", new byte[0]);
            assertEquals(403, unsigned.statusCode(), unsigned::body);
            assertEquals(b, repos.siteHead(), "an unsigned rollback changes nothing");

            HttpResponse<String> rolledBack = d.postSigned("/rollback?wait=true", "");
            assertDeployed(rolledBack, a);
            assertEquals(b.name(), json(rolledBack).get("from").asText());
            assertNull(repos.siteFile("change-2.txt"), "B's file is gone");
            assertEquals("rollback", newestDeploy(d).get("trigger").asText());

            ObjectId c = repos.pushNewCommit();
            assertDeployed(deploy(d), c);
            assertNotNull(repos.siteFile("change-3.txt"));
        }
    }

    @Test
    void cliRollbackWithoutARunningDaemonPutsThePreviousCommitBack() throws Exception {
        ObjectId a = repos.pushNewCommit();
        ObjectId b;
        try (TestDaemon d = startDaemon()) {
            assertDeployed(deploy(d), a);
            b = repos.pushNewCommit();
            assertDeployed(deploy(d), b);
        }

        assertEquals(0, Main.run(new String[]{"rollback", "--config", writeConfigFile().toString()}));

        assertEquals(a, repos.siteHead());
        assertFalse(log.linesWith("rolled back: " + b.name() + " -> " + a.name()).isEmpty(), log::text);
    }

    /**
     * B was rolled back (to A), then C deployed: "the commit deployed before the current one" is A, the
     * commit C replaced, not B, which the operator had already rolled away from.
     */
    @Test
    void rollbackAfterARollbackAndANewDeployGoesBackToTheCommitThatDeployReplaced() throws Exception {
        ObjectId a = repos.pushNewCommit();
        try (TestDaemon d = startDaemon()) {
            assertDeployed(deploy(d), a);
            ObjectId b = repos.pushNewCommit();
            assertDeployed(deploy(d), b);
            assertDeployed(d.postSigned("/rollback?wait=true", ""), a);
            ObjectId c = repos.pushNewCommit();
            assertDeployed(deploy(d), c);
        }

        assertEquals(0, Main.run(new String[]{"rollback", "--config", writeConfigFile().toString()}));

        assertEquals(a, repos.siteHead(), "back on A, the commit deployed before C");
    }

    /** The minimal config file of a real install: the working copy, the secret in its own file, any port. */
    private Path writeConfigFile() throws IOException {
        Path secret = dir.resolve("webhook-secret");
        Files.writeString(secret, SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path config = dir.resolve("config.properties");
        Files.writeString(config, "repo.path=" + repos.site + "\nwebhook.secret.file=" + secret + "\nserver.port=0\n");
        return config;
    }

    // ---- history, start and poll -----------------------------------------------------------------------

    @Test
    void historySurvivesARestartAndIdsContinue() {
        ObjectId second;
        try (TestDaemon d = startDaemon()) {
            ObjectId first = repos.pushNewCommit();
            assertDeployed(deploy(d), first);
            second = repos.pushNewCommit();
            assertDeployed(deploy(d), second);
        }
        try (TestDaemon d = startDaemon()) {
            JsonNode deploys = status(d).get("deploys");
            assertEquals(2, deploys.size(), deploys::toString);
            assertEquals(2, deploys.get(0).get("id").asLong());
            assertEquals(1, deploys.get(1).get("id").asLong());
            assertEquals(second.name(), deploys.get(0).get("to").asText());
            assertEquals("deployed", deploys.get(0).get("outcome").asText());

            ObjectId third = repos.pushNewCommit();
            HttpResponse<String> response = deploy(d);
            assertDeployed(response, third);
            assertEquals(3, json(response).get("id").asLong(), response::body);
            assertEquals(3, newestDeployId(d));
        }
    }

    @Test
    void pushWhileTheDaemonWasDownIsDeployedAtStart() {
        try (TestDaemon d = startDaemon("deploy.on.start", "true")) {
            // the start-up check was queued before start returned: idle, it is done
            Poll.until("the start-up check", () -> "idle".equals(status(d).get("state").asText()));
            assertEquals(0, newestDeployId(d), "nothing new: the check is no deploy");
        }
        ObjectId pushed = repos.pushNewCommit();

        try (TestDaemon d = startDaemon("deploy.on.start", "true")) {
            Poll.until("the working copy at the commit pushed while down", () -> pushed.equals(repos.siteHead()));
            Poll.until("the start deploy in /status", () -> newestDeployId(d) > 0);
            JsonNode deployed = newestDeploy(d);
            assertEquals("start", deployed.get("trigger").asText(), deployed::toString);
            assertEquals("deployed", deployed.get("outcome").asText(), deployed::toString);
            assertEquals(pushed.name(), deployed.get("to").asText());
        }
    }

    /**
     * A kill between a file's write and its rename leaves the reset's temporary file beside it (seen in
     * CrashRecoveryIT under load): git would list it as untracked, so the recovery removes it, and only it.
     */
    @Test
    void temporaryFilesOfAResetKilledMidWriteAreRemovedByTheRecovery() throws IOException {
        ObjectId pushed = repos.pushNewCommit();
        // what the killed daemon left: the marker of a deploy in its reset, a temporary file at the top and one
        // in a folder; beside them files of the admin's that only look alike
        Files.createDirectories(repos.site.resolve(".git/pullhook"));
        Files.writeString(repos.site.resolve(".git/pullhook/deploy.running"),
                "deploy=1 trigger=webhook phase=reset pid=1 at=" + Instant.now() + "\n");
        Files.createDirectories(repos.site.resolve("docs"));
        List<Path> leftovers = List.of(repos.site.resolve(".README.md.0123456789abcdef.pullhook-tmp"),
                repos.site.resolve("docs/.guide.txt.fedcba9876543210.pullhook-tmp"));
        for (Path p : leftovers) {
            Files.writeString(p, "half written");
        }
        List<Path> alike = List.of(repos.site.resolve("notes.pullhook-tmp"),
                repos.site.resolve(".README.md.0123.pullhook-tmp"));
        for (Path p : alike) {
            Files.writeString(p, "the admin's");
        }

        try (TestDaemon d = startDaemon("deploy.on.start", "false")) {
            Poll.until("the recovery deploy", () -> pushed.equals(repos.siteHead())
                    && "idle".equals(status(d).get("state").asText()));
            assertEquals("recovery", newestDeploy(d).get("trigger").asText(), () -> newestDeploy(d).toString());
        }
        for (Path p : leftovers) {
            assertFalse(Files.exists(p), p + " is removed");
        }
        for (Path p : alike) {
            assertEquals("the admin's", Files.readString(p), p + " is kept");
        }
        assertEquals("?? .README.md.0123.pullhook-tmp\n?? notes.pullhook-tmp\n",
                GitCli.run(repos.site, "status", "--porcelain", "--untracked-files=all"));
    }

    @Test
    void pollDeploysAPushWithoutWebhookAndOtherwiseDeploysNothing() throws InterruptedException {
        try (GatedGitServer git = GatedGitServer.serve(repos.origin)) {
            repos.setSiteRemoteUrl(git.url());
            pollDeploysAPushAndThenNothing(git);
        }
    }

    private void pollDeploysAPushAndThenNothing(GatedGitServer git) throws InterruptedException {
        try (TestDaemon d = startDaemon("deploy.poll.seconds", "5")) {
            ObjectId pushed = repos.pushNewCommit();

            Poll.until("the working copy at the pushed commit", () -> pushed.equals(repos.siteHead()));
            Poll.until("the poll deploy in /status", () -> newestDeployId(d) > 0);
            JsonNode deployed = newestDeploy(d);
            assertEquals("poll", deployed.get("trigger").asText(), deployed::toString);
            assertEquals("deployed", deployed.get("outcome").asText(), deployed::toString);

            // the next poll finds nothing new: no deploy, no new id
            long id = newestDeployId(d);
            git.hold();
            try {
                assertTrue(git.awaitHeldFetch(), "the next poll asks the remote");
            } finally {
                git.release();
            }
            Poll.until("the poll done", () -> "idle".equals(status(d).get("state").asText()));
            assertEquals(id, newestDeployId(d));
            assertEquals(pushed, repos.siteHead());
        }
    }

    // ---- timeouts --------------------------------------------------------------------------------------

    /** A "git server" that accepts connections and never says a word. */
    private static final class SilentServer implements AutoCloseable {
        private final ServerSocket socket;
        private final List<Socket> accepted = new CopyOnWriteArrayList<>();

        SilentServer() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(() -> {
                while (!socket.isClosed()) {
                    try {
                        accepted.add(socket.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "silent-server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String url() {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/repo.git";
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void silentRemoteFailsTheFetchAfterGitTimeoutAndTheNextDeployWorksOnceRestored() throws Exception {
        try (SilentServer silent = new SilentServer();
             TestDaemon d = startDaemon("git.timeout.seconds", "2")) {
            ObjectId before = repos.siteHead();
            ObjectId pushed = repos.pushNewCommit();
            repos.setSiteRemoteUrl(silent.url());
            try {
                String error = assertFailed(deployWithin(d, Duration.ofSeconds(30)));
                assertTrue(error.contains("fetch"), error);
                assertTrue(error.contains("timed out") || error.contains("timeout"), error);
                assertEquals(before, repos.siteHead(), "HEAD did not move");
                assertFalse(silent.accepted.isEmpty(), "the fetch reached the silent server");
            } finally {
                repos.setSiteRemoteUrl(repos.origin.toUri().toString());
            }

            assertDeployed(deploy(d), pushed);
        }
    }

    /**
     * deploy.timeout.seconds is only looked at between git's progress reports, and a remote that never
     * answers sends none: the fetch then ends on git.timeout.seconds. That is measured with 60 s (the
     * deploy failed after 60 s, not 2); 15 s here keeps the class fast and still tells the two apart.
     */
    @Test
    void deployTimeoutFailsADeployStuckOnASilentRemote() throws Exception {
        try (SilentServer silent = new SilentServer();
             TestDaemon d = startDaemon("git.timeout.seconds", "15", "deploy.timeout.seconds", "2",
                     "webhook.wait.timeout.seconds", "120")) {
            ObjectId before = repos.siteHead();
            repos.pushNewCommit();
            repos.setSiteRemoteUrl(silent.url());
            try {
                long t0 = System.nanoTime();
                String error = assertFailed(deployWithin(d, Duration.ofSeconds(120)));
                long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
                System.out.println("deployTimeoutFailsADeployStuckOnASilentRemote: failed after " + seconds
                        + " s with deploy.timeout.seconds=2 git.timeout.seconds=15: " + error);
                assertEquals(before, repos.siteHead(), "HEAD did not move");
            } finally {
                repos.setSiteRemoteUrl(repos.origin.toUri().toString());
            }
        }
    }
}
