package dev.pullhook.testing;

import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The repositories of a differential test: a bare {@code origin}, the working copies ({@code sites}) that
 * pullhook deploys and their {@code twin}, which the git command line deploys the same way. All are cloned by
 * git from the same origin commit, so they start identical. Every git process runs without the system's or the user's
 * git config (its own HOME and {@code GIT_CONFIG_GLOBAL} in the test folder), so the machine never leaks in.
 * Pushes are written straight into the origin (a forced ref update), which is what a fetch sees of a push.
 */
public final class TwinRepos implements AutoCloseable {
    public static final String BRANCH = "main";
    /** {@code -Dparity.twin.fetch=true}: the twin runs {@code git fetch} (see {@link #twinDeployScript}). */
    private static final boolean REAL_FETCH = Boolean.getBoolean("parity.twin.fetch");
    private static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "twin-repos");
        t.setDaemon(true);
        return t;
    });

    public final Path root;
    public final Path origin;
    /** pullhook's working copies, one per engine under test. */
    public final List<Path> sites;
    public final Path twin;
    private final Path home;
    private Repository originRepo;

    private TwinRepos(Path root, List<String> siteNames) throws IOException {
        this.root = root;
        this.origin = root.resolve("origin.git");
        this.sites = siteNames.stream().map(root::resolve).toList();
        this.twin = root.resolve("twin");
        this.home = root.resolve("home");
        Files.createDirectories(home);
        // safe.directory: CI may check the project out as another user; reading its history is harmless
        Files.writeString(home.resolve(".gitconfig"), """
                [user]
                \tname = Twin Admin
                \temail = twin@example.invalid
                [gc]
                \tauto = 0
                [maintenance]
                \tauto = false
                [advice]
                \tdetachedHead = false
                [safe]
                \tdirectory = *
                """);
    }

    /** An empty bare origin (branch {@value #BRANCH}) under {@code root}; nothing cloned yet. */
    public static TwinRepos create(Path root, List<String> siteNames) {
        Tools.git();  // the reference: skipped with the reason when it is missing (failed under CI=true)
        try {
            TwinRepos repos = new TwinRepos(root, siteNames);
            repos.git(root, "init", "-q", "--bare", "-b", BRANCH, repos.origin.toString());
            return repos;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The origin, opened in this process for writing commits ({@link TreeWriter}) and moving its branch. */
    public synchronized Repository originRepo() {
        if (originRepo == null) {
            try {
                originRepo = new FileRepositoryBuilder().setGitDir(origin.toFile()).setMustExist(true).build();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return originRepo;
    }

    /** Points origin's branch at {@code commit}, forwards or backwards: what {@code git push --force} does. */
    public void forcePush(ObjectId commit) {
        try {
            RefUpdate update = originRepo().updateRef("refs/heads/" + BRANCH);
            update.setNewObjectId(commit);
            update.setForceUpdate(true);
            RefUpdate.Result result = update.forceUpdate();
            if (result == RefUpdate.Result.LOCK_FAILURE || result == RefUpdate.Result.IO_FAILURE
                    || result == RefUpdate.Result.REJECTED) {
                throw new IllegalStateException("cannot move origin's " + BRANCH + " to " + commit.name() + ": " + result);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Clones the sites and the twin from origin's current branch tip, with the git command line. */
    public void cloneAll() {
        for (Path dir : all()) {
            git(root, "clone", "-q", "--no-local", "-b", BRANCH, origin.toString(), dir.toString());
        }
        if (!REAL_FETCH) {
            try {
                Files.writeString(twin.resolve(".git/objects/info/alternates"), origin.resolve("objects") + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The sites and the twin. */
    public List<Path> all() {
        List<Path> all = new ArrayList<>(sites);
        all.add(twin);
        return all;
    }

    /** Sets {@code key} in the repository config of the sites and the twin alike. */
    public void configAll(String key, String value) {
        for (Path dir : all()) {
            git(dir, "config", key, value);
        }
    }

    /**
     * The shell commands of one deploy of the twin, as the git command line does it: stash edits of tracked
     * files (pullhook's default; {@code git stash push} does nothing when {@code git status} shows no tracked
     * change, so it needs no test of its own), fetch, hard reset, then {@code clean -fd} and the submodule
     * update when asked. Run them with {@link WorkTreeState#captureAfter}.
     *
     * <p>The fetch: by default the twin reads origin's objects in place ({@code objects/info/alternates}, set
     * by {@link #cloneAll}) and {@code git update-ref} moves {@code origin/main} to the tip, which leaves what
     * {@code git fetch origin main} leaves in everything compared (the remote-tracking branch; FETCH_HEAD and
     * reflogs are not compared) for a fifth of its cost: a local fetch starts six processes, on every step.
     * {@code -Dparity.twin.fetch=true} runs the real {@code git fetch -q origin main} instead.
     *
     * @param stash false when the caller knows nothing was edited since the last deploy (a stash would be a
     *              no-op)
     * @param tip   origin's branch tip, which the fetch brings
     */
    public static String twinDeployScript(boolean stash, boolean clean, boolean submodules, ObjectId tip) {
        StringBuilder script = new StringBuilder("set -e\n");
        if (stash) {
            script.append("git stash push -q\n");
        }
        if (REAL_FETCH) {
            script.append("git fetch -q origin main\n");
        } else {
            script.append("git update-ref refs/remotes/origin/main ").append(tip.name()).append('\n');
        }
        script.append("git reset -q --hard origin/main\n");
        if (clean) {
            script.append("git clean -fdq\n");
        }
        if (submodules) {
            // without a .gitmodules there is nothing to update: spare the slow command
            script.append("if [ -f .gitmodules ]; then git -c protocol.file.allow=always submodule update --init --recursive -q; fi\n");
        }
        return script.toString();
    }

    /** The commit origin's branch points at. */
    public ObjectId originTip() {
        try {
            return originRepo().exactRef("refs/heads/" + BRANCH).getObjectId();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs {@code git args...} in {@code dir}; its standard output. Fails on a non-zero exit. */
    public byte[] git(Path dir, String... args) {
        List<String> command = new ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        return run(dir, command, String.join(" ", command));
    }

    /** Runs {@code work} on a thread of its own (see {@link #runAsync}). */
    public <T> CompletableFuture<T> async(java.util.function.Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, THREADS);
    }

    /** Runs {@code command} in {@code dir} on a thread of its own (not the common pool, which has one thread on two cores). */
    public CompletableFuture<byte[]> runAsync(Path dir, List<String> command) {
        return CompletableFuture.supplyAsync(() -> run(dir, command, String.join(" ", command)), THREADS);
    }

    /** Runs {@code script} with {@code sh -c} in {@code dir}, with the same git environment; its standard output. */
    public byte[] sh(Path dir, String script) {
        return run(dir, List.of("sh", "-c", script), "sh -c '" + script.strip() + "'");
    }

    private byte[] run(Path dir, List<String> command, String shown) {
        Path stderr;
        try {
            stderr = Files.createTempFile(root, "stderr", ".txt");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectError(ProcessBuilder.Redirect.to(stderr.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("GIT_"));
        env.put("GIT_CONFIG_NOSYSTEM", "1");
        env.put("GIT_CONFIG_GLOBAL", home.resolve(".gitconfig").toString());
        env.put("HOME", home.toString());
        env.put("XDG_CONFIG_HOME", home.resolve(".config").toString());
        env.put("GIT_TERMINAL_PROMPT", "0");
        try {
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("did not finish in 60 s: " + shown);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("exit " + p.exitValue() + " in " + dir.getFileName() + ": " + shown
                        + "\n" + Files.readString(stderr, StandardCharsets.UTF_8).strip());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + shown, e);
        } finally {
            try {
                Files.deleteIfExists(stderr);
            } catch (IOException ignored) {
                // only a leftover in the test's temporary folder
            }
        }
    }

    @Override
    public synchronized void close() {
        if (originRepo != null) {
            originRepo.close();
            originRepo = null;
        }
    }
}
