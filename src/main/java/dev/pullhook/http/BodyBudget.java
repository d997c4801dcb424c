package dev.pullhook.http;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads each POST body into memory before the routes run, within one byte budget for all requests
 * ({@code server.body.budget.bytes}), so that the memory request bodies hold is bounded whatever clients
 * send, and a slow body holds no server thread while it arrives (only a complete body gets one).
 *
 * <p>A body's room is taken before any of it is read: its Content-Length (a body without one counts as
 * {@code webhook.max.body.bytes}). A body that does not fit waits, reading nothing, for up to
 * {@link #WAIT_MS} (the oldest first when room frees), then gets 503; small bodies have the last MiB to
 * themselves. Larger than {@code webhook.max.body.bytes} by its Content-Length, it is not read at all (the
 * route answers 413). The routes take the body with {@link #body(Context)}; its room is given back when the
 * answer is done.
 *
 * <p>Sits right in front of Javalin, behind {@link WebhookGate}, which answers small forged webhooks from
 * its own bounded buffer before they get here. It does not know the routes; it reads every POST body.
 */
final class BodyBudget extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger(BodyBudget.class);
    /** The request attribute holding what was read: the body, a {@link Refused}, or why reading failed. */
    static final String BODY = "pullhook.body";
    /** Longest wait for room: longer than a burst of large bodies from NGINX takes, short of any host's timeout. */
    static final long WAIT_MS = 5_000;
    /** Room kept for small bodies: sixteen of the gate's largest at once. */
    static final long SMALL_ROOM = 16L * WebhookGate.MAX_BODY_BYTES;
    /** A body without Content-Length is read in pieces of this size, then joined. */
    private static final int PIECE = 64 * 1024;

    /** An answer instead of the body: the route throws it. */
    record Refused(int status, String message) {
    }

    private final long budget;
    private final long maxBody;
    private long used;                                         // guarded by this
    private final ArrayDeque<Body> waiting = new ArrayDeque<>();  // guarded by this

    /**
     * @param budget  {@code server.body.budget.bytes}, at least {@code maxBody}
     * @param maxBody {@code webhook.max.body.bytes}
     */
    BodyBudget(long budget, long maxBody) {
        this.budget = budget;
        this.maxBody = maxBody;
    }

    /**
     * The body a route may work on: read by this handler (no copy), or by the route itself when there was
     * none to read (no body, or a Content-Length over the limit that the route answers first). Throws what
     * the route should answer when the body could not be read.
     */
    static byte[] body(Context ctx) {
        Object held = ctx.req().getAttribute(BODY);
        if (held instanceof byte[] bytes) {
            return bytes;
        }
        if (held instanceof Refused r) {
            if (r.status() == 503) {
                ctx.header("Retry-After", Long.toString(TimeUnit.MILLISECONDS.toSeconds(WAIT_MS)));
            }
            throw new HttpResponseException(r.status(), r.message(), Map.of());
        }
        if (held instanceof Throwable t) {
            // the client hung up or was cut off (ConnectionGuard): the routes' "request body incomplete"
            throw new UncheckedIOException(t instanceof IOException io ? io : new IOException(t.getMessage(), t));
        }
        return ctx.bodyAsBytes();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        long length = request.getLength();
        if (!HttpMethod.POST.is(request.getMethod()) || length == 0 || length > maxBody) {
            return super.handle(request, response, callback);
        }
        Body body = new Body(request, response, callback, length);
        if (reserve(body)) {
            body.start();
        } else {
            request.getComponents().getScheduler().schedule(() -> expire(body), WAIT_MS, TimeUnit.MILLISECONDS);
        }
        return true;
    }

    /**
     * Takes the body's room, or queues it (false). A body that fits goes at once, even past others waiting:
     * a small verified push must not wait behind large forged bodies that take turns filling the budget.
     */
    private synchronized boolean reserve(Body body) {
        if (fits(body)) {
            used += body.room;
            return true;
        }
        waiting.add(body);
        return false;
    }

    /**
     * Whether the body fits now. The last {@link #SMALL_ROOM} bytes are only for small bodies (the size of
     * nearly every webhook, checked by {@link WebhookGate} already), so that clients sending large bodies
     * slowly cannot make a real push wait; kept only as far as the budget is larger than the largest body.
     */
    private boolean fits(Body body) {
        long limit = body.room <= WebhookGate.MAX_BODY_BYTES ? budget : budget - Math.min(SMALL_ROOM, budget - maxBody);
        return used + body.room <= limit;
    }

    /** Gives room back, then starts the waiting bodies that now fit, oldest first. */
    private void release(long room) {
        List<Body> admitted = new ArrayList<>();
        synchronized (this) {
            used -= room;
            for (Iterator<Body> i = waiting.iterator(); i.hasNext() && used < budget; ) {
                Body next = i.next();
                if (fits(next)) {
                    i.remove();
                    used += next.room;
                    admitted.add(next);
                }
            }
        }
        for (Body next : admitted) {
            next.start();
        }
    }

    private void expire(Body body) {
        synchronized (this) {
            if (!waiting.remove(body)) {
                return;  // admitted meanwhile
            }
        }
        body.handOn(new Refused(503, "too many request bodies in memory at once (server.body.budget.bytes);"
                + " try again"));
    }

    /** One body on its way in: reserved room, the bytes read so far, and the request to hand on once read. */
    private final class Body extends BodyReader {
        final Response response;
        final Callback done;
        /** Content-Length, or -1. */
        final long length;
        /** The budget this body holds once admitted. */
        final long room;
        private byte[] bytes;
        private final List<byte[]> pieces = new ArrayList<>();
        private int size;
        private volatile boolean admitted;

        Body(Request request, Response response, Callback callback, long length) {
            super(request);
            this.response = response;
            this.length = length;
            this.room = length >= 0 ? length : Math.min(budget, maxBody + PIECE);
            // the room is given back before Jetty hears of the end, and the body dropped with it
            this.done = new Callback() {
                @Override
                public void succeeded() {
                    end();
                    callback.succeeded();
                }

                @Override
                public void failed(Throwable x) {
                    end();
                    callback.failed(x);
                }

                @Override
                public InvocationType getInvocationType() {
                    return callback.getInvocationType();
                }
            };
        }

        /** The body holds its room now: reading begins. */
        void start() {
            admitted = true;
            read();
        }

        @Override
        void failedHere(Throwable t) {
            // a bug, not the client: as the routes would, log it and answer 500
            log.error("request body read failed path={} error=\"{}\"", HttpApi.safe(request.getHttpURI().getPath()),
                    t.toString(), t);
            Response.writeError(request, response, done, 500, "internal error");
        }

        @Override
        void failed(Content.Chunk failure) {
            if (ConnectionGuard.isCutOff(failure.getFailure())) {
                // too slow: logged once a minute by the guard, not once per request; nobody to answer
                done.failed(failure.getFailure());
            } else {
                handOn(failure.getFailure());  // the client hung up: the route logs it, as it always did
            }
        }

        @Override
        void tooLarge(Content.Chunk chunk, boolean last) {
            chunk.release();
            handOn(new Refused(413, "body larger than " + maxBody + " bytes (webhook.max.body.bytes)"));
        }

        @Override
        void complete() {
            handOn(whole());
        }

        /** Copies {@code data} in; false when the body would pass its limit. */
        @Override
        boolean keep(ByteBuffer data) {
            int n = data.remaining();
            if (length >= 0) {
                if (size + n > length) {
                    return false;  // more than announced: Jetty's parser stops that, this is a second line
                }
                if (bytes == null) {
                    bytes = new byte[(int) length];
                }
                data.get(bytes, size, n);
            } else {
                if (size + n > maxBody) {
                    return false;
                }
                while (data.hasRemaining()) {
                    int at = size % PIECE;
                    if (at == 0) {
                        pieces.add(new byte[PIECE]);
                    }
                    int k = Math.min(data.remaining(), PIECE - at);
                    data.get(pieces.get(pieces.size() - 1), at, k);
                    size += k;
                }
                return true;
            }
            size += n;
            return true;
        }

        private byte[] whole() {
            if (length >= 0) {
                return bytes == null ? new byte[0] : bytes;
            }
            byte[] all = new byte[size];
            for (int i = 0; i < pieces.size(); i++) {
                System.arraycopy(pieces.get(i), 0, all, i * PIECE, Math.min(PIECE, size - i * PIECE));
                pieces.set(i, null);  // each piece can go as soon as it is copied: about one body's size at once
            }
            return all;
        }

        /** Runs the routes with what was read (on a pool thread: they may block). */
        void handOn(Object held) {
            request.setAttribute(BODY, held);
            request.getComponents().getExecutor().execute(() -> {
                try {
                    if (!BodyBudget.super.handle(request, response, done)) {
                        Response.writeError(request, response, done, 404);
                    }
                } catch (Throwable t) {
                    Response.writeError(request, response, done, t);
                }
            });
        }

        private void end() {
            bytes = null;
            pieces.clear();
            request.removeAttribute(BODY);
            if (admitted) {
                admitted = false;
                release(room);
            }
        }
    }
}
