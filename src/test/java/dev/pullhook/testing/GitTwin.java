package dev.pullhook.testing;

import java.nio.file.Path;

/**
 * The reference side of a differential test: a clone made and deployed by the git command line exactly as
 * the tutorial pullhook replaces does it ({@code git fetch origin <branch> && git reset --hard
 * origin/<branch>}), to compare the site with, path by path ({@link DiskSnapshot}).
 */
public final class GitTwin {
    public final Path dir;

    private GitTwin(Path dir) {
        this.dir = dir;
    }

    /** {@code git clone -b main <origin> <dir>}: the twin at origin's current tip. */
    public static GitTwin cloneOf(Path origin, Path dir) {
        GitCli.run(dir.getParent(), "clone", "-q", "-b", TestRepos.BRANCH, origin.toUri().toString(), dir.toString());
        return new GitTwin(dir);
    }

    /** {@code git fetch origin main && git reset --hard origin/main}. */
    public void deploy() {
        GitCli.run(dir, "fetch", "-q", "origin", TestRepos.BRANCH);
        GitCli.run(dir, "reset", "-q", "--hard", "origin/" + TestRepos.BRANCH);
    }

    /** The twin's working tree, {@code .git} left out. */
    public DiskSnapshot workTree() {
        return DiskSnapshot.of(dir, rel -> rel.equals(".git") || rel.startsWith(".git/"));
    }
}
