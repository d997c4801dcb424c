package dev.pullhook.config;

import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * What validating a site's keys asks of the git layer: whether a name can be a branch, whether a folder is
 * a working copy of that remote and branch, and where pullhook keeps its state by default. config reads no
 * repository itself (it uses no git library and no other pullhook package); the git layer provides the one
 * implementation, {@code dev.pullhook.git.GitRepoCheck}, named in
 * {@code META-INF/services/dev.pullhook.config.RepoCheck}.
 */
public interface RepoCheck {
    /** Why {@code name} cannot be a branch to deploy, or null when it can. */
    String branchNameProblem(String name);

    /**
     * What is wrong with {@code path} as a working copy to deploy {@code remote}/{@code branch} into, as
     * config problems naming their keys without the site's prefix; empty when all is well. {@code remote}
     * and {@code branch} may be null when they were already found invalid.
     */
    List<String> problems(Path path, String remote, String branch);

    /** The shared git repository of {@code deploy.mode=atomic}, inside {@code repo.path}. */
    String RELEASE_STORE = "repo.git";

    /**
     * What is wrong with {@code path} as the folder of an atomic deploy's releases: it must hold the bare
     * repository {@link #RELEASE_STORE} with {@code remote}, and must not itself be a working copy. Config
     * problems naming their keys; empty when all is well.
     */
    List<String> atomicProblems(Path path, String remote);

    /** Where pullhook keeps its state when {@code state.dir} is not set: a folder inside {@code .git}. */
    Path defaultStateDir(Path workTree);

    /** The git layer's implementation. */
    static RepoCheck find() {
        return ServiceLoader.load(RepoCheck.class, RepoCheck.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + RepoCheck.class.getName()
                        + " on the class path (the git layer names it in META-INF/services)"));
    }
}
