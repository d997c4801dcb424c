package dev.pullhook.http;

import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.pullhook.config.Config;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.metrics.Metrics;
import dev.pullhook.metrics.WebhookOutcome;
import dev.pullhook.webhook.DeliveryId;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.json.JavalinJackson;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP surface: routes, status codes and JSON shapes, and the one log line per request. It holds no
 * business logic: it reads the body (bounded), hands it to {@link WebhookReceiver} and maps the receipt to
 * a status code and JSON (and tells {@link Metrics}, whose registry it serves at {@code /metrics}). Forged
 * webhooks never reach the routes: {@link WebhookGate}, in front of Javalin, answers them. Builds the app;
 * {@code Main} starts it.
 */
public final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final String DELIVERY = "pullhook.delivery";
    /** Set on a rejected request past its client's log budget (see RejectionLog): no request line either. */
    private static final String QUIET = "pullhook.quiet";

    private final Config config;
    private final Map<String, SiteEndpoint> sites = new LinkedHashMap<>();
    private final ClientAddresses addresses;
    /** One registry per daemon (one HttpApi per daemon), never the library's global one. */
    private final Metrics metrics = new Metrics();

    public HttpApi(Config config, List<SiteEndpoint> endpoints) {
        this.config = config;
        this.addresses = new ClientAddresses(config.trustedProxies());
        for (SiteEndpoint site : endpoints) {
            sites.put(site.name(), site);
            metrics.watch(site.name(), site.deploys());
            if (site.reporter() != null) {
                metrics.watch(site.name(), site.reporter());
            }
            addresses.allow(site.name(), site.config().allowFrom());
        }
    }

    /**
     * Once the server listens: sends it one signed ping from a background thread, so that the first real
     * webhook after a start does not pay for the first run of its request path (Jetty's body handling,
     * the gate, Javalin's dispatch, the signature check, the JSON parser: about 6 ms of a small site's
     * first deploy). Answered like a host's ping, but neither logged nor counted ({@link
     * WebhookReceiver#WARM_UP_DELIVERY}); one INFO line says how it went. Skipped when no site allows the
     * daemon's own address ({@code webhook.allow.from}).
     */
    public void warmUp(int port) {
        InetAddress address = WarmUpRequest.target(config.host());
        for (SiteEndpoint site : sites.values()) {
            if (addresses.allowed(site.name(), address.getHostAddress())) {
                Thread t = new Thread(() -> WarmUpRequest.send(address, port, site), "http-warm-up");
                t.setDaemon(true);
                t.start();
                return;
            }
        }
    }

    /** A configured, not yet started server. */
    public Javalin create() {
        return Javalin.create(cfg -> {
            cfg.jetty.host = config.host();
            cfg.jetty.port = config.port();
            ServerLimits limits = new ServerLimits(config, addresses);
            limits.configure(cfg);  // threads, timeouts, connection caps, and the body budget in front of the routes
            WebhookGate gate = new WebhookGate(sites.values(), addresses, metrics, config.maxBodyBytes());
            cfg.jetty.modifyServer(server -> {
                // forged webhooks are answered in front of the servlet layer; the rest pass on to the routes
                server.insertHandler(gate);
                // in front of the gate: the header timeout and the minimum body rate see every request
                server.insertHandler(limits.guard());
                // let in-flight requests finish on SIGTERM (Javalin's default handler chain is not graceful);
                // inserted last, so it wraps the gate too
                server.insertHandler(new GracefulHandler());
                server.setStopTimeout(5_000);
                // what Jetty answers itself (malformed HTTP, oversized headers) in pullhook's JSON, not HTML
                server.setErrorHandler(new JsonErrorHandler());
            });
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.http.prefer405over404 = true;
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.jsonMapper(new JavalinJackson().updateMapper(m ->
                    m.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)));

            cfg.contextResolver.ip = ctx -> addresses.client(ctx.req().getRemoteAddr(), ctx.header("X-Forwarded-For"));
            cfg.routes.post("/pull-repo", ctx -> pullRepo(ctx, ""));
            cfg.routes.post("/pull-repo/{site}", ctx -> pullRepo(ctx, ctx.pathParam("site")));
            cfg.routes.post("/rollback", ctx -> rollback(ctx, ""));
            cfg.routes.post("/rollback/{site}", ctx -> rollback(ctx, ctx.pathParam("site")));
            cfg.routes.get("/health", ctx -> ctx.json(answer("status", "ok")));
            cfg.routes.get("/status", this::status);
            DeployLogRoute logs = new DeployLogRoute(sites.values(), config.limits().logFollowersMax(),
                    config.limits().idleTimeout());
            cfg.routes.get("/deploys/{id}/log", logs::unnamed);
            cfg.routes.get("/deploys/{site}/{id}/log", logs::named);
            cfg.routes.get("/metrics", ctx -> ctx.contentType(metrics.contentType()).result(metrics.scrape()));

            cfg.routes.exception(HttpResponseException.class, (e, ctx) -> {
                if (e.getStatus() == 405) {
                    // RFC 9110: a 405 names the methods the resource supports
                    boolean getOnly = List.of("/health", "/status", "/metrics").contains(ctx.path())
                            || ctx.path().startsWith("/deploys/");
                    ctx.header("Allow", getOnly ? "GET, HEAD" : "POST");
                }
                error(ctx, e.getStatus(), e.getMessage());
            });
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                if (clientWentAway(e)) {
                    // the client promised more body than it sent, or hung up: its problem, one line, no trace
                    log.warn("request body incomplete method={} path={} client={} error=\"{}\"", ctx.method(),
                            safe(ctx.path()), ctx.ip(), rootMessage(e));
                    error(ctx, 400, "request body incomplete");
                    return;
                }
                log.error("request failed method={} path={} error=\"{}\"", ctx.method(), safe(ctx.path()), e.toString(), e);
                error(ctx, 500, "internal error");
            });
            // an unknown route; an unknown site has its answer (naming the sites) already
            cfg.routes.error(404, ctx -> {
                if (ctx.resultInputStream() == null) {
                    error(ctx, 404, "not found");
                }
            });
            cfg.requestLogger.http((ctx, ms) -> {
                if (ctx.attribute(QUIET) == null) {
                    logRequest(ctx.method().name(), ctx.path(), ctx.statusCode(), Math.round(ms), ctx.ip(),
                            ctx.attribute(DELIVERY));
                }
            });
        });
    }

    /** The one log line per request (also written by {@link WebhookGate} for the forged requests it answers). */
    static void logRequest(String method, String path, int status, long ms, String client, Object delivery) {
        log.info("http method={} path={} status={} ms={} client={} delivery={}", method, safe(path), status, ms, client,
                orDash(delivery));
    }

    private static List<String> headerValues(Context ctx, String name) {
        return java.util.Collections.list(ctx.req().getHeaders(name));
    }

    /** The site a request names, or null after answering 404 (unknown sites and odd names alike). */
    private SiteEndpoint site(Context ctx, String name) {
        SiteEndpoint site = sites.get(name);
        if (site == null) {
            String known = sites.keySet().stream().filter(n -> !n.isEmpty()).collect(java.util.stream.Collectors.joining(", "));
            error(ctx, 404, name.isEmpty() ? "no unnamed site here; use /pull-repo/<site> (sites: " + known + ")"
                    : "unknown site" + (known.isEmpty() ? "" : " (sites: " + known + ")"));
        }
        return site;
    }

    /** {@code webhook.allow.from}: others get 403 before any other work. */
    private boolean allowed(Context ctx, SiteEndpoint site) {
        if (addresses.allowed(site.name(), ctx.ip())) {
            return true;
        }
        // a refused client may flood too: its lines come out of the same budget as forged requests
        boolean logged = site.receiver().mayLogRefusal(ctx.ip());
        if (logged) {
            log.warn("client refused client={} path={} reason=\"not in webhook.allow.from\"", ctx.ip(), safe(ctx.path()));
        }
        quietUnless(ctx, logged);
        ctx.status(403).json(answer("status", "forbidden", "error", "client address not allowed"));
        return false;
    }

    private void pullRepo(Context ctx, String name) {
        SiteEndpoint site = site(ctx, name);
        if (site == null) {
            return;
        }
        if (!allowed(ctx, site)) {
            metrics.webhook(site.name(), WebhookOutcome.FORBIDDEN);
            return;
        }
        String delivery = DeliveryId.from(ctx::header);
        ctx.attribute(DELIVERY, delivery);
        long length = ctx.contentLength();
        if (length > config.maxBodyBytes()) {
            metrics.webhook(site.name(), WebhookOutcome.TOO_LARGE);
            error(ctx, 413, "body larger than " + config.maxBodyBytes() + " bytes (webhook.max.body.bytes)");
            return;
        }
        byte[] body;
        try {
            body = BodyBudget.body(ctx);  // 413 past webhook.max.body.bytes, 503 when bodies fill server.body.budget.bytes
        } catch (HttpResponseException e) {
            metrics.webhook(site.name(), e.getStatus() == 413 ? WebhookOutcome.TOO_LARGE
                    : e.getStatus() == 503 ? WebhookOutcome.UNAVAILABLE : WebhookOutcome.BAD_REQUEST);
            throw e;
        }

        WebhookReceiver.Receipt receipt = site.receiver().receive(ctx::header, header -> headerValues(ctx, header), body,
                ctx.ip(), delivery, ctx.path());
        if (receipt instanceof WebhookReceiver.WarmUp) {
            ctx.attribute(QUIET, Boolean.TRUE);  // not a client's request: no request line, not counted
            ctx.status(200).json(answer("status", "pong"));
            return;
        }
        metrics.webhook(site.name(), WebhookOutcome.of(receipt));
        if (receipt instanceof WebhookReceiver.Rejected r) {
            quietUnless(ctx, r.logged());
            ctx.status(403).contentType(ContentType.APPLICATION_JSON).result(WebhookGate.FORBIDDEN);
        } else if (receipt instanceof WebhookReceiver.Invalid r) {
            error(ctx, 400, r.event().reason());
        } else if (receipt instanceof WebhookReceiver.Ignored r) {
            ctx.status(200).json(answer("status", "ignored", "reason", r.event().reason()));
        } else if (receipt instanceof WebhookReceiver.Pong) {
            ctx.status(200).json(answer("status", "pong"));
        } else if (receipt instanceof WebhookReceiver.Duplicate r) {
            ctx.status(200).json(answer("status", "duplicate", "first", r.first().at().toString()));
        } else if (receipt instanceof WebhookReceiver.UpToDate r) {
            ctx.status(200).json(answer("status", "up-to-date", "head", r.commit()));
        } else if (receipt instanceof WebhookReceiver.Queued r) {
            answerQueued(ctx, r.ticket());
        } else {
            error(ctx, 503, "shutting down");
        }
    }

    private void rollback(Context ctx, String name) {
        SiteEndpoint site = site(ctx, name);
        if (site == null) {
            return;
        }
        if (!allowed(ctx, site)) {
            metrics.rollback(site.name(), WebhookOutcome.FORBIDDEN);
            return;
        }
        if (ctx.contentLength() > config.maxBodyBytes()) {
            metrics.rollback(site.name(), WebhookOutcome.TOO_LARGE);
            error(ctx, 413, "body larger than " + config.maxBodyBytes() + " bytes (webhook.max.body.bytes)");
            return;
        }
        byte[] body;
        try {
            body = BodyBudget.body(ctx);  // 413 past webhook.max.body.bytes, 503 when bodies fill server.body.budget.bytes
        } catch (HttpResponseException e) {
            if (e.getStatus() == 413) {
                metrics.rollback(site.name(), WebhookOutcome.TOO_LARGE);
            } else if (e.getStatus() == 503) {
                metrics.rollback(site.name(), WebhookOutcome.UNAVAILABLE);
            }
            throw e;
        }
        WebhookReceiver.Receipt receipt = site.receiver().receiveRollback(header -> headerValues(ctx, header),
                body, ctx.ip(), ctx.path());
        if (receipt instanceof WebhookReceiver.Queued r) {
            metrics.rollback(site.name(), WebhookOutcome.ACCEPTED);
            answerQueued(ctx, r.ticket());
        } else if (receipt instanceof WebhookReceiver.Rejected r) {
            metrics.rollback(site.name(), WebhookOutcome.FORBIDDEN);
            quietUnless(ctx, r.logged());
            ctx.status(403).contentType(ContentType.APPLICATION_JSON).result(WebhookGate.FORBIDDEN);
        } else {
            metrics.rollback(site.name(), WebhookOutcome.UNAVAILABLE);
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
        ctx.status(202).json(answer("status", "queued", "id", ticket.deployId()));
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

    /** {@link StatusJson}; a browser ({@code Accept: text/html}) gets {@link StatusPage}. */
    private void status(Context ctx) {
        ctx.header("Vary", "Accept");
        if (StatusPage.wanted(ctx.header("Accept"))) {
            ctx.header("Content-Security-Policy", StatusPage.CONTENT_SECURITY_POLICY)
                    .header("X-Content-Type-Options", "nosniff")
                    .html(StatusPage.render(sites.values(), Instant.now()));
            return;
        }
        ctx.json(StatusJson.of(sites.values()));
    }

    private static void error(Context ctx, int status, String message) {
        ctx.status(status).json(errorBody(status, message));
    }

    /** A JSON answer's fields in the order given ({@code status} first), the same in every run. */
    static Map<String, Object> answer(Object... keysAndValues) {
        Map<String, Object> fields = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            fields.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return fields;
    }

    /** The body of every error answer, the routes' and Jetty's own ({@link JsonErrorHandler}). */
    static Map<String, Object> errorBody(int status, String message) {
        String word = statusWord(status);
        return answer("status", word, "error", message == null || message.isBlank() ? word : message);
    }

    private static String statusWord(int status) {
        return switch (status) {
            case 400 -> "bad request";
            case 403 -> "forbidden";
            case 404 -> "not found";
            case 405 -> "method not allowed";
            case 413 -> "too large";
            case 414, 431 -> "too long";
            case 503 -> "unavailable";
            default -> "error";
        };
    }

    private static boolean clientWentAway(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException || t instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return safe(String.valueOf(t.getMessage()));
    }

    private static void quietUnless(Context ctx, boolean logged) {
        if (!logged) {
            ctx.attribute(QUIET, Boolean.TRUE);
        }
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
