package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.http.HttpApi;
import dev.pullhook.webhook.PushEventParser;
import dev.pullhook.webhook.RecentDeliveries;
import dev.pullhook.webhook.WebhookAuthenticator;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * One running pullhook: the working copy, its deploy queue and the HTTP server, wired from a validated
 * {@link Config}. {@link #stop()} is what SIGTERM runs: no new requests, the running deploy may finish
 * (bounded by {@code shutdown.drain.seconds}), then the server stops.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final Config config;
    private final StateDir state;
    private final DeployService deploys;
    private final Javalin app;
    private boolean stopped;

    private Daemon(Config config, StateDir state) {
        this.config = config;
        this.state = state;
        WorkingCopy workingCopy = new WorkingCopy(config.repoPath(), config.remote(), config.branch(),
                config.gitTimeout(), config.gitAuth());
        this.deploys = new DeployService(workingCopy, config, state);
        WebhookReceiver receiver = new WebhookReceiver(
                new WebhookAuthenticator(config.secret().bytes()),
                new PushEventParser(config.branch()),
                new RecentDeliveries(1000, Duration.ofDays(7), Clock.systemUTC()),
                deploys);
        this.app = new HttpApi(config, receiver, deploys).create();
    }

    /**
     * Takes the state folder's lock, starts the server, and then queues the start-up check (so readiness is
     * not delayed by git). Returns once it listens.
     *
     * @throws ConfigException when the state folder cannot be used, or another pullhook holds it
     */
    public static Daemon start(Config config) throws ConfigException {
        StateDir state = openState(config);
        Daemon daemon = new Daemon(config, state);
        try {
            daemon.app.start();
        } catch (RuntimeException e) {
            daemon.deploys.shutdown(Duration.ZERO);
            state.close();
            throw e;
        }
        log.info("pullhook listening on http://{}:{} repo={} branch={}", hostForUrl(config.host()),
                daemon.app.port(), config.repoPath(), config.branch());
        daemon.deploys.start(config.deploy().onStart());
        return daemon;
    }

    /** Opens {@code state.dir}, or fails naming the key. */
    public static StateDir openState(Config config) throws ConfigException {
        try {
            return StateDir.open(config.deploy().stateDir());
        } catch (StateDir.AlreadyLocked e) {
            throw new ConfigException(List.of("state.dir: " + e.getMessage()));
        } catch (IOException e) {
            throw new ConfigException(List.of("state.dir: cannot use " + config.deploy().stateDir() + " ("
                    + e.getMessage() + ")"));
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
        log.info("stopping: waiting up to {} s for a running deploy", config.drainTimeout().toSeconds());
        deploys.shutdown(config.drainTimeout());
        app.stop();
        state.close();
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }
}
