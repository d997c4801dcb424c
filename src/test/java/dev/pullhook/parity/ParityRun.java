package dev.pullhook.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.Daemon;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TwinRepos;
import dev.pullhook.testing.WorkTreeState;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * One differential scenario in progress: a real pullhook daemon (in this process, on 127.0.0.1) per site and
 * engine, while the git command line deploys the twin the same way; after each step every site is compared
 * with the twin as git sees it. A site that differs is reported and left behind (its first difference is the
 * useful one), the others go on; {@link #finish} fails with each failed site's first difference, naming the
 * scenario, step, seed, what the step did and how to replay it.
 */
final class ParityRun implements AutoCloseable {
    static final String SECRET = "parity secret, only for 127.0.0.1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SHOWN_DIFFERENCES = 12;
    /** The remote-tracking branch: a refused deploy may have fetched. */
    private static final Set<String> FETCHED = Set.of("refs/remotes/origin/main");

    /** {@code -Dparity.keepGoing=true}: log every difference, make the site a copy of the twin, go on (diagnosis). */
    private final boolean keepGoing = Boolean.getBoolean("parity.keepGoing");
    private final String scenario;
    private final String replay;
    private final ParityOptions options;
    private final TwinRepos repos;
    private final List<Site> sites = new ArrayList<>();
    private Daemon daemon;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private int steps;
    private int differences;
    private long waitNanos;

    /** One pullhook site: its working copy and first failure. */
    private final class Site {
        final ParityOptions.Engine engine;
        final Path path;
        /** The site's name in the daemon's config ({@code sites}): its webhook is {@code /pull-repo/<name>}. */
        final String name;
        /** The first difference, shown by {@link #finish}. */
        String failure;
        /** Left behind after a difference (not with {@code parity.keepGoing}), or retired. */
        boolean dead;
        long nanos;

        Site(ParityOptions.Engine engine, Path path) {
            this.engine = engine;
            this.path = path;
            this.name = engine.name().replace('-', '_');
        }

        HttpResponse<String> deploy() {
            long t0 = System.nanoTime();
            byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.port()
                            + "/pull-repo/" + name + "?wait=true"))
                    .timeout(Duration.ofSeconds(120))
                    .header("X-Pullhook-Auth", Signatures.manual(SECRET, "/pull-repo/" + name, body))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            try {
                return http.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IllegalStateException("deploy request to " + engine + " failed", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } finally {
                nanos += System.nanoTime() - t0;
            }
        }
    }

    /** One daemon (one start: they are not cheap) deploying every site of {@code options}, on {@code repos.sites}. */
    ParityRun(String scenario, String replay, ParityOptions options, TwinRepos repos) {
        this.scenario = scenario;
        this.replay = replay;
        this.options = options;
        this.repos = repos;
        for (int i = 0; i < options.sites().size(); i++) {
            sites.add(new Site(options.sites().get(i), repos.sites.get(i)));
        }
        this.daemon = start();
    }

    private Daemon start() {
        Map<String, String> values = new HashMap<>(options.keys());
        values.put("server.host", "127.0.0.1");
        values.put("server.port", "0");
        values.put("server.log.rejections.per.minute", "1000000");
        values.put("server.warmup", "false");  // as TestDaemon: a rehearsal is not what these compare
        values.put("sites", String.join(", ", sites.stream().map(s -> s.name).toList()));
        Map<String, String> env = new HashMap<>();
        for (Site s : sites) {
            values.put("site." + s.name + ".repo.path", s.path.toString());
            values.put("site." + s.name + ".git.engine", s.engine.engine());
            values.put("site." + s.name + ".deploy.watch", Boolean.toString(s.engine.watch()));
            env.put(ConfigLoader.envName("site." + s.name + ".secret"), SECRET);
        }
        try {
            return Daemon.start(new ConfigLoader(env, w -> { }).fromMap(values));
        } catch (Exception e) {
            throw new IllegalStateException("cannot start pullhook for " + scenario, e);
        }
    }

    /** The working copies still being compared, and the twin: where local edits go. */
    List<Path> liveTrees() {
        List<Path> out = new ArrayList<>();
        for (Site s : sites) {
            if (!s.dead) {
                out.add(s.path);
            }
        }
        out.add(repos.twin);
        return out;
    }

    /** Stops deploying the sites of {@code engine} (a subset of the steps, to save time); not a failure. */
    void retire(String engine) {
        for (Site s : sites) {
            if (s.engine.engine().equals(engine)) {
                s.dead = true;
            }
        }
    }

    /** Whether any site is still being compared. */
    boolean anyLive() {
        return sites.stream().anyMatch(s -> !s.dead);
    }

    /**
     * Deploys origin's tip on every live site and on the twin (all at once: they share nothing), then compares
     * each site with the twin. Returns the twin's state, for the next step's local edits.
     *
     * @param edited whether anything was edited in the working copies since the twin's last deploy; when not,
     *               the twin's {@code git stash push} would find nothing to save and is left out
     */
    WorkTreeState deployAndCompare(int step, String story, boolean edited) {
        steps++;
        long t0 = System.nanoTime();
        String script = TwinRepos.twinDeployScript(edited, options.clean(), options.submodules(), repos.originTip());
        CompletableFuture<WorkTreeState> twin = repos.async(() -> WorkTreeState.captureAfter(repos, repos.twin, script));
        List<Site> live = sites.stream().filter(s -> !s.dead).toList();
        List<CompletableFuture<Deployed>> deployed = new ArrayList<>();
        for (Site s : live) {
            // each site is read as soon as its deploy is done, while git may still be working on the twin
            deployed.add(repos.async(() -> {
                HttpResponse<String> response = s.deploy();
                return new Deployed(response, WorkTreeState.capture(repos, s.path));
            }));
        }
        WorkTreeState git;
        try {
            git = twin.join();
        } catch (CompletionException e) {
            throw new IllegalStateException(where(step, story, null) + ": the git twin failed (a test bug, or git"
                    + " refused this step): " + e.getCause().getMessage(), e.getCause());
        }
        for (int i = 0; i < live.size(); i++) {
            Site s = live.get(i);
            Deployed d = deployed.get(i).join();
            JsonNode body = json(d.response());
            if (d.response().statusCode() != 200 || !"deployed".equals(body.path("status").asText())) {
                failed(s, where(step, story, s) + "\n  pullhook failed a deploy that git does: HTTP "
                        + d.response().statusCode() + " " + body.path("error").asText(d.response().body()));
                continue;
            }
            List<String> diff = WorkTreeState.diff(d.state(), git, SHOWN_DIFFERENCES);
            if (!diff.isEmpty()) {
                failed(s, where(step, story, s) + "\n  " + String.join("\n  ", diff));
            }
        }
        waitNanos += System.nanoTime() - t0;
        return git;
    }

    private record Deployed(HttpResponse<String> response, WorkTreeState state) {
    }

    /**
     * Deploys a tip that pullhook must refuse, on every live site: a 500 "failed" answer whose error contains
     * each of {@code mentions} (case-insensitive), and the site exactly as before (HEAD, index, status, stash,
     * every file). The twin is left alone: git would deploy this tree, so there is nothing to compare with.
     */
    void deployRefused(int step, String story, String... mentions) {
        steps++;
        for (Site s : sites.stream().filter(x -> !x.dead).toList()) {
            WorkTreeState before = WorkTreeState.capture(repos, s.path);
            HttpResponse<String> response = s.deploy();
            JsonNode body = json(response);
            if (response.statusCode() != 500 || !"failed".equals(body.path("status").asText())) {
                failed(s, where(step, story, s) + "\n  pullhook must refuse this tree (500 \"failed\"), got HTTP "
                        + response.statusCode() + " " + WorkTreeState.show(response.body(), 300));
                continue;
            }
            String error = body.path("error").asText("");
            String missing = null;
            for (String m : mentions) {
                if (!error.toLowerCase(Locale.ROOT).contains(m.toLowerCase(Locale.ROOT))) {
                    missing = m;
                }
            }
            if (missing != null) {
                failed(s, where(step, story, s) + "\n  the refusal must name the path or attribute and the rule (\""
                        + WorkTreeState.show(missing, 80) + "\" is missing): " + WorkTreeState.show(error, 400));
                continue;
            }
            WorkTreeState after = WorkTreeState.capture(repos, s.path);
            List<String> diff = WorkTreeState.diff(after.withoutRefs(FETCHED), before.withoutRefs(FETCHED),
                    SHOWN_DIFFERENCES);
            if (!diff.isEmpty()) {
                failed(s, where(step, story, s) + "\n  the refused deploy changed the site (pullhook= after, git= before):\n  "
                        + String.join("\n  ", diff));
            }
        }
    }

    /** What one step did, for failure messages: the local edits before it, then the push (each shortened). */
    static String story(String localEdits, String push) {
        return "local edits: " + (localEdits.isEmpty() ? "none" : WorkTreeState.show(localEdits, 500))
                + "\n  push: " + WorkTreeState.show(push, 500);
    }

    private String where(int step, String story, Site s) {
        return "parity " + scenario + (s == null ? "" : " engine " + s.engine) + " step " + step + "\n  " + story;
    }

    /** Records the site's first failure and leaves it behind; or, with {@code parity.keepGoing}, resyncs it. */
    private void failed(Site s, String message) {
        differences++;
        System.out.println("PARITY DIFFERENCE " + message);
        if (s.failure == null) {
            s.failure = message;
        }
        if (!keepGoing) {
            s.dead = true;
            return;
        }
        daemon.stop();
        repos.sh(repos.root, "rm -rf '" + s.path.getFileName() + "' && cp -a twin '" + s.path.getFileName() + "'");
        daemon = start();
    }

    /** For the log line at the end: steps, and where the time went. */
    String summary() {
        StringBuilder b = new StringBuilder(steps + " steps, " + differences + " differences; ");
        for (Site s : sites) {
            b.append("pullhook ").append(s.engine).append(' ').append(s.nanos / 1_000_000).append(" ms, ");
        }
        return b.append("all deploys and comparisons ").append(waitNanos / 1_000_000).append(" ms").toString();
    }

    /** Fails with each failed site's first difference. */
    void finish() {
        List<String> failures = new ArrayList<>();
        for (Site s : sites) {
            if (s.failure != null) {
                failures.add(s.failure);
            }
        }
        if (!failures.isEmpty()) {
            fail(String.join("\n", failures) + "\n  " + replay);
        }
    }

    private static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    @Override
    public void close() {
        daemon.stop();
    }
}
