package dev.pullhook;

import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A remote that is a repository on the same machine is fetched from a handle the daemon keeps open
 * between deploys. What happens to that repository meanwhile (git gc replacing its packs, a push, the
 * remote's URL pointing elsewhere) must be seen by the next deploy, as a fresh open would see it. (The
 * polls of SafeDeployIT go through the kept handle too.) A push of a few files is fetched by copying its
 * objects, a big one with the pack protocol: either way the working copy ends up as {@code git fetch}
 * would leave it.
 */
class LocalRemoteIT {
    @TempDir
    Path dir;
    private TestRepos repos;

    @BeforeEach
    void createRepositories() {
        repos = TestRepos.create(dir.resolve("repos"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
    }

    private static void assertDeployedTo(HttpResponse<String> response, ObjectId commit) {
        assertEquals(200, response.statusCode(), response::body);
        assertTrue(response.body().contains("\"to\":\"" + commit.name() + "\""), response::body);
    }

    /** One push deployed, the start of a test about the next; returns the commit. */
    private ObjectId pushAndDeploy(TestDaemon d) {
        ObjectId pushed = repos.pushNewCommit();
        assertDeployedTo(deploy(d), pushed);
        return pushed;
    }

    /** A failed deploy that left HEAD and origin/main at {@code deployed}; returns the answer's body. */
    private String assertFetchFailedAndNothingMoved(HttpResponse<String> response, ObjectId deployed) {
        assertEquals(500, response.statusCode(), response::body);
        assertEquals(deployed, repos.siteHead());
        assertEquals(deployed.name() + "\n", GitCli.run(repos.site, "rev-parse", "origin/main"));
        return response.body();
    }

    private static HttpResponse<String> deploy(TestDaemon d) {
        return d.postSigned("/pull-repo?wait=true", "{}");
    }

    @Test
    void remoteRepackedAndPrunedByGitGcBetweenDeploysIsStillFetched() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            for (int i = 0; i < 3; i++) {
                repos.pushNewCommit();
            }
            assertDeployedTo(deploy(d), repos.originTip());  // the kept handle has read origin's objects

            GitCli.run(repos.origin, "gc", "-q", "--prune=now");  // every pack and loose object replaced
            ObjectId pushed = repos.commitAndPush("after-gc.txt", "after gc\n", "after gc");
            GitCli.run(repos.origin, "repack", "-a", "-d", "-q");

            assertDeployedTo(deploy(d), pushed);
            assertEquals("after gc\n", repos.siteFile("after-gc.txt"));
            assertEquals(pushed, repos.siteHead());
        }
    }

