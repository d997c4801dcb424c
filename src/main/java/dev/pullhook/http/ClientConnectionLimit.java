package dev.pullhook.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Caps the connections one client address holds open, so a client that opens many and stalls them cannot
 * take every server thread from the others. Trusted proxies (NGINX) are exempt: they carry every client.
 * Refusals are logged at most once a minute per address.
 */
final class ClientConnectionLimit implements Connection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ClientConnectionLimit.class);
    private static final long LOG_EVERY_MS = 60_000;

    private final int limit;
    private final Predicate<InetAddress> exempt;
    private final Map<InetAddress, AtomicInteger> open = new ConcurrentHashMap<>();
    private final Map<InetAddress, Long> lastLogged = new ConcurrentHashMap<>();

    ClientConnectionLimit(int limit, Predicate<InetAddress> exempt) {
        this.limit = limit;
        this.exempt = exempt;
    }

    @Override
    public void onOpened(Connection connection) {
        InetAddress client = client(connection.getEndPoint());
        if (client == null || exempt.test(client)) {
            return;
        }
        int now = open.computeIfAbsent(client, c -> new AtomicInteger()).incrementAndGet();
        if (now > limit) {
            long t = System.currentTimeMillis();
            Long last = lastLogged.get(client);
            if (last == null || t - last > LOG_EVERY_MS) {
                lastLogged.put(client, t);
                log.warn("connection refused client={} reason=\"more than {} open connections"
                        + " (server.connections.per.client)\"", client.getHostAddress(), limit);
            }
            connection.getEndPoint().close();
        }
    }

    @Override
    public void onClosed(Connection connection) {
        InetAddress client = client(connection.getEndPoint());
        if (client == null || exempt.test(client)) {
            return;
        }
        open.computeIfPresent(client, (c, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    private static InetAddress client(EndPoint endPoint) {
        SocketAddress remote = endPoint.getRemoteSocketAddress();
        return remote instanceof InetSocketAddress inet ? inet.getAddress() : null;
    }
}
