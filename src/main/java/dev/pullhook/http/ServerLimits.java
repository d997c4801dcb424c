package dev.pullhook.http;

import dev.pullhook.config.Config;
import dev.pullhook.config.HttpLimits;
import io.javalin.config.JavalinConfig;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The Jetty settings that keep pullhook's memory bounded and its HTTP side answering whatever clients do:
 * the thread pool, the timeouts, the connection caps ({@link ConnectionGuard}, {@link ClientConnectionLimit})
 * and the body budget ({@link BodyBudget}). Each limit is a {@code server.*} key ({@link HttpLimits}).
 *
 * <p>{@link #configure} sets up everything but {@link #guard()}, the handler that must come first: the
 * caller inserts it in front of its own handlers. What the limits mean for a client is in README
 * "Configuration"; why each is there, in SECURITY.md.
 */
final class ServerLimits {
    /** Threads for the routes. Bodies are read without one, so only handled requests (and deploy waits) hold one. */
    static final int MAX_THREADS = 64;

    private final Config config;
    private final HttpLimits limits;
    private final ClientConnectionLimit perClient;
    private final ConnectionGuard guard;

    /** How long a connection may stay silent once the server is stopping, in ms. */
    private static final long SHUTDOWN_IDLE_MS = 100;

    ServerLimits(Config config, ClientAddresses addresses) {
        this.config = config;
        this.limits = config.limits();
        this.perClient = new ClientConnectionLimit(config.connectionsPerClient(), addresses::isTrustedProxy);
        this.guard = new ConnectionGuard(limits.connectionsMax(), limits.headerTimeout(), limits.bodyMinBytesPerSecond());
    }

    /**
     * Applies the limits to a Javalin configuration: call it before adding handlers of your own with
     * {@code modifyServer}, so that the body budget sits right in front of Javalin, behind them.
     */
    void configure(JavalinConfig cfg) {
        QueuedThreadPool pool = new QueuedThreadPool(MAX_THREADS, 2, 5_000);
        pool.setName("http");
        cfg.jetty.threadPool = pool;
        long idleMs = limits.idleTimeout().toMillis();
        // the same silence is allowed whether a handler waits for the body or Jetty does
        cfg.jetty.modifyHttpConfiguration(http -> http.setIdleTimeout(idleMs));
        cfg.jetty.modifyServer(server -> {
            server.insertHandler(new BodyBudget(limits.bodyBudgetBytes(), config.maxBodyBytes()));
            server.addBean(guard);
            server.addEventListener(new LifeCycle.Listener() {
                @Override
                public void lifeCycleStarting(LifeCycle event) {
                    for (Connector connector : server.getConnectors()) {
                        if (connector instanceof AbstractConnector c) {
                            c.setIdleTimeout(idleMs);
                            // on stop, idle keep-alive connections are closed after this silence (Jetty's 1 s
                            // default made every stop take 1 s while a client kept a connection open; the
                            // deploys have drained by then, and GracefulHandler lets running requests finish)
                            c.setShutdownIdleTimeout(SHUTDOWN_IDLE_MS);
                            // per client first: a connection it refuses never counts against the cap
                            c.addBean(perClient);
                            c.addBean(guard, false);
                        }
                    }
                }
            });
        });
    }

    /** The handler to put in front of all others: it sees every request begin and end, and its body. */
    Handler.Wrapper guard() {
        return guard.handler();
    }
}
