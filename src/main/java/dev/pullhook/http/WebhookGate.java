package dev.pullhook.http;

import dev.pullhook.metrics.Metrics;
import dev.pullhook.metrics.WebhookOutcome;
import dev.pullhook.webhook.DeliveryId;
import dev.pullhook.webhook.WebhookReceiver;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Answers forged webhooks before Javalin sees them. For a POST to a site's {@code /pull-repo} or
 * {@code /rollback} path it reads the body without holding a thread, has the site's {@link WebhookReceiver}
 * check the credentials, and when they do not verify answers 403 itself: counted, and logged within the
 * client's budget, as the route would. Everything else (credentials that verify, a body over the limit or cut
 * off, a client outside {@code webhook.allow.from}, any other path) goes on to Javalin unchanged, with the bytes
 * already read handed over, so the routes still decide every other answer.
 *
 * <p>Why: Jetty's servlet layer and Javalin's dispatch cost about two thirds of a rejected request's CPU
 * (bench/README.md, finding 8), and a flood of forged requests is the load this daemon must shrug off.
 */
final class WebhookGate extends Handler.Wrapper {
    private static final Logger log = LoggerFactory.getLogger(WebhookGate.class);
    /** The answer to every forged request, serialised once. */
    static final byte[] FORBIDDEN = "{\"status\":\"forbidden\",\"error\":\"missing or invalid signature\"}"
            .getBytes(StandardCharsets.UTF_8);

    private record Target(SiteEndpoint site, boolean rollback) {
    }

    private final Map<String, Target> targets = new HashMap<>();
    private final ClientAddresses addresses;
    private final Metrics metrics;
    private final long maxBodyBytes;

    WebhookGate(Iterable<SiteEndpoint> sites, ClientAddresses addresses, Metrics metrics, long maxBodyBytes) {
        for (SiteEndpoint site : sites) {
            // the exact paths of HttpApi's routes; any other spelling takes the routes' own way
            String suffix = site.name().isEmpty() ? "" : "/" + site.name();
            targets.put("/pull-repo" + suffix, new Target(site, false));
            targets.put("/rollback" + suffix, new Target(site, true));
        }
        this.addresses = addresses;
        this.metrics = metrics;
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (!"POST".equals(request.getMethod())) {
            return super.handle(request, response, callback);
        }
        Target target = targets.get(request.getHttpURI().getPath());
        if (target == null) {
            return super.handle(request, response, callback);
        }
        HttpFields headers = request.getHeaders();
        String client = addresses.client(Request.getRemoteAddr(request), headers.get(HttpHeader.X_FORWARDED_FOR));
        long length = request.getLength();
        if (!addresses.allowed(target.site().name(), client) || length > maxBodyBytes) {
            return super.handle(request, response, callback);
        }
        new Delivery(request, response, callback, target, client, length).read();
        return true;
    }

    /** One request's way through the gate: read the body, then answer 403 or pass it on. */
    private final class Delivery implements Runnable {
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final Target target;
        private final String client;
        private byte[] body;
        private int size;

        Delivery(Request request, Response response, Callback callback, Target target, String client, long length) {
            this.request = request;
            this.response = response;
            this.callback = callback;
            this.target = target;
            this.client = client;
            this.body = new byte[(int) Math.max(0, Math.min(length < 0 ? 1024 : length, maxBodyBytes))];
        }

        /** Called again by Jetty when more of the body has come. */
        @Override
        public void run() {
            read();
        }

        void read() {
            try {
                readSome();
            } catch (Throwable t) {
                // a bug, not the client: as the routes' exception handler would, log it and answer 500
                log.error("request failed method=POST path={} error=\"{}\"", HttpApi.safe(request.getHttpURI().getPath()),
                        t.toString(), t);
                Response.writeError(request, response, callback, 500, "internal error");
            }
        }

        private void readSome() throws Exception {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    // cut off or timed out: the route reads the same failure and answers it
                    pass(false, chunk);
                    return;
                }
                boolean last = chunk.isLast();
                append(chunk.getByteBuffer());
                chunk.release();
                if (size > maxBodyBytes) {
                    pass(last, null);  // the route reads on and answers 413
                    return;
                }
                if (last) {
                    decide();
                    return;
                }
            }
        }

        private void append(ByteBuffer data) {
            int n = data.remaining();
            if (size + n > body.length) {
                // grows past the limit by at most one chunk, which is enough to know it is too large
                body = Arrays.copyOf(body, Math.max(size + n, (int) Math.min(2L * body.length, maxBodyBytes + 1)));
            }
            data.get(body, size, n);
            size += n;
        }

        private void decide() throws Exception {
            if (size != body.length) {
                body = Arrays.copyOf(body, size);
            }
            byte[] raw = body;
            HttpFields headers = request.getHeaders();
            WebhookReceiver receiver = target.site().receiver();
            String delivery = target.rollback() ? null : DeliveryId.from(headers::get);
            Optional<WebhookReceiver.Rejected> rejected = target.rollback()
                    ? receiver.rollbackRejection(headers::getValuesList, raw, client)
                    : receiver.rejection(headers::getValuesList, raw, client, delivery);
            if (rejected.isEmpty()) {
                pass(true, null);
                return;
            }
            if (!target.rollback()) {
                metrics.webhook(target.site().name(), WebhookOutcome.FORBIDDEN);
            }
            if (rejected.get().logged()) {
                // the route's request line, as Javalin's request logger would write it
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - request.getBeginNanoTime());
                HttpApi.logRequest("POST", request.getHttpURI().getPath(), 403, ms, client, delivery);
            }
            response.setStatus(403);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, FORBIDDEN.length);
            response.write(true, ByteBuffer.wrap(FORBIDDEN), callback);
        }

        /**
         * Hands the request on to Javalin, which reads the bytes read here first, then the rest: nothing when
         * {@code ended}, else the failure met here, or what the client sends next.
         */
        private void pass(boolean ended, Content.Chunk failure) throws Exception {
            Request replay = new Replay(request, ByteBuffer.wrap(body, 0, size), ended, failure);
            if (!WebhookGate.super.handle(replay, response, callback)) {
                Response.writeError(replay, response, callback, 404);
            }
        }
    }

    /** The request as the gate found it: the body bytes it read come first, then whatever else the client sends. */
    private static final class Replay extends Request.Wrapper {
        /** The bytes read, then the failure met, if any; null once handed out. */
        private Content.Chunk pending;
        private Content.Chunk failure;
        /** The gate read the whole body: nothing more to ask the connection for. */
        private final boolean ended;

        Replay(Request request, ByteBuffer read, boolean ended, Content.Chunk failure) {
            super(request);
            this.ended = ended;
            this.pending = Content.Chunk.from(read, ended);
            this.failure = failure;
        }

        @Override
        public Content.Chunk read() {
            synchronized (this) {
                if (pending != null) {
                    Content.Chunk next = pending;
                    pending = null;
                    return next;
                }
                if (failure != null) {
                    Content.Chunk next = failure;
                    failure = null;
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
                ready = pending != null || failure != null || ended;
            }
            if (ready) {
                demandCallback.run();
            } else {
                super.demand(demandCallback);
            }
        }
    }
}
