package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.http.HttpApi;
import dev.pullhook.http.SiteEndpoint;
import dev.pullhook.webhook.PushEventParser;
import dev.pullhook.webhook.RecentDeliveries;
import dev.pullhook.webhook.RejectionLog;
import dev.pullhook.webhook.WebhookAuthenticator;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One running pullhook: per site a working copy, its state folder and deploy queue, and one HTTP server
 * for all of them, wired from a validated {@link Config}. Sites deploy in parallel, each on its own
 * worker. {@link #stop()} is what SIGTERM runs: no new requests, running deploys may finish (bounded by
 * {@code shutdown.drain.seconds}), then the server stops.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final Config config;
    private final List<StateDir> states;
    private final List<SiteEndpoint> sites;
    private final RejectionLog rejections;
    private final JavaRuntimeWatch runtime;
    private final HttpApi api;
    private final Javalin app;
    private boolean stopped;

    private Daemon(Config config, List<StateDir> states) {
        this.config = config;
        this.states = states;
        this.sites = new ArrayList<>();
        // shared by all sites: the budget is per client address, whichever site it knocks on
        this.rejections = new RejectionLog(config.rejectionsLoggedPerMinute(), System::currentTimeMillis).start();
        this.runtime = JavaRuntimeWatch.ofThisJvm().every(60);
        for (int i = 0; i < config.sites().size(); i++) {
            sites.add(endpoint(config.sites().get(i), states.get(i), rejections));
            sites.get(i).deploys().onFinished(d -> runtime.check());
        }
        this.api = new HttpApi(config, sites);
        this.app = api.create();
    }

    private static SiteEndpoint endpoint(SiteConfig site, StateDir state, RejectionLog rejections) {
        WorkingCopy workingCopy = new WorkingCopy(site.repoPath(), site.remote(), site.branch(), site.gitTimeout(),
                site.gitAuth(), site.git());
        if (site.deploy().watch()) {
            workingCopy.watchTree();
        }
        DeployService deploys = new DeployService(workingCopy, site, state);
        WebhookReceiver receiver = new WebhookReceiver(site.name(),
                new WebhookAuthenticator(site.secret().bytes(),
                        site.signingKey() == null ? null : ConfigLoader.signingKeyBytes(site.signingKey())),
                new PushEventParser(site.branch()),
                new RecentDeliveries(1000, Duration.ofDays(7), Clock.systemUTC(), state.path().resolve("deliveries")),
                deploys, rejections);
        return new SiteEndpoint(site, receiver, deploys);
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
                states.add(openState(site));
            }
        } catch (ConfigException e) {
            states.forEach(StateDir::close);
            throw e;
        }
        Daemon daemon = new Daemon(config, states);
        try {
            daemon.app.start();
        } catch (RuntimeException e) {
            daemon.runtime.close();
            daemon.sites.forEach(s -> s.deploys().shutdown(Duration.ZERO));
            states.forEach(StateDir::close);
            throw e;
        }
        for (SiteEndpoint site : daemon.sites) {
            log.info("pullhook listening on http://{}:{}{} repo={} branch={}", hostForUrl(config.host()),
                    daemon.app.port(), site.config().webhookPath(), site.config().repoPath(), site.config().branch());
            site.deploys().start(site.config().deploy().onStart());
        }
        daemon.api.warmUp(daemon.app.port());
        return daemon;
    }

    /** Opens a site's {@code state.dir}, or fails naming the key. */
    public static StateDir openState(SiteConfig site) throws ConfigException {
        String key = site.keyPrefix() + "state.dir";
        try {
            return StateDir.open(site.deploy().stateDir());
        } catch (StateDir.AlreadyLocked e) {
            throw new ConfigException(List.of(key + ": " + e.getMessage()));
        } catch (IOException e) {
            throw new ConfigException(List.of(key + ": " + StateDir.problem(site.deploy().stateDir(), e)));
        }
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
}
