package dev.pullhook.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jgit.lib.ObjectId;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One working copy under attack, with a daemon deploying it: the repositories ({@link TestRepos}) under
 * {@code <box>/repos}, a canary folder {@code <box>/outside} that nothing may ever write, and a pristine
 * copy of the site to start every case from. Each case calls {@link #prepare()} first: origin's branch
 * goes back to the baseline commit, and a site that an earlier case changed (a breach, or a deploy that was
 * meant to succeed) is brought back, so that one breach never decides the next case's result. Bringing it
 * back costs nothing when nothing changed, a deploy of the baseline when only tracked files moved, and a
 * fresh copy plus a new daemon when git's config, hooks or anything outside were touched.
 */
public final class HostileSite implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The canary's files: what the symlink cases point at, and what nothing may write, move or read into the site. */
    public static final String VICTIM = "victim";
    public static final String VICTIM_CONTENT = "victim: nothing may ever write here\n";
    public static final String SECRET_FOLDER = "folder";
    public static final String SECRET_FILE = "keep.txt";
    public static final String SECRET_CONTENT = "OUTSIDE SECRET 7f3a: must never be read into the site\n";

    public final Path box;
    public final Path outside;
    private final Path dir;
    public final TestRepos repos;
    public final ObjectId baseline;
    private final Path pristine;
    private final Map<String, String> keys;
    private final List<String> ignored;
    private final Containment.State pristineState;
    private final ObjectForge forge;
    private TestDaemon daemon;

    private HostileSite(Path dir, Map<String, String> keys, List<String> ignoredExtra) {
        this.dir = dir;
        this.box = dir.resolve("box");
        this.outside = box.resolve("outside");
        this.pristine = dir.resolve("pristine-site");
        try {
            Files.createDirectories(box);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.repos = TestRepos.create(box.resolve("repos"));
        this.baseline = repos.originTip();
        Map<String, String> all = new HashMap<>();
        all.put("deploy.on.start", "false");
        all.put("deploy.timeout.seconds", "60");
        all.put("git.timeout.seconds", "10");
        all.put("shutdown.drain.seconds", "5");
        all.putAll(keys);
        this.keys = Map.copyOf(all);
        this.ignored = new java.util.ArrayList<>(List.of("repos/origin.git", "repos/dev"));
        this.ignored.addAll(ignoredExtra);
        writeCanary();
        DiskSnapshot.copyTree(repos.site, pristine);
        this.pristineState = Containment.capture(repos.site, box, ignored);
        this.forge = ObjectForge.open(repos.origin);
    }

    /**
     * A site deployed by a daemon with these config keys (on top of: no deploy at start, bounded git and
     * deploy times).
     *
     * @param ignoredExtra paths under the box (e.g. {@code "lib.git"}) that are the test's own, not the canary
     */
    public static HostileSite create(Path dir, Map<String, String> keys, String... ignoredExtra) {
        return new HostileSite(dir, keys, List.of(ignoredExtra));
    }

    private void writeCanary() {
        try {
            Files.createDirectories(outside.resolve(SECRET_FOLDER));
            Files.writeString(outside.resolve(VICTIM), VICTIM_CONTENT);
            Files.writeString(outside.resolve(SECRET_FOLDER).resolve(SECRET_FILE), SECRET_CONTENT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The daemon, started on first use (and again after a case broke the site). */
    public synchronized TestDaemon daemon() {
        if (daemon == null) {
            daemon = TestDaemon.start(repos, keys);
        }
        return daemon;
    }

    /** Starts the daemon now, if not yet running (a class may start all its sites' daemons at once). */
    public void start() {
        daemon();
    }

    public ObjectForge forge() {
        return forge;
    }

    /** A git-CLI twin of origin's current tip, next to (not in) the box the containment checks watch. */
    public GitTwin twin(String name) {
        try {
            Files.createDirectories(dir.resolve("twins"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path twin = dir.resolve("twins").resolve(name);
        DiskSnapshot.deleteTree(twin);
        return GitTwin.cloneOf(repos.origin, twin);
    }

    /** The site's working tree, {@code .git} left out. */
    public DiskSnapshot workTree() {
        return DiskSnapshot.of(repos.site, rel -> rel.equals(".git") || rel.startsWith(".git/"));
    }

    /** The site's {@code .git}. */
    public Path gitDir() {
        return repos.site.resolve(".git");
    }

    /** What a deploy answered. */
    public record Answer(int status, JsonNode json, String body) {
        public boolean deployed() {
            return status == 200 && "deployed".equals(json.path("status").asText());
        }

        public boolean failed() {
            return status == 500 && "failed".equals(json.path("status").asText());
        }

        public String error() {
            return json.path("error").asText("");
        }

        public String saved() {
            return json.path("saved").asText("");
        }

        public String to() {
            return json.path("to").asText("");
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    /** A signed webhook with {@code ?wait=true}: the deploy's own answer. */
    public Answer deploy() {
        HttpResponse<String> r = daemon().postSigned("/pull-repo?wait=true", "{}");
        JsonNode json;
        try {
            json = JSON.readTree(r.body());
        } catch (IOException e) {
            json = JSON.createObjectNode();
        }
        return new Answer(r.statusCode(), json, r.body());
    }

    /** Points origin's branch at {@code commit}, forced, as a hostile pusher or git host could. */
    public void push(ObjectId commit) {
        forge.moveBranch(TestRepos.BRANCH, commit);
    }

    /** A commit on the baseline of exactly the tree {@code tree}, pushed. */
    public ObjectId pushTree(ObjectId tree, String message) {
        ObjectId commit = forge.commit(tree, baseline, message);
        push(commit);
        return commit;
    }

    /** A commit on {@code parent} of the tree {@code tree}, pushed. */
    public ObjectId pushTree(ObjectId tree, ObjectId parent, String message) {
        ObjectId commit = forge.commit(tree, parent, message);
        push(commit);
        return commit;
    }

    /** The baseline's files (README.md), to build attack trees on. */
    public List<ObjectForge.Entry> baselineEntries() {
        return List.of(ObjectForge.file("README.md", forge.blob("# site\n")));
    }

    /** Snapshots taken now, to check after a hostile deploy. */
    public Containment watch() {
        return Containment.watch(repos.site, box, ignored);
    }

    /** Paths under the box that are the test's own. */
    public List<String> ignored() {
        return List.copyOf(ignored);
    }

    /**
     * Before each case: origin back at the baseline, the site exactly as first cloned (same HEAD, files, git
     * config, hooks and info), the canary as written.
     */
    public void prepare() {
        push(baseline);
        if (pristine()) {
            return;
        }
        Containment.State now = Containment.capture(repos.site, box, ignored);
        if (daemon != null && now.outside().equals(pristineState.outside())
                && now.gitMeta().equals(pristineState.gitMeta())) {
            // only tracked or untracked files moved: a deploy of the baseline puts the tracked ones back
            Answer back = deploy();
            if (back.deployed()) {
                removeExtraFiles();
                if (pristine()) {
                    return;
                }
            }
        }
        rebuild();
    }

    private boolean pristine() {
        Containment.State now = Containment.capture(repos.site, box, ignored);
        return now.outside().equals(pristineState.outside()) && now.gitMeta().equals(pristineState.gitMeta())
                && now.workTree().equals(pristineState.workTree()) && baseline.name().equals(now.head());
    }

    /** Removes what the working tree holds beyond the pristine one (files left by a case), links not followed. */
    private void removeExtraFiles() {
        DiskSnapshot now = DiskSnapshot.of(repos.site, rel -> rel.equals(".git") || rel.startsWith(".git/"));
        for (String rel : now.entries().keySet()) {
            if (!rel.isEmpty() && !rel.contains("/") && pristineState.workTree().get(rel) == null) {
                DiskSnapshot.deleteTree(repos.site.resolve(rel));
            }
        }
    }

    /** The site copied afresh, the canary rewritten, stray files next to the site removed, a new daemon. */
    private void rebuild() {
        stopDaemon();
        DiskSnapshot.deleteTree(repos.site);
        DiskSnapshot.copyTree(pristine, repos.site);
        DiskSnapshot.deleteTree(outside);
        writeCanary();
        DiskSnapshot world = DiskSnapshot.of(box, rel -> ignored.stream().anyMatch(s -> rel.equals(s) || rel.startsWith(s + "/"))
                || rel.equals("repos/site") || rel.startsWith("repos/site/"));
        for (String rel : world.entries().keySet()) {
            if (!rel.isEmpty() && pristineState.outside().get(rel) == null
                    && Files.exists(box.resolve(rel), LinkOption.NOFOLLOW_LINKS)) {
                DiskSnapshot.deleteTree(box.resolve(rel));
            }
        }
        if (!pristine()) {
            throw new IllegalStateException("cannot bring the site back to its pristine state:\n  " + String.join("\n  ",
                    pristineState.workTree().diff(Containment.capture(repos.site, box, ignored).workTree())));
        }
    }

    private synchronized void stopDaemon() {
        if (daemon != null) {
            daemon.close();
            daemon = null;
        }
    }

    /** Writes {@code content} to {@code rel} in the site (an untracked file, or a server-side edit). */
    public void writeInSite(String rel, String content) {
        try {
            Path p = repos.site.resolve(rel);
            Files.createDirectories(p.getParent());
            Files.writeString(p, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        stopDaemon();
        forge.close();
        repos.close();
    }
}