    @Test
    void remoteUrlChangedToAnotherRepositoryIsFollowed() throws Exception {
        Path mirror = dir.resolve("mirror.git");
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId first = repos.pushNewCommit();
            assertDeployedTo(deploy(d), first);

            Git.cloneRepository().setBare(true).setURI(repos.origin.toUri().toString())
                    .setDirectory(mirror.toFile()).call().close();
            ObjectId onOrigin = repos.pushNewCommit();  // only on origin, not on the mirror
            repos.setSiteRemoteUrl(mirror.toUri().toString());

            HttpResponse<String> response = deploy(d);

            assertEquals(200, response.statusCode(), response::body);
            assertEquals(first, repos.siteHead(), "the mirror's tip, not origin's: " + response.body());
            repos.setSiteRemoteUrl(repos.origin.toUri().toString());
            assertDeployedTo(deploy(d), onOrigin);
        }
    }
    @Test
    void aPushOfAFewFilesLeavesTheRepositoryAsGitFetchWould() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            repos.commitAndPush("app/lib/deep/one.txt", "one\n", "nested");
            repos.commitAndPush("app/lib/two.txt", "two\n", "another folder level");
            Files.writeString(repos.dev.resolve("app/lib/deep/one.txt"), "one, edited\n");
            Path script = repos.dev.resolve("bin/run.sh");
            Files.createDirectories(script.getParent());
            Files.writeString(script, "#!/bin/sh\necho run\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createSymbolicLink(repos.dev.resolve("current"), Path.of("app/lib"));
            dev("add", "-A");
            dev("commit", "-q", "-m", "edit, script, link");
            dev("push", "-q", "origin", "main");
            ObjectId tip = repos.originTip();

            assertDeployedTo(deploy(d), tip);

            assertEquals("one, edited\n", repos.siteFile("app/lib/deep/one.txt"));
            assertEquals("two\n", repos.siteFile("app/lib/two.txt"));
            assertTrue(Files.isExecutable(repos.site.resolve("bin/run.sh")));
            assertEquals(Path.of("app/lib"), Files.readSymbolicLink(repos.site.resolve("current")));
            assertEquals("", GitCli.run(repos.site, "status", "--porcelain"));
            GitCli.run(repos.site, "fsck", "--strict", "--no-dangling");  // fails the test on any error
            assertEquals(tip.name() + "\n", GitCli.run(repos.site, "rev-parse", "origin/main"));
            String fetchHead = Files.readString(repos.site.resolve(".git/FETCH_HEAD"));
            assertTrue(fetchHead.startsWith(tip.name() + "\t\tbranch 'main' of "), fetchHead);
            String reflog = GitCli.run(repos.site, "reflog", "-1", "--format=%gs", "refs/remotes/origin/main");
            assertEquals("fetch: fast-forward\n", reflog);
        }
    }

    @Test
    void aPushTooBigToCopyIsFetchedWithThePackProtocol() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            // over DirectFetch.MAX_BYTES, which counts bytes as stored (uncompressed); lines of text, which
            // git and JGit compress at a fraction of the cost of random bytes
            byte[] big = bigText(17 << 20);
            Files.write(repos.dev.resolve("big.bin"), big);
            for (int i = 0; i < 2_050; i++) {  // and over DirectFetch.MAX_OBJECTS
                Path file = repos.dev.resolve("many/" + (i % 40) + "/" + i + ".txt");
                Files.createDirectories(file.getParent());
                Files.writeString(file, "file " + i + "\n");
            }
            dev("add", "-A");
            dev("commit", "-q", "-m", "big");
            dev("tag", "-a", "-m", "big", "v-big");
            dev("push", "-q", "origin", "main", "v-big");

            assertDeployedTo(deploy(d), repos.originTip());
            assertEquals(GitCli.run(repos.origin, "rev-parse", "v-big"), GitCli.run(repos.site, "rev-parse", "v-big"),
                    "the tag came along, as with git fetch");

            assertArrayEquals(big, Files.readAllBytes(repos.site.resolve("big.bin")));
            assertEquals("file 2049\n", repos.siteFile("many/9/2049.txt"));
            GitCli.run(repos.site, "fsck", "--strict", "--no-dangling");
        }
    }

    @Test
    void aBranchDeletedOnTheRemoteFailsTheDeployWithAReasonAndChangesNothing() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId deployed = pushAndDeploy(d);
            GitCli.run(repos.origin, "update-ref", "-d", "refs/heads/main");

            String error = assertFetchFailedAndNothingMoved(deploy(d), deployed);

            assertTrue(error.contains("fetch from origin failed: the remote has no refs/heads/main"), error);
        }
    }

    @Test
    void aShallowWorkingCopyIsFetchedWithThePackProtocolAndStaysShallow() throws Exception {
        for (int i = 0; i < 3; i++) {
            repos.pushNewCommit();
        }
        Path shallow = dir.resolve("shallow-site");
        GitCli.run(dir, "clone", "-q", "--depth", "1", repos.origin.toUri().toString(), shallow.toString());
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false", "repo.path", shallow.toString()))) {
            ObjectId pushed = repos.commitAndPush("after-shallow.txt", "after\n", "after the shallow clone");

            HttpResponse<String> response = deploy(d);

            assertDeployedTo(response, pushed);
            assertEquals("after\n", Files.readString(shallow.resolve("after-shallow.txt")));
            assertEquals("2\n", GitCli.run(shallow, "rev-list", "--count", "HEAD"));
            GitCli.run(shallow, "fsck", "--no-dangling");
        }
    }
    /**
     * git's default (remote.origin.tagOpt unset): tags that point into the fetched history come along, others
     * do not, and a tag the working copy already has is left alone.
     */
    @Test
    void tagsPointingIntoTheFetchedBranchComeAlongAsWithGitFetch() throws Exception {
        // the developer side with git alone here: JGit's handle on the same clone would not see every change
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            String tagged = commit("release.txt", "release 1.0");
            dev("tag", "-a", "-m", "release 1.0", "v1.0");
            dev("tag", "-a", "-m", "a tag of a tag", "v1.0-signed", "v1.0");
            dev("tag", "light");
            dev("checkout", "-q", "-b", "other");
            commit("other.txt", "on another branch");
            dev("tag", "-a", "-m", "elsewhere", "v-other");
            dev("checkout", "-q", "main");
            String next = commit("after.txt", "after the release");
            dev("push", "-q", "origin", "main", "other", "v1.0", "v1.0-signed", "light", "v-other");

            assertDeployedTo(deploy(d), ObjectId.fromString(next));

            for (String tag : new String[]{"v1.0", "v1.0-signed", "light"}) {
                assertEquals(GitCli.run(repos.origin, "rev-parse", "refs/tags/" + tag),
                        GitCli.run(repos.site, "rev-parse", "refs/tags/" + tag), tag);
            }
            assertEquals("tag\n", GitCli.run(repos.site, "cat-file", "-t", "v1.0-signed"));
            assertEquals(tagged + "\n", GitCli.run(repos.site, "rev-parse", "v1.0-signed^{commit}"));
            assertEquals("", GitCli.run(repos.site, "tag", "--list", "v-other"), "a tag of history not fetched");
            String fetchHead = Files.readString(repos.site.resolve(".git/FETCH_HEAD"));
            assertTrue(fetchHead.contains("\tnot-for-merge\ttag 'v1.0' of "), fetchHead);
            GitCli.run(repos.site, "fsck", "--strict", "--no-dangling");

            // a tag the working copy has is not moved by a fetch (git fetch without --force keeps it too)
            GitCli.run(repos.site, "tag", "-f", "light", "HEAD~1");
            String local = GitCli.run(repos.site, "rev-parse", "light");
            String later = commit("later.txt", "later");
            dev("push", "-q", "origin", "main");
            assertDeployedTo(deploy(d), ObjectId.fromString(later));
            assertEquals(local, GitCli.run(repos.site, "rev-parse", "light"));
        }
    }

    /** remote.origin.tagOpt=--tags asks for every tag: the pack protocol does that, as git fetch --tags. */
    @Test
    void withTagOptTagsEveryTagComesAlong() throws Exception {
        GitCli.run(repos.site, "config", "remote.origin.tagOpt", "--tags");
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            dev("checkout", "-q", "-b", "other");
            commit("other.txt", "on another branch");
            dev("tag", "-a", "-m", "elsewhere", "v-other");
            dev("checkout", "-q", "main");
            String next = commit("after.txt", "on main");
            dev("push", "-q", "origin", "main", "other", "v-other");

            assertDeployedTo(deploy(d), ObjectId.fromString(next));

            assertEquals(GitCli.run(repos.origin, "rev-parse", "refs/tags/v-other"),
                    GitCli.run(repos.site, "rev-parse", "refs/tags/v-other"), "a tag outside the branch came along");
            GitCli.run(repos.site, "fsck", "--strict", "--no-dangling");
        }
    }

    /** An object of the pushed commit is missing on the remote (a damaged repository): nothing changes here. */
    @Test
    void aRemoteMissingAnObjectOfThePushFailsTheDeployAndChangesNothing() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId deployed = pushAndDeploy(d);
            String next = commit("broken.txt", "a file whose blob the remote loses");
            dev("push", "-q", "origin", "main");  // a small push is stored as loose objects
            String blob = GitCli.run(repos.origin, "rev-parse", next + ":broken.txt").strip();
            Files.delete(repos.origin.resolve("objects/" + blob.substring(0, 2) + "/" + blob.substring(2)));

            String error = assertFetchFailedAndNothingMoved(deploy(d), deployed);

            assertTrue(error.contains("fetch from origin failed: the remote repository " + repos.origin), error);
            assertTrue(error.contains(blob) && error.contains("fsck"), error);
            GitCli.run(repos.site, "fsck", "--no-dangling");
        }
    }

    /**
     * A branch that points at an annotated tag (git refuses to make one, another tool may not): as git fetch
     * + git reset --hard origin/main, origin/main is the tag, and the working copy the commit it tags.
     */
    @Test
    void aBranchPointingAtAnAnnotatedTagDeploysTheCommitItTags() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId deployed = pushAndDeploy(d);
            String next = commit("tagged.txt", "tagged");
            dev("tag", "-a", "-m", "a tag", "v2");
            dev("push", "-q", "origin", "main", "v2");
            String tag = GitCli.run(repos.origin, "rev-parse", "refs/tags/v2").strip();
            Files.writeString(repos.origin.resolve("refs/heads/main"), tag + "\n");  // git update-ref refuses this

            assertDeployedTo(deploy(d), ObjectId.fromString(next));

            assertEquals(tag + "\n", GitCli.run(repos.site, "rev-parse", "refs/remotes/origin/main"));
            assertEquals("commit\n", GitCli.run(repos.site, "cat-file", "-t", "refs/heads/main"));
            assertEquals(next + "\n", GitCli.run(repos.site, "rev-parse", "HEAD"));
            GitCli.run(repos.site, "fsck", "--strict", "--no-dangling");
        }
    }

    /** {@code size} bytes of numbered lines, each line different. */
    private static byte[] bigText(int size) {
        StringBuilder text = new StringBuilder(size + 64);
        for (int i = 0; text.length() < size; i++) {
            text.append("line ").append(i).append(" of a file too big to copy object by object\n");
        }
        text.setLength(size);
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** git in the developer clone, with an identity. */
    private String dev(String... args) {
        String[] all = new String[args.length + 4];
        System.arraycopy(new String[]{"-c", "user.name=t", "-c", "user.email=t@example.invalid"}, 0, all, 0, 4);
        System.arraycopy(args, 0, all, 4, args.length);
        return GitCli.run(repos.dev, all);
    }

    /** Commits a new file in the developer clone with git; returns the commit's id. */
    private String commit(String file, String message) throws Exception {
        Files.writeString(repos.dev.resolve(file), message + "\n");
        dev("add", file);
        dev("commit", "-q", "-m", message);
        return dev("rev-parse", "HEAD").strip();
    }
}
