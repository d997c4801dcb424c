package dev.pullhook;

import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.URIish;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** deploy.submodules=true: after the reset, submodules are checked out at the commits the tree records. */
class SubmoduleIT {
    private static final PersonIdent WHO = new PersonIdent("Test Pusher", "pusher@example.invalid");

    @TempDir
    Path tmp;

    @Test
    void submodulesFollowTheDeployedTree() throws Exception {
        // a library repository with its own origin
        Path libOrigin = tmp.resolve("lib.git");
        Path libDev = tmp.resolve("lib-dev");
        Git.init().setBare(true).setInitialBranch("main").setDirectory(libOrigin.toFile()).call().close();
        try (TestRepos repos = TestRepos.create(tmp.resolve("site"));
             Git lib = Git.init().setInitialBranch("main").setDirectory(libDev.toFile()).call()) {
            lib.remoteAdd().setName("origin").setUri(new URIish(libOrigin.toUri().toString())).call();
            ObjectId v1 = libCommit(lib, libDev, "v1");
            try (Git dev = Git.open(repos.dev.toFile())) {
                dev.submoduleAdd().setPath("lib").setURI(libOrigin.toUri().toString()).call().close();
                dev.commit().setMessage("add lib").setAuthor(WHO).setCommitter(WHO).call();
                dev.push().setRemote("origin").setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main")).call();
            }
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                    "deploy.submodules", "true", "deploy.submodules.allow", "file"))) {
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertEquals("v1\n", Files.readString(repos.site.resolve("lib/version.txt")));

                // the library moves on, and the site's tree records the new commit
                ObjectId v2 = libCommit(lib, libDev, "v2");
                try (Git dev = Git.open(repos.dev.toFile());
                     Git sub = Git.open(repos.dev.resolve("lib").toFile())) {
                    sub.fetch().setRemote("origin").call();
                    sub.checkout().setName(v2.name()).call();
                    dev.add().addFilepattern("lib").call();
                    dev.commit().setMessage("lib v2").setAuthor(WHO).setCommitter(WHO).call();
                    dev.push().setRemote("origin").setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main")).call();
                }
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertEquals("v2\n", Files.readString(repos.site.resolve("lib/version.txt")));
                try (Git sub = Git.open(repos.site.resolve("lib").toFile())) {
                    assertEquals(v2, sub.getRepository().resolve("HEAD"));
                }
                assertEquals(repos.originTip(), repos.siteHead());
                assertEquals(false, v1.equals(v2));
            }
        }
    }

    private static ObjectId libCommit(Git lib, Path dir, String version) throws Exception {
        Files.writeString(dir.resolve("version.txt"), version + "\n");
        lib.add().addFilepattern("version.txt").call();
        ObjectId id = lib.commit().setMessage(version).setAuthor(WHO).setCommitter(WHO).call().getId();
        lib.push().setRemote("origin").setRefSpecs(new RefSpec("refs/heads/main:refs/heads/main")).call();
        return id;
    }
}
