package dev.pullhook.testing;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.URIish;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real repositories on disk for a test: a bare {@code origin}, a developer clone {@code dev} that commits
 * and pushes, and the working copy {@code site} that pullhook deploys. Built with JGit (the test side),
 * isolated in the test's temporary folder.
 */
public final class TestRepos implements AutoCloseable {
    public static final String BRANCH = "main";
    private static final PersonIdent WHO = new PersonIdent("Test Pusher", "pusher@example.invalid");

    public final Path origin;
    public final Path dev;
    public final Path site;
    private final Git devGit;
    private int counter;

    private TestRepos(Path root) throws Exception {
        origin = root.resolve("origin.git");
        dev = root.resolve("dev");
        site = root.resolve("site");
        try (Git bare = Git.init().setBare(true).setInitialBranch(BRANCH).setDirectory(origin.toFile()).call()) {
            // no background "gc --auto" after a push (JGit's receive.autogc): its gc.log.lock and new packs
            // would appear in the origin at any time, under tests that compare its files
            StoredConfig config = bare.getRepository().getConfig();
            config.setBoolean("receive", null, "autogc", false);
            config.save();
        }
        devGit = Git.init().setInitialBranch(BRANCH).setDirectory(dev.toFile()).call();
        devGit.remoteAdd().setName("origin").setUri(new URIish(origin.toUri().toString())).call();
        commitAndPush("README.md", "# site\n", "first commit");
        Git.cloneRepository().setURI(origin.toUri().toString()).setDirectory(site.toFile())
                .setBranch(BRANCH).call().close();
    }

    /** Creates origin, dev and site under {@code root}, with one commit pushed and checked out in site. */
    public static TestRepos create(Path root) {
        try {
            return new TestRepos(root);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create test repositories in " + root, e);
        }
    }

    /** Writes {@code file} in the developer clone, commits and pushes it to origin's main. */
    public ObjectId commitAndPush(String file, String content, String message) {
        try {
            Path target = dev.resolve(file);
            Files.createDirectories(target.getParent());
            Files.writeString(target, content, StandardCharsets.UTF_8);
            devGit.add().addFilepattern(file).call();
            RevCommit commit = devGit.commit().setMessage(message).setAuthor(WHO).setCommitter(WHO).call();
            push(false);
            return commit.getId();
        } catch (GitAPIException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A new commit with a fresh file name, pushed; returns it. */
    public ObjectId pushNewCommit() {
        counter++;
        return commitAndPush("change-" + counter + ".txt", "change " + counter + "\n", "change " + counter);
    }

    /** Moves origin's main back to {@code commit} with a forced push, as {@code git push --force} would. */
    public void forcePushTo(ObjectId commit) {
        try {
            devGit.reset().setMode(org.eclipse.jgit.api.ResetCommand.ResetType.HARD).setRef(commit.name()).call();
            push(true);
        } catch (GitAPIException e) {
            throw new IllegalStateException(e);
        }
    }

    private void push(boolean force) throws GitAPIException {
        devGit.push().setRemote("origin").setRefSpecs(new RefSpec((force ? "+" : "") + "refs/heads/" + BRANCH
                + ":refs/heads/" + BRANCH)).call();
    }

    /** The tip of main in origin. */
    public ObjectId originTip() {
        return resolve(origin, Constants.R_HEADS + BRANCH);
    }

    /** The working copy's HEAD commit. */
    public ObjectId siteHead() {
        return resolve(site, Constants.HEAD);
    }

    public String siteFile(String name) {
        try {
            Path p = site.resolve(name);
            return Files.exists(p) ? Files.readString(p) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sets a remote's URL in the working copy's git config (e.g. to make origin unreachable). */
    public void setSiteRemoteUrl(String url) {
        try (Git git = Git.open(site.toFile())) {
            StoredConfig config = git.getRepository().getConfig();
            config.setString("remote", "origin", "url", url);
            config.save();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectId resolve(Path dir, String rev) {
        try (Git git = Git.open(dir.toFile())) {
            Repository repo = git.getRepository();
            return repo.resolve(rev);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        devGit.close();
    }
}
