package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.deploy.DeployHistory;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.http.HttpApi;
import dev.pullhook.webhook.PushEventParser;
import dev.pullhook.webhook.RecentDeliveries;
import dev.pullhook.webhook.WebhookAuthenticator;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;

/**
 * One running pullhook: the working copy, its deploy queue and the HTTP server, wired from a validated
 * {@link Config}. {@link #stop()} is what SIGTERM runs: no new requests, the running deploy may finish
 * (bounded by {@code shutdown.drain.seconds}), then the server stops.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final Config config;
    private final DeployService deploys;
    private final Javalin app;
    private boolean stopped;

    private Daemon(Config config) {
        this.config = config;
        WorkingCopy workingCopy = new WorkingCopy(config.repoPath(), config.remote(), config.branch(),
                config.gitTimeout());
        this.deploys = new DeployService(workingCopy, new DeployHistory(config.historySize()));
        WebhookReceiver receiver = new WebhookReceiver(
                new WebhookAuthenticator(config.secret().bytes()),
                new PushEventParser(config.branch()),
                new RecentDeliveries(1000, Duration.ofDays(7), Clock.systemUTC()),
                deploys);
        this.app = new HttpApi(config, receiver, deploys).create();
    }

    /** Starts the server; returns once it listens. */
    public static Daemon start(Config config) {
        Daemon daemon = new Daemon(config);
        daemon.deploys.warmUp();
        daemon.app.start();
        log.info("pullhook listening on http://{}:{} repo={} branch={}", hostForUrl(config.host()),
                daemon.app.port(), config.repoPath(), config.branch());
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
        log.info("stopping: waiting up to {} s for a running deploy", config.drainTimeout().toSeconds());
        deploys.shutdown(config.drainTimeout());
        app.stop();
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }
}
