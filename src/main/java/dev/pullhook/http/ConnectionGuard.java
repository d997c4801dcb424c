package dev.pullhook.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Invocable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Knows every open connection and closes the ones that hold the server without using it: past
 * {@code server.connections.max} the connection that has waited longest for a request makes room for a new
 * one; a connection that has not sent a whole request head {@code server.header.timeout.seconds} after it
 * opened (or after its last answer) is closed, which also ends idle keep-alive; a request body that arrives
 * slower than {@code server.body.min.bytes.per.second} on average is cut off. Jetty's own idle timeout only
 * sees silence, so a client sending one byte every few seconds would pass it.
 *
 * <p>It is a connection listener (added to the connector) plus {@link #handler()}, which must be in front of
 * every other handler so that it sees each request begin and end and every byte of its body. It never reads
 * or answers anything itself: it only closes connections, as an idle timeout would, so whatever reads the
 * body sees it fail. Not a per-client limit: that is {@link ClientConnectionLimit}.
 */
final class ConnectionGuard extends AbstractLifeCycle implements Connection.Listener {
    private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);
    /** How often open connections are checked: the timeouts are kept to within this. */
    static final long CHECK_EVERY_MS = 250;
    /**
     * A body's first seconds are not held to the rate: its first bytes may follow the head by a round trip
     * or a lost packet's retransmit (1 s, then 2 s), and a tiny body would otherwise fail on one late byte.
     */
    static final long BODY_GRACE_NANOS = TimeUnit.SECONDS.toNanos(3);

    /** Why this guard closed a connection: whatever was reading from it sees this as the failure. */
    static final class CutOff extends TimeoutException {
        CutOff(String message) {
            super(message);
        }
    }

    /** Whether {@code failure} (or a cause of it) is this guard closing the connection. */
    static boolean isCutOff(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CutOff) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private final int max;
    private final long headerTimeoutNanos;
    private final long minBytesPerSecond;
    private final Map<Connection, Tracked> open = new ConcurrentHashMap<>();
    private final ThrottledLog throttled = new ThrottledLog(log, 60_000);
    private ScheduledExecutorService checker;

    /**
     * @param max               {@code server.connections.max}
     * @param headerTimeout     {@code server.header.timeout.seconds}
     * @param minBytesPerSecond {@code server.body.min.bytes.per.second}, 0 = not checked
     */
    ConnectionGuard(int max, Duration headerTimeout, long minBytesPerSecond) {
        this.max = max;
        this.headerTimeoutNanos = headerTimeout.toNanos();
        this.minBytesPerSecond = minBytesPerSecond;
    }

    /** One open connection: waiting for a request head (since when), or in a request (whose body is read how). */
    private static final class Tracked {
        final Connection connection;
        /** {@link System#nanoTime()} since which a request head is awaited; 0 while a request is handled. */
        volatile long awaitingHeadSince;
        /** {@link Connection#getBytesIn()} when the head began to be awaited: more since means a head is coming. */
        volatile long bytesInBefore;
        /** The body of the request being handled, if it has one. */
        volatile BodyMeter body;

        Tracked(Connection connection, long now) {
            this.connection = connection;
            awaitHead(now);
        }

        void awaitHead(long now) {
            body = null;
            bytesInBefore = connection.getBytesIn();
            awaitingHeadSince = now;
        }
    }

    // ------------------------------------------------------------------------------------- connections

    @Override
    public void onOpened(Connection connection) {
        if (!connection.getEndPoint().isOpen()) {
            return;  // refused already (ClientConnectionLimit)
        }
        Tracked added = new Tracked(connection, System.nanoTime());
        open.put(connection, added);
        if (open.size() > max) {
            makeRoom(added);
        }
    }

    @Override
    public void onClosed(Connection connection) {
        open.remove(connection);
    }

    /**
     * Over the cap: closes the connection that has waited longest for a request head (idle keep-alive, a
     * client that connects and sends nothing), or the new one when every other is in a request. Synchronized
     * so that two new connections do not both pick the same one and leave the count over the cap.
     */
    private synchronized void makeRoom(Tracked added) {
        if (open.size() <= max) {
            return;
        }
        Tracked oldest = null;
        for (Tracked t : open.values()) {
            long since = t.awaitingHeadSince;
            if (t != added && since != 0 && (oldest == null || since - oldest.awaitingHeadSince < 0)) {
                oldest = t;
            }
        }
        Tracked victim = oldest != null ? oldest : added;
        open.remove(victim.connection);
        throttled.warn("connection limit", "connections over server.connections.max={}: closed {} client={}",
                max, victim == added ? "the new one" : "the one idle longest", client(victim.connection.getEndPoint()));
        victim.connection.getEndPoint().close(new CutOff("over server.connections.max"));
    }

    // -------------------------------------------------------------------------------------- the checks

    @Override
    protected void doStart() {
        checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "http-limits");
            t.setDaemon(true);
            return t;
        });
        checker.scheduleWithFixedDelay(this::check, CHECK_EVERY_MS, CHECK_EVERY_MS, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        checker.shutdownNow();
    }

    /** Closes the connections that are too slow sending a request head or a body. */
    void check() {
        try {
            long now = System.nanoTime();
            for (Tracked t : open.values()) {
                EndPoint endPoint = t.connection.getEndPoint();
                if (!endPoint.isOpen()) {
                    open.remove(t.connection);  // its onClosed may still come; removing twice is harmless
                    continue;
                }
                long since = t.awaitingHeadSince;
                BodyMeter body = t.body;
                if (since != 0 && now - since > headerTimeoutNanos) {
                    headerTooSlow(t, endPoint, now - since);
                } else if (since == 0 && body != null && minBytesPerSecond > 0 && body.tooSlow(now, minBytesPerSecond)) {
                    throttled.warn("slow body", "request body too slow client={} bytes={} ms={} reason=\"less than {}"
                                    + " bytes/s (server.body.min.bytes.per.second)\"", client(endPoint), body.received(),
                            TimeUnit.NANOSECONDS.toMillis(now - body.firstRead), minBytesPerSecond);
                    endPoint.close(new CutOff("request body slower than " + minBytesPerSecond + " bytes/s"));
                }
            }
        } catch (RuntimeException e) {
            log.error("connection check failed error=\"{}\"", e.toString(), e);  // and the next run tries again
        }
    }

    private void headerTooSlow(Tracked t, EndPoint endPoint, long waited) {
        open.remove(t.connection);
        if (t.connection.getBytesIn() > t.bytesInBefore) {
            // some bytes of a head came, not all of them: a trickle, worth a line
            throttled.warn("slow head", "request head too slow client={} ms={} reason=\"not complete within"
                    + " server.header.timeout.seconds\"", client(endPoint), TimeUnit.NANOSECONDS.toMillis(waited));
        } else {
            log.debug("idle connection closed client={}", client(endPoint));  // keep-alive with nothing more to ask
        }
        endPoint.close(new CutOff("no request head within server.header.timeout.seconds"));
    }

    private static String client(EndPoint endPoint) {
        SocketAddress remote = endPoint.getRemoteSocketAddress();
        return remote instanceof InetSocketAddress inet ? inet.getAddress().getHostAddress() : String.valueOf(remote);
    }

    // ------------------------------------------------------------------------------------- the handler

    /** The handler that tells this guard when each request begins and ends and meters its body. */
    Handler.Wrapper handler() {
        return new Tracker();
    }

    private final class Tracker extends Handler.Wrapper {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            Tracked t = open.get(request.getConnectionMetaData().getConnection());
            if (t == null) {
                return super.handle(request, response, callback);  // closed meanwhile, or not a network connection
            }
            t.awaitingHeadSince = 0;
            Request handled = request;
            if (request.getLength() != 0) {
                BodyMeter meter = new BodyMeter(request);
                t.body = meter;
                handled = meter;
            }
            // the state changes before Jetty hears of the end: it may start on the next request at once
            Callback ending = new Callback() {
                @Override
                public void succeeded() {
                    t.awaitHead(System.nanoTime());
                    callback.succeeded();
                }

                @Override
                public void failed(Throwable x) {
                    t.awaitHead(System.nanoTime());
                    callback.failed(x);
                }

                @Override
                public InvocationType getInvocationType() {
                    return callback.getInvocationType();
                }
            };
            if (!super.handle(handled, response, ending)) {
                t.awaitHead(System.nanoTime());
                return false;
            }
            return true;
        }
    }

    /**
     * Counts a request's body as it is read and knows whether its reader is waiting for more. The rate is
     * measured from the first read, so a body the server reads late (a busy or cold JVM) is not held against
     * the client, and checked only while the reader waits for bytes that have not come.
     */
    private static final class BodyMeter extends Request.Wrapper {
        private final AtomicLong received = new AtomicLong();
        private volatile long firstRead;
        private volatile boolean waiting;
        private volatile boolean ended;

        BodyMeter(Request request) {
            super(request);
        }

        @Override
        public Content.Chunk read() {
            if (firstRead == 0) {
                firstRead = System.nanoTime();
            }
            Content.Chunk chunk = super.read();
            if (chunk != null) {
                if (chunk.hasRemaining()) {
                    received.addAndGet(chunk.remaining());
                }
                if (chunk.isLast() || Content.Chunk.isFailure(chunk)) {
                    ended = true;
                }
            }
            return chunk;
        }

        @Override
        public void demand(Runnable demandCallback) {
            waiting = true;
            super.demand(Invocable.from(Invocable.getInvocationType(demandCallback), () -> {
                waiting = false;
                demandCallback.run();
            }));
        }

        long received() {
            return received.get();
        }

        boolean tooSlow(long now, long minBytesPerSecond) {
            long start = firstRead;
            if (ended || !waiting || start == 0 || now - start < BODY_GRACE_NANOS) {
                return false;
            }
            return received.get() * 1_000_000_000L / (now - start) < minBytesPerSecond;
        }
    }
}
