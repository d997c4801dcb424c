package dev.pullhook;

import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.Status;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.transport.RefSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The changed-paths reset (a clean working copy: only what differs between HEAD and the target is
 * written) must leave exactly what {@code git reset --hard} leaves: the same files with the same content
 * and executable bits, deleted files and emptied folders gone, untracked files kept, and an index that
 * {@code git status} finds clean.
 */
class ChangedPathsResetIT {
    private static final PersonIdent WHO = new PersonIdent("Test Pusher", "pusher@example.invalid");

    @TempDir
    Path tmp;

    @Test
    void changedPathsResetLeavesExactlyTheTargetTree() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture();
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            // a first tree with folders, a file to delete, one to rename, one to make executable
            write(repos.dev, "keep.txt", "kept\n");
            write(repos.dev, "old/gone.txt", "to be deleted\n");
            write(repos.dev, "rename/me.txt", "renamed content\n");
            write(repos.dev, "bin/run.sh", "#!/bin/sh\necho hi\n");
            write(repos.dev, "edit.txt", "before\n");
            commitAll(repos, "first tree");
            assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
            Files.writeString(repos.site.resolve("untracked.txt"), "mine\n");

            // the change: delete, rename, chmod +x, edit, add in a new nested folder
            Files.delete(repos.dev.resolve("old/gone.txt"));
            Files.delete(repos.dev.resolve("old"));
            Files.move(repos.dev.resolve("rename/me.txt"), repos.dev.resolve("rename/you.txt"));
            Files.setPosixFilePermissions(repos.dev.resolve("bin/run.sh"), Set755.PERMS);
            write(repos.dev, "edit.txt", "after\n");
            write(repos.dev, "new/deep/er/file.txt", "new\n");
            ObjectId target = commitAll(repos, "the change");

            HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(target, repos.siteHead());
            // which reset ran shows nowhere but in the deploy's line, whose reset= docs/operations.md explains:
            // the one log check of this class, without which the tree checks below might test the full path
            assertFalse(log.linesWith("deploy done", "reset=changed-paths").isEmpty(), "the fast path was taken");

            assertEquals(tree(repos.dev), withoutUntracked(tree(repos.site)), "same files, same content");
            assertFalse(Files.exists(repos.site.resolve("old")), "an emptied folder is removed, as git does");
            assertTrue(Files.isExecutable(repos.site.resolve("bin/run.sh")), "executable bit follows the tree");
            assertEquals("mine\n", Files.readString(repos.site.resolve("untracked.txt")), "untracked file kept");
            try (Git git = Git.open(repos.site.toFile())) {
                Status st = git.status().call();
                assertTrue(st.getUncommittedChanges().isEmpty(), "index and files agree: " + st.getUncommittedChanges());
                assertEquals(java.util.Set.of("untracked.txt"), st.getUntracked());
            }
        }
    }

    @Test
    void dirtyWorkingCopyIsResetByTheFullPathWithTheSameResult() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture();
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "deploy.local.changes", "discard"))) {
            write(repos.dev, "a.txt", "one\n");
            commitAll(repos, "a");
            daemon.postSigned("/pull-repo?wait=true", "");
            Files.writeString(repos.site.resolve("a.txt"), "edited on the server\n");
            write(repos.dev, "b.txt", "two\n");
            ObjectId target = commitAll(repos, "b");
            HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(target, repos.siteHead());
            assertFalse(log.linesWith("deploy done", "reset=full").isEmpty());
            assertEquals(tree(repos.dev), tree(repos.site));
        }
    }

    /** A file removed from the index only ({@code git rm --cached}) is a local change too, though it stays on disk. */
    @Test
    void stagedDeletionCountsAsALocalChange() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "deploy.local.changes", "refuse"))) {
            try (Git site = Git.open(repos.site.toFile())) {
                site.rm().addFilepattern("README.md").setCached(true).call();
            }
            repos.pushNewCommit();
            HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
            assertEquals(500, r.statusCode(), r.body());
            assertTrue(r.body().contains("local changes") && r.body().contains("README.md"), r.body());
        }
    }

    /** rwxr-xr-x */
    private static final class Set755 {
        static final java.util.Set<PosixFilePermission> PERMS = java.util.EnumSet.of(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE);
    }

    private static void write(Path root, String path, String content) throws IOException {
        Path f = root.resolve(path);
        Files.createDirectories(f.getParent());
        Files.writeString(f, content);
    }

    private static ObjectId commitAll(TestRepos repos, String message) throws Exception {
        try (Git git = Git.open(repos.dev.toFile())) {
            git.add().addFilepattern(".").call();
            git.add().addFilepattern(".").setUpdate(true).call();
            ObjectId id = git.commit().setMessage(message).setAuthor(WHO).setCommitter(WHO).call().getId();
            git.push().setRemote("origin").setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main")).call();
            return id;
        }
    }

    /** Every file below {@code root} (outside .git) with its content. */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                String rel = root.relativize(p).toString();
                if (rel.startsWith(".git") || !Files.isRegularFile(p)) {
                    continue;
                }
                files.put(rel, Files.readString(p));
            }
        }
        return files;
    }

    private static Map<String, String> withoutUntracked(Map<String, String> files) {
        files.remove("untracked.txt");
        return files;
    }
}
