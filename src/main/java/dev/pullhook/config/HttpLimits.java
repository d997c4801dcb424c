package dev.pullhook.config;

import java.time.Duration;

/**
 * What the HTTP server allows all clients together and each request (the {@code server.*} limits), so that
 * memory stays bounded and {@code /health} and real webhooks are answered whatever other clients do.
 * Validated by {@link ConfigLoader}; applied by {@code http.ServerLimits}. The per-client cap,
 * {@code server.connections.per.client}, is {@link Config#connectionsPerClient()}.
 *
 * @param connectionsMax       open connections in all ({@code server.connections.max}); past it the connection
 *                             that has waited longest for a request is closed to make room
 * @param headerTimeout        a connection must send a whole request head this soon after it opened or after
 *                             its last answer ({@code server.header.timeout.seconds}); also ends idle keep-alive
 * @param idleTimeout          longest silence in the middle of a request or an answer
 *                             ({@code server.idle.timeout.seconds})
 * @param bodyMinBytesPerSecond slowest average a request body may arrive at, 0 = not checked
 *                             ({@code server.body.min.bytes.per.second})
 * @param bodyBudgetBytes      request bodies held in memory at once ({@code server.body.budget.bytes})
 * @param logFollowersMax      readers of {@code GET /deploys/<id>/log} at once, all sites together, 0 = none
 *                             ({@code server.deploy.log.followers.max})
 */
public record HttpLimits(int connectionsMax, Duration headerTimeout, Duration idleTimeout,
                         long bodyMinBytesPerSecond, long bodyBudgetBytes, int logFollowersMax) {

    /** The default of {@code server.deploy.log.followers.max}. */
    public static final int LOG_FOLLOWERS_DEFAULT = 8;

    public HttpLimits(int connectionsMax, Duration headerTimeout, Duration idleTimeout, long bodyMinBytesPerSecond,
                      long bodyBudgetBytes) {
        this(connectionsMax, headerTimeout, idleTimeout, bodyMinBytesPerSecond, bodyBudgetBytes, LOG_FOLLOWERS_DEFAULT);
    }

    @Override
    public String toString() {
        return "server.connections.max=" + connectionsMax
                + " server.header.timeout.seconds=" + headerTimeout.toSeconds()
                + " server.idle.timeout.seconds=" + idleTimeout.toSeconds()
                + " server.body.min.bytes.per.second=" + bodyMinBytesPerSecond
                + " server.body.budget.bytes=" + bodyBudgetBytes
                + " server.deploy.log.followers.max=" + logFollowersMax;
    }
}
