package dev.pullhook.http;

import dev.pullhook.metrics.Metrics;
import dev.pullhook.metrics.WebhookOutcome;
import dev.pullhook.webhook.DeliveryId;
import dev.pullhook.webhook.WebhookReceiver;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Answers forged webhooks before Javalin sees them. For a POST to a site's {@code /pull-repo} or
 * {@code /rollback} path with a small body it reads the body as it arrives, has the site's
 * {@link WebhookReceiver} check the credentials, and when they do not verify answers 403 itself: counted, and
 * logged within the client's budget, as the route would. Everything else (credentials that verify, a larger or
 * cut-off body, a client outside {@code webhook.allow.from}, any other path or method) goes on to Javalin
 * unchanged, with the bytes already read handed over, so the routes still decide every other answer.
 *
 * <p>Why: Jetty's servlet layer and Javalin's dispatch cost about two thirds of a rejected request's CPU
 * (bench/README.md, findings 8 and 9). The gate tells Jetty it never blocks, so Jetty runs it on the
 * selector thread that read the request (one per two cores): parsing and verifying a forged request, the
 * bulk of its cost, stay on that thread, so a flood cannot spread them over a dozen busy pool threads.
 * Only the short write of the 403 goes to a pool thread. The gate must never block: Javalin (which does)
 * always runs on a pool thread. Gain, off -> on (bench/tricks.sh d: 1,000 forged requests a second, median
 * of 11 side by side): the daemon's CPU per rejected request 489 -> 278 µs; {@code /health} under that
 * flood is no faster (median 4.0 -> 5.5 ms), nor is a deploy (444 -> 423 ms).
 */
