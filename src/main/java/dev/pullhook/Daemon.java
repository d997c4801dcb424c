package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.http.HttpApi;
import dev.pullhook.http.SiteEndpoint;
import dev.pullhook.report.StatusReporter;
import dev.pullhook.webhook.RejectionLog;
import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One running pullhook: per site a working copy, its state folder and deploy queue (built by {@link Site}), and
 * one HTTP server for all of them, wired from a validated {@link Config}. Sites deploy in parallel, each on its own
 * worker. {@link #stop()} is what SIGTERM runs: no new requests, running deploys may finish (bounded by
 * {@code shutdown.drain.seconds}), then the server stops.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final Config config;
    private final List<StateDir> states;
    /** Per site, what reports its deploys to the git host; null for a site that does not. */
    private final List<StatusReporter> reporters;
    private final List<SiteEndpoint> sites;
    private final RejectionLog rejections;
    private final JavaRuntimeWatch runtime;
    private final HttpApi api;
    private final Javalin app;
    private boolean stopped;

    private Daemon(Config config, List<StateDir> states, List<StatusReporter> reporters) {
        this.config = config;
        this.states = states;
        this.reporters = reporters;
        this.sites = new ArrayList<>();
        // shared by all sites: the budget is per client address, whichever site it knocks on
        this.rejections = new RejectionLog(config.rejectionsLoggedPerMinute(), System::currentTimeMillis).start();
        this.runtime = JavaRuntimeWatch.ofThisJvm().every(60);
        for (int i = 0; i < config.sites().size(); i++) {
            sites.add(Site.open(config.sites().get(i), states.get(i), true).endpoint(rejections, reporters.get(i)));
            sites.get(i).deploys().onFinished(d -> runtime.check());
        }
        this.api = new HttpApi(config, sites);
        this.app = api.create();
    }

    /**
     * Takes every site's state-folder lock, starts the server, and then queues the start-up checks (so
     * readiness is not delayed by git). Returns once it listens.
     *
     * @throws ConfigException when a state folder cannot be used, or another pullhook holds it
     */
    public static Daemon start(Config config) throws ConfigException {
        List<StateDir> states = new ArrayList<>();
        try {
            for (SiteConfig site : config.sites()) {
                states.add(Site.openState(site));
            }
        } catch (ConfigException e) {
            states.forEach(StateDir::close);
            throw e;
        }
        List<StatusReporter> reporters = new ArrayList<>();
        try {
            for (SiteConfig site : config.sites()) {
                reporters.add(Site.reporter(site));
            }
        } catch (ConfigException e) {
            states.forEach(StateDir::close);
            throw e;
        }
        Daemon daemon = new Daemon(config, states, reporters);
        try {
            daemon.app.start();
        } catch (RuntimeException e) {
            daemon.runtime.close();
            daemon.sites.forEach(s -> s.deploys().shutdown(Duration.ZERO));
            daemon.closeReporters(Duration.ZERO);
            states.forEach(StateDir::close);
            throw e;
        }
        for (SiteEndpoint site : daemon.sites) {
            log.info("pullhook listening on http://{}:{}{} repo={} branch={}", hostForUrl(config.host()),
                    daemon.app.port(), site.config().webhookPath(), site.config().repoPath(), site.config().branch());
            site.deploys().start(site.config().deploy().onStart(), config.warmUp());
        }
        daemon.api.warmUp(daemon.app.port());
        return daemon;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    /** The port it listens on (useful with {@code server.port=0}). */
    public int port() {
        return app.port();
    }

    public Config config() {
        return config;
    }

    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        log.info("stopping: waiting up to {} s for running deploys", config.drainTimeout().toSeconds());
        // every site drains at the same time, so the wait is bounded by one drain, not one per site
        CompletableFuture.allOf(sites.stream()
                .map(s -> CompletableFuture.runAsync(() -> s.deploys().shutdown(config.drainTimeout())))
                .toArray(CompletableFuture[]::new)).join();
        // the final statuses of the deploys just drained, sent while there is time (systemd's TimeoutStopSec)
        closeReporters(REPORT_DRAIN);
        try {
            app.stop();
        } catch (RuntimeException e) {
            // Jetty has stopped all the same: it only reports requests that did not finish in its 5 s
            log.warn("stopping: the HTTP server closed requests that were still open: {}", e.toString());
        }
        rejections.close();
        runtime.close();
        states.forEach(StateDir::close);
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }

    /** How long a stop waits for queued commit statuses after the deploys have drained. */
    private static final Duration REPORT_DRAIN = Duration.ofSeconds(5);

    private void closeReporters(Duration wait) {
        CompletableFuture.allOf(reporters.stream().filter(java.util.Objects::nonNull)
                .map(r -> CompletableFuture.runAsync(() -> r.close(wait)))
                .toArray(CompletableFuture[]::new)).join();
    }
}
