package dev.pullhook.git;

import dev.pullhook.config.RepoCheck;
import org.eclipse.jgit.errors.RepositoryNotFoundException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The checks config validation asks of the git layer ({@link RepoCheck}), answered by reading the working
 * copy with JGit: a branch name git accepts, a working copy (not bare, not sparse) with that remote and that
 * branch checked out. Found by config through {@code META-INF/services}, so that config needs no git library.
 * Also reads a working copy's remote URL ({@link #remoteUrl}), where the reporter finds the repository's host.
 */
public final class GitRepoCheck implements RepoCheck {
    @Override
    public String branchNameProblem(String name) {
        if (name.startsWith("refs/")) {
            return "\"" + name + "\" is a full ref; give the short branch name (e.g. main)";
        }
        if (name.startsWith("-") || !Repository.isValidRefName(Constants.R_HEADS + name)) {
            return "\"" + name + "\" is not a valid branch name";
        }
        return null;
    }

    @Override
    public List<String> problems(Path path, String remote, String branch) {
        List<String> problems = new ArrayList<>();
        if (!Files.isDirectory(path)) {
            problems.add("repo.path: " + path + " does not exist or is not a folder");
            return problems;
        }
        try (Repository r = open(path)) {
            if (remote != null) {
                String url = r.getConfig().getString("remote", remote, "url");
                if (url == null) {
                    problems.add("repo.remote: the working copy " + path + " has no remote \"" + remote
                            + "\" (git -C " + path + " remote -v lists them)");
                }
            }
            String sparse = sparseCheckout(r);
            if (sparse != null) {
                problems.add("repo.path: " + sparse);
            }
            if (branch != null) {
                String full = r.getFullBranch();
                if (full == null || !full.equals(Constants.R_HEADS + branch)) {
                    problems.add("repo.branch: the working copy " + path + " has " + describeHead(full)
                            + " checked out, not \"" + branch + "\" (git -C " + path + " checkout " + branch + ")");
                }
            }
        } catch (RepositoryNotFoundException e) {
            problems.add("repo.path: " + path + " is not a git working copy (no .git found)");
        } catch (IOException | IllegalArgumentException e) {
            problems.add("repo.path: " + path + " cannot be opened as a git working copy (" + e.getMessage() + ")");
        }
        return problems;
    }

    @Override
    public List<String> atomicProblems(Path path, String remote) {
        List<String> problems = new ArrayList<>();
        Path store = path.resolve(RELEASE_STORE);
        if (!Files.isDirectory(path)) {
            problems.add("repo.path: " + path + " does not exist or is not a folder");
        } else if (Files.exists(path.resolve(Constants.DOT_GIT), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            problems.add("repo.path: " + path + " is a working copy (the in-place layout), but deploy.mode=atomic wants"
                    + " a folder holding the bare repository " + RELEASE_STORE + ", releases/ and the current link."
                    + " To switch: git clone --bare <url> <new folder>/" + RELEASE_STORE + " and point repo.path there,"
                    + " or keep deploy.mode=in-place (docs/atomic.md#switching-modes)");
        } else if (!Files.isDirectory(store, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            problems.add("repo.path: " + path + " has no " + RELEASE_STORE + " (create it with git clone --bare <url> "
                    + store + "; docs/atomic.md#layout)");
        } else {
            try (Repository r = openStore(store)) {
                if (remote != null && r.getConfig().getString("remote", remote, "url") == null) {
                    problems.add("repo.remote: the repository " + store + " has no remote \"" + remote
                            + "\" (git --git-dir=" + store + " remote -v lists them)");
                }
            } catch (IOException | IllegalArgumentException e) {
                problems.add("repo.path: " + store + " cannot be opened as a bare git repository (" + e.getMessage() + ")");
            }
        }
        return problems;
    }

    /** Opens the bare repository shared by an atomic deploy's releases; a working copy is refused. */
    static Repository openStore(Path gitDir) throws IOException {
        Repository r = new FileRepositoryBuilder().setGitDir(gitDir.toFile()).setMustExist(true).setup().build();
        if (!r.isBare()) {
            r.close();
            throw new IllegalArgumentException("it is not a bare repository (core.bare is not true)");
        }
        return r;
    }

    /** A folder inside {@code .git} (of a linked worktree or submodule too), never part of the tree. */
    @Override
    public Path defaultStateDir(Path workTree) {
        Path dotGit = workTree.resolve(Constants.DOT_GIT);
        if (Files.isRegularFile(dotGit)) {
            try (Repository r = open(workTree)) {
                return r.getDirectory().toPath().resolve("pullhook");
            } catch (IOException | RuntimeException e) {
                return dotGit.resolveSibling(".pullhook");
            }
        }
        return dotGit.resolve("pullhook");
    }

    /**
     * The URL of {@code remote} in the working copy at {@code path}, as its {@code .git/config} spells it
     * ({@code remote.<name>.url}: before any {@code url.*.insteadOf}, and with whatever credentials were written
     * into it), or null when there is none or the working copy cannot be opened.
     */
    public static String remoteUrl(Path path, String remote) {
        try (Repository r = open(path)) {
            return r.getConfig().getString("remote", remote, "url");
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /** Opens the working copy at {@code path}; a bare repository is refused. */
    static Repository open(Path path) throws IOException {
        Repository r = new FileRepositoryBuilder()
                .setWorkTree(path.toFile())
                .setMustExist(true)
                .setup()
                .build();
        if (r.isBare()) {
            r.close();
            throw new IllegalArgumentException("it is a bare repository, not a working copy");
        }
        return r;
    }

    /** HEAD as a message says it: a branch, a detached commit, or nothing. */
    static String describeHead(String full) {
        if (full == null) {
            return "nothing";
        }
        if (full.startsWith(Constants.R_HEADS)) {
            return "branch \"" + Repository.shortenRefName(full) + "\"";
        }
        return "a detached HEAD (" + ObjectId.fromString(full).abbreviate(7).name() + ")";
    }

    /** Why the working copy's sparse checkout stops a deploy, or null when it has none. */
    static String sparseCheckout(Repository r) {
        if (!r.getConfig().getBoolean("core", null, "sparsecheckout", false)) {
            return null;
        }
        return "the working copy " + r.getWorkTree() + " uses a sparse checkout (core.sparseCheckout), which pullhook"
                + " does not implement: a deploy would write the files git leaves out (git -C " + r.getWorkTree()
                + " sparse-checkout disable, or deploy it with git itself)";
    }
}
