package dev.pullhook.git;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Git's lock files ({@code index.lock}, {@code HEAD.lock}, ref locks...) in a repository folder. A lock
 * older than the stale limit, or any lock after pullhook itself was killed mid-deploy, is left by a dead
 * process and is removed (with a warning naming it). A fresh one means another git process is working:
 * the caller waits, bounded, and then fails with a clear reason. Plain file work, no JGit.
 */
final class LockFiles {
    private static final List<String> TOP = List.of("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "FETCH_HEAD.lock",
            "config.lock", "packed-refs.lock", "shallow.lock");
    private static final int MAX_REF_DEPTH = 12;

    private LockFiles() {
    }

    static List<Path> find(Path gitDir) {
        List<Path> found = new ArrayList<>();
        for (String name : TOP) {
            Path p = gitDir.resolve(name);
            if (Files.exists(p)) {
                found.add(p);
            }
        }
        Path refs = gitDir.resolve("refs");
        if (Files.isDirectory(refs)) {
            try (Stream<Path> walk = Files.walk(refs, MAX_REF_DEPTH)) {
                walk.filter(p -> p.getFileName().toString().endsWith(".lock") && Files.isRegularFile(p))
                        .forEach(found::add);
            } catch (IOException | RuntimeException e) {
                // a ref folder changed while we looked: the next look will see it
            }
        }
        return found;
    }

    /**
     * Removes stale locks, waits for fresh ones up to {@code wait}, and returns normally once none is left.
     *
     * @param afterCrash true when pullhook's own previous run died mid-deploy: every lock is then stale
     * @return the locks it removed
     * @throws GitException (phase LOCK) when a fresh lock is still held after {@code wait}
     */
    static List<Path> clear(Path gitDir, Duration stale, Duration wait, boolean afterCrash, Consumer<String> warn)
            throws GitException {
        Instant deadline = Instant.now().plus(wait);
        List<Path> removed = new ArrayList<>();
        while (true) {
            Path held = null;
            long heldAge = 0;
            for (Path lock : find(gitDir)) {
                long age = ageSeconds(lock);
                if (age < 0) {
                    continue;  // gone meanwhile
                }
                if (afterCrash || age >= stale.toSeconds()) {
                    remove(lock, age, afterCrash, warn);
                    removed.add(lock);
                } else if (held == null) {
                    held = lock;
                    heldAge = age;
                }
            }
            if (held == null) {
                return removed;
            }
            if (!Instant.now().isBefore(deadline)) {
                throw new GitException(GitException.Phase.LOCK, "a git lock file is held: " + held + " (age " + heldAge
                        + " s; another git process is working); waited " + wait.toSeconds()
                        + " s (deploy.lock.wait.seconds). It is treated as stale after "
                        + stale.toSeconds() + " s (deploy.lock.stale.seconds)", null);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GitException(GitException.Phase.LOCK, "interrupted while waiting for " + held, e);
            }
        }
    }

    private static void remove(Path lock, long age, boolean afterCrash, Consumer<String> warn) throws GitException {
        try {
            Files.deleteIfExists(lock);
        } catch (IOException e) {
            throw new GitException(GitException.Phase.LOCK, "cannot remove stale git lock " + lock
                    + ": " + e.getMessage(), e);
        }
        warn.accept("removed stale git lock " + lock + " (age " + age + " s"
                + (afterCrash ? ", left by an interrupted deploy" : "") + ")");
    }

    private static long ageSeconds(Path lock) {
        try {
            FileTime modified = Files.getLastModifiedTime(lock);
            return Math.max(0, Duration.between(modified.toInstant(), Instant.now()).toSeconds());
        } catch (IOException e) {
            return -1;
        }
    }
}
