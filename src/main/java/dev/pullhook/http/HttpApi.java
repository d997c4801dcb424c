package dev.pullhook.http;

import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.pullhook.config.Config;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.webhook.DeliveryId;
import dev.pullhook.webhook.RecentDeliveries;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.InetAddressSet;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP surface: routes, status codes and JSON shapes, and the one log line per request. It holds no
 * business logic: it reads the body (bounded), hands it to {@link WebhookReceiver} and maps the receipt to
 * a status code and JSON. Builds the app; {@code Main} starts it.
 */
public final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String DELIVERY = "pullhook.delivery";

    private final Config config;
    private final WebhookReceiver receiver;
    private final DeployService deploys;

    private final InetAddressSet trustedProxies = new InetAddressSet();
    private final InetAddressSet allowFrom;

    public HttpApi(Config config, WebhookReceiver receiver, DeployService deploys) {
        this.config = config;
        this.receiver = receiver;
        this.deploys = deploys;
        config.trustedProxies().forEach(trustedProxies::add);
        if (config.allowFrom().isEmpty()) {
            allowFrom = null;
        } else {
            allowFrom = new InetAddressSet();
            config.allowFrom().forEach(allowFrom::add);
        }
    }

    /** A configured, not yet started server. */
    public Javalin create() {
        return Javalin.create(cfg -> {
            cfg.jetty.host = config.host();
            cfg.jetty.port = config.port();
            QueuedThreadPool pool = new QueuedThreadPool(32, 2, 60_000);
            pool.setName("http");
            cfg.jetty.threadPool = pool;
            cfg.jetty.modifyServer(server -> {
                // let in-flight requests finish on SIGTERM (Javalin's default handler chain is not graceful)
                server.insertHandler(new GracefulHandler());
                server.setStopTimeout(5_000);
            });
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.http.prefer405over404 = true;
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.jsonMapper(new JavalinJackson().updateMapper(m ->
                    m.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)));

            cfg.contextResolver.ip = this::clientAddress;
            cfg.routes.post("/pull-repo", this::pullRepo);
            cfg.routes.post("/rollback", this::rollback);
            cfg.routes.get("/health", ctx -> ctx.json(Map.of("status", "ok")));
            cfg.routes.get("/status", this::status);

            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> {
                if (e.getStatus() == 405) {
                    // RFC 9110: a 405 names the methods the resource supports
                    boolean getOnly = ctx.path().equals("/health") || ctx.path().equals("/status");
                    ctx.header("Allow", getOnly ? "GET, HEAD" : "POST");
                }
                error(ctx, e.getStatus(), e.getMessage());
            });
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                log.error("request failed method={} path={} error=\"{}\"", ctx.method(), safe(ctx.path()), e.toString(), e);
                error(ctx, 500, "internal error");
            });
            cfg.routes.error(404, ctx -> error(ctx, 404, "not found"));
            cfg.requestLogger.http((ctx, ms) -> log.info("http method={} path={} status={} ms={} client={} delivery={}",
                    ctx.method(), safe(ctx.path()), ctx.statusCode(), Math.round(ms), ctx.ip(),
                    orDash(ctx.attribute(DELIVERY))));
        });
    }

    /**
     * The client's address: the TCP peer, unless the peer is a trusted proxy; then X-Forwarded-For is read
     * right to left and the first address that is not a trusted proxy wins (the left-most entries are
     * whatever the client wrote, so they are never believed).
     */
    private String clientAddress(Context ctx) {
        String peer = ctx.req().getRemoteAddr();
        String xff = ctx.header("X-Forwarded-For");
        if (xff == null || !trusted(trustedProxies, peer)) {
            return peer;
        }
        String[] hops = xff.split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].strip();
            if (hop.isEmpty()) {
                continue;
            }
            if (!isAddress(hop)) {
                return peer;  // garbage in the header: don't guess
            }
            if (!trusted(trustedProxies, hop)) {
                return hop;
            }
        }
        return peer;
    }

    /** An IPv4 or IPv6 literal: such strings never make {@link InetAddress#getByName} ask DNS. */
    private static boolean isAddress(String s) {
        return s.length() <= 45 && (s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || s.matches("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"));
    }

    private static boolean trusted(InetAddressSet set, String literal) {
        String address = literal == null ? null : literal.replace("[", "").replace("]", "");
        if (address == null || !isAddress(address)) {
            return false;
        }
        try {
            return set.test(InetAddress.getByName(address));
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** {@code webhook.allow.from}: others get 403 before any other work. */
    private boolean allowed(Context ctx) {
        if (allowFrom == null || trusted(allowFrom, ctx.ip())) {
            return true;
        }
        log.warn("client refused client={} path={} reason=\"not in webhook.allow.from\"", ctx.ip(), safe(ctx.path()));
        ctx.status(403).json(Map.of("status", "forbidden", "error", "client address not allowed"));
        return false;
    }

    private void pullRepo(Context ctx) {
        if (!allowed(ctx)) {
            return;
        }
        String delivery = DeliveryId.from(ctx::header);
        ctx.attribute(DELIVERY, delivery);
        long length = ctx.contentLength();
        if (length > config.maxBodyBytes()) {
            error(ctx, 413, "body larger than " + config.maxBodyBytes() + " bytes (webhook.max.body.bytes)");
            return;
        }
        byte[] body = ctx.bodyAsBytes();  // throws 413 past webhook.max.body.bytes, whatever Content-Length said

        WebhookReceiver.Receipt receipt = receiver.receive(ctx::header, body, ctx.ip(), delivery);
        if (receipt instanceof WebhookReceiver.Rejected) {
            ctx.status(403).json(Map.of("status", "forbidden", "error", "missing or invalid signature"));
        } else if (receipt instanceof WebhookReceiver.Invalid r) {
            error(ctx, 400, r.event().reason());
        } else if (receipt instanceof WebhookReceiver.Ignored r) {
            ctx.status(200).json(Map.of("status", "ignored", "reason", r.event().reason()));
        } else if (receipt instanceof WebhookReceiver.Pong) {
            ctx.status(200).json(Map.of("status", "pong"));
        } else if (receipt instanceof WebhookReceiver.Duplicate r) {
            ctx.status(200).json(Map.of("status", "duplicate", "first", r.first().at().toString()));
        } else if (receipt instanceof WebhookReceiver.UpToDate r) {
            ctx.status(200).json(Map.of("status", "up-to-date", "head", r.commit()));
        } else if (receipt instanceof WebhookReceiver.Queued r) {
            answerQueued(ctx, r.ticket());
        } else {
            error(ctx, 503, "shutting down");
        }
    }

    private void rollback(Context ctx) {
        if (!allowed(ctx)) {
            return;
        }
        if (ctx.contentLength() > config.maxBodyBytes()) {
            error(ctx, 413, "body larger than " + config.maxBodyBytes() + " bytes (webhook.max.body.bytes)");
            return;
        }
        WebhookReceiver.Receipt receipt = receiver.receiveRollback(ctx::header, ctx.bodyAsBytes(), ctx.ip());
        if (receipt instanceof WebhookReceiver.Queued r) {
            answerQueued(ctx, r.ticket());
        } else if (receipt instanceof WebhookReceiver.Rejected) {
            ctx.status(403).json(Map.of("status", "forbidden", "error", "missing or invalid signature"));
        } else {
            error(ctx, 503, "shutting down");
        }
    }

    private void answerQueued(Context ctx, DeployService.Ticket ticket) {
        String wait = ctx.queryParam("wait");
        if ("true".equalsIgnoreCase(wait) || "1".equals(wait)) {
            CompletableFuture<Deployment> bounded = ticket.done().copy()
                    .completeOnTimeout(null, config.waitTimeout().toMillis(), TimeUnit.MILLISECONDS);
            ctx.future(() -> bounded.thenAccept(d -> {
                if (d == null) {
                    queued(ctx, ticket);
                } else {
                    finished(ctx, d);
                }
            }));
        } else {
            queued(ctx, ticket);
        }
    }

    private static void queued(Context ctx, DeployService.Ticket ticket) {
        ctx.status(202).json(Map.of("status", "queued", "id", ticket.deployId()));
    }

    private static void finished(Context ctx, Deployment d) {
        Map<String, Object> body = new LinkedHashMap<>();
        switch (d.outcome()) {
            case DEPLOYED -> {
                body.put("status", "deployed");
                body.put("id", d.id());
                body.put("from", d.from());
                body.put("to", d.to());
                body.put("ms", d.ms());
                if (d.saved() != null) {
                    body.put("saved", d.saved());
                }
                ctx.status(200);
            }
            case FAILED -> {
                body.put("status", "failed");
                body.put("id", d.id());
                body.put("error", d.error());
                if (d.saved() != null) {
                    body.put("saved", d.saved());
                }
                ctx.status(500);
            }
            case CANCELLED -> {
                body.put("status", "cancelled");
                body.put("id", d.id());
                body.put("error", d.error());
                ctx.status(503);
            }
        }
        ctx.json(body);
    }

    private void status(Context ctx) {
        List<Map<String, Object>> recent = new ArrayList<>();
        for (Deployment d : deploys.history().recent()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", d.id());
            m.put("trigger", d.trigger());
            m.put("deliveries", d.deliveries());
            m.put("started", d.started().toString());
            m.put("ms", d.ms());
            m.put("from", d.from());
            m.put("to", d.to());
            m.put("outcome", d.outcome().toString());
            m.put("error", d.error());
            m.put("saved", d.saved());
            m.put("command", d.command() == null ? null : Map.of("exit", d.command().exitCode(),
                    "timedOut", d.command().timedOut(), "ms", d.command().ms(), "output", d.command().output()));
            recent.add(m);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("branch", config.branch());
        body.put("remote", config.remote());
        body.put("head", deploys.head().orElse(null));
        body.put("state", deploys.state().toString());
        body.put("deploys", recent);
        List<Map<String, Object>> seen = new ArrayList<>();
        for (RecentDeliveries.Entry e : receiver.deliveries().recent(config.historySize())) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("delivery", e.id());
            m.put("host", e.host().toString());
            m.put("event", e.event());
            m.put("at", e.at().toString());
            m.put("outcome", e.outcome());
            m.put("deploy", e.deployId() == 0 ? null : e.deployId());
            seen.add(m);
        }
        body.put("deliveries", seen);
        ctx.json(body);
    }

    private static void error(Context ctx, int status, String message) {
        String word = switch (status) {
            case 400 -> "bad request";
            case 403 -> "forbidden";
            case 404 -> "not found";
            case 405 -> "method not allowed";
            case 413 -> "too large";
            case 503 -> "unavailable";
            default -> "error";
        };
        ctx.status(status).json(Map.of("status", word, "error", message == null ? word : message));
    }

    private static String orDash(Object value) {
        return value == null ? "-" : value.toString();
    }

    /** A request path fit for one log line: no control characters, bounded length. */
    static String safe(String path) {
        if (path == null) {
            return "-";
        }
        String cut = path.length() > 200 ? path.substring(0, 200) + "..." : path;
        return cut.replaceAll("[\\p{Cntrl}\\s]", "_");
    }
}