final class WebhookGate extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger(WebhookGate.class);
    /** {@code -Dpullhook.webhook.gate=false} leaves the gate out (the routes answer all): for bench/tricks.sh. */
    static final boolean ENABLED = !"false".equals(System.getProperty("pullhook.webhook.gate"));
    /** The answer to every forged request, serialised once, and its headers, encoded once. */
    static final byte[] FORBIDDEN = "{\"status\":\"forbidden\",\"error\":\"missing or invalid signature\"}"
            .getBytes(StandardCharsets.UTF_8);
    private static final HttpField JSON = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "application/json");
    private static final HttpField FORBIDDEN_LENGTH = new PreEncodedHttpField(HttpHeader.CONTENT_LENGTH,
            Integer.toString(FORBIDDEN.length));
    /**
     * Larger bodies are left to the routes: their HMAC would hold up the selector thread, and every other
     * connection on it, for too long. Push payloads are mostly well under it.
     */
    static final int MAX_BODY_BYTES = 64 * 1024;
    /** All bodies held by the gate at once: past it, requests go to the routes as they come (a thread each). */
    static final long MAX_HELD_BYTES = 4L * 1024 * 1024;

    private record Target(SiteEndpoint site, boolean rollback) {
    }

    private final Map<String, Target> targets = new HashMap<>();
    private final ClientAddresses addresses;
    private final Metrics metrics;
    private final int maxBodyBytes;
    private final AtomicLong held = new AtomicLong();

    /** @param maxBodyBytes {@code webhook.max.body.bytes}: the gate reads at most this much (and no more than 64 KiB) */
    WebhookGate(Iterable<SiteEndpoint> sites, ClientAddresses addresses, Metrics metrics, long maxBodyBytes) {
        for (SiteEndpoint site : sites) {
            // the exact paths of HttpApi's routes; any other spelling takes the routes' own way
            String suffix = site.name().isEmpty() ? "" : "/" + site.name();
            targets.put("/pull-repo" + suffix, new Target(site, false));
            targets.put("/rollback" + suffix, new Target(site, true));
        }
        this.addresses = addresses;
        this.metrics = metrics;
        this.maxBodyBytes = (int) Math.min(maxBodyBytes, MAX_BODY_BYTES);
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        Target target = "POST".equals(request.getMethod()) ? targets.get(request.getHttpURI().getPath()) : null;
        if (target == null || request.getLength() > maxBodyBytes) {
            forward(request, response, callback);
            return true;
        }
        HttpFields headers = request.getHeaders();
        String client = addresses.client(Request.getRemoteAddr(request), headers.get(HttpHeader.X_FORWARDED_FOR));
        if (!addresses.allowed(target.site().name(), client)) {
            forward(request, response, callback);
            return true;
        }
        new Delivery(request, response, callback, target, client).read();
        return true;
    }

    /** Runs the routes (Javalin's servlet, which may block) on a pool thread, never on the selector. */
    private void forward(Request request, Response response, Callback callback) {
        request.getComponents().getExecutor().execute(() -> {
            try {
                if (!super.handle(request, response, callback)) {
                    Response.writeError(request, response, callback, 404);
                }
            } catch (Throwable t) {
                Response.writeError(request, response, callback, t);
            }
        });
    }

    /** One request's way through the gate: read the body, then answer 403 or hand it on. */
    private final class Delivery extends BodyReader {
        private final Response response;
        private final Callback callback;
        private final Target target;
        private final String client;
        private byte[] body = new byte[0];
        private int size;
        /** Bytes of {@link #held} this delivery counts for. */
        private int reserved;

        Delivery(Request request, Response response, Callback callback, Target target, String client) {
            super(request);
            this.response = response;
            this.callback = callback;
            this.target = target;
            this.client = client;
        }

        @Override
        void failedHere(Throwable t) {
            // a bug, not the client: as the routes' exception handler would, log it and answer 500
            release();
            log.error("request failed method=POST path={} error=\"{}\"", HttpApi.safe(request.getHttpURI().getPath()),
                    t.toString(), t);
            Response.writeError(request, response, callback, 500, "internal error");
        }

        @Override
        void failed(Content.Chunk failure) {
            // cut off or timed out: the route reads the same failure and answers it
            handOn(false, failure);
        }

        @Override
        void tooLarge(Content.Chunk chunk, boolean last) {
            // too large for the gate: the route gets this chunk too, reads on and decides
            ByteBuffer data = chunk.getByteBuffer();
            Content.Chunk copy = Content.Chunk.from(ByteBuffer.allocate(data.remaining()).put(data).flip(), last);
            chunk.release();
            handOn(last, copy);
        }

        @Override
        void complete() {
            decide();
        }

        /** Appends {@code data} to the body; false when that would pass the gate's limits (then it is not appended). */
        @Override
        boolean keep(ByteBuffer data) {
            int n = data.remaining();
            if (size + n > body.length) {
                if (size + n > maxBodyBytes) {
                    return false;
                }
                // grown as bytes come, so a client that promises a body and stalls holds nothing
                int capacity = Math.min(maxBodyBytes, Math.max(size + n, 2 * body.length));
                if (held.addAndGet(capacity - reserved) > MAX_HELD_BYTES) {
                    held.addAndGet(reserved - capacity);
                    return false;
                }
                reserved = capacity;
                body = Arrays.copyOf(body, capacity);
            }
            data.get(body, size, n);
            size += n;
            return true;
        }

        private void release() {
            held.addAndGet(-reserved);
            reserved = 0;
        }

        private void decide() {
            release();
            byte[] raw = size == body.length ? body : Arrays.copyOf(body, size);
            HttpFields headers = request.getHeaders();
            WebhookReceiver receiver = target.site().receiver();
            String delivery = target.rollback() ? null : DeliveryId.from(headers::get);
            String path = request.getHttpURI().getPath();
            Optional<WebhookReceiver.Rejected> rejected = target.rollback()
                    ? receiver.rollbackRejection(headers::getValuesList, raw, client, path)
                    : receiver.rejection(headers::get, headers::getValuesList, raw, client, delivery, path);
            if (rejected.isEmpty()) {
                forward(new Replay(request, true, Content.Chunk.from(ByteBuffer.wrap(raw), true)), response, callback);
                return;
            }
            if (target.rollback()) {
                metrics.rollback(target.site().name(), WebhookOutcome.FORBIDDEN);
            } else {
                metrics.webhook(target.site().name(), WebhookOutcome.FORBIDDEN);
            }
            if (rejected.get().logged()) {
                // the route's request line, as Javalin's request logger would write it
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.getBeginNanoTime());
                HttpApi.logRequest("POST", request.getHttpURI().getPath(), 403, ms, client, delivery);
            }
            // answered on a pool thread, so the selector goes back to the other connections at once. Answered
            // here, the request would complete inside Jetty's read loop, which then reads this connection's next
            // request if a quick client has sent it already: one flooding connection after another kept the
            // selector and the rest waited (wrk: p50 0.1 ms, p99 60-200 ms)
            request.getComponents().getExecutor().execute(this::forbid);
        }

        private void forbid() {
            response.setStatus(403);
            response.getHeaders().put(JSON);
            response.getHeaders().put(FORBIDDEN_LENGTH);
            response.write(true, ByteBuffer.wrap(FORBIDDEN), callback);
        }

        /**
         * Hands the request on to the routes, which read the bytes read here first, then {@code next} (more
         * bytes, or the failure met here), then what the client sends next unless the body {@code ended}.
         */
        private void handOn(boolean ended, Content.Chunk next) {
            release();
            Content.Chunk read = Content.Chunk.from(ByteBuffer.wrap(body, 0, size), false);
            forward(new Replay(request, ended, read, next), response, callback);
        }
    }

    /** The request as the gate found it: the body chunks it read come first, then whatever else the client sends. */
    private static final class Replay extends Request.Wrapper {
        /** Handed out first, in order; the last of them ends the body when {@link #ended}. */
        private final ArrayDeque<Content.Chunk> pending = new ArrayDeque<>(2);
        /** The gate read the whole body: nothing more to ask the connection for. */
        private final boolean ended;

        Replay(Request request, boolean ended, Content.Chunk... read) {
            super(request);
            this.ended = ended;
            for (Content.Chunk c : read) {
                if (c != null) {
                    pending.add(c);
                }
            }
        }

        @Override
        public Content.Chunk read() {
            synchronized (this) {
                Content.Chunk next = pending.poll();
                if (next != null) {
                    return next;
                }
                if (ended) {
                    return Content.Chunk.EOF;
                }
            }
            return super.read();
        }

        @Override
        public void demand(Runnable demandCallback) {
            boolean ready;
            synchronized (this) {
                ready = !pending.isEmpty() || ended;
            }
            if (ready) {
                demandCallback.run();
            } else {
                super.demand(demandCallback);
            }
        }
    }
}
