package dev.pullhook.http;

import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.pullhook.config.Config;
import dev.pullhook.metrics.Metrics;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
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

/**
 * The HTTP surface: the server's handlers and limits, the routes, every error as JSON ({@link Answer}), and
 * the one log line per request. It holds no business logic: a site's routes ({@link SiteRoutes}) read the
 * body (bounded), hand it to {@link WebhookReceiver} and map the receipt to a status code and JSON (and tell
 * {@link Metrics}, whose registry is served at {@code /metrics}). Forged webhooks never reach the routes:
 * {@link WebhookGate}, in front of Javalin, answers them. Builds the app; the command line starts it.
 */
public final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    /** The request's delivery id, for the request line. */
    static final String DELIVERY = "pullhook.delivery";
    /** Set on a rejected request past its client's log budget (see RejectionLog): no request line either. */
    static final String QUIET = "pullhook.quiet";

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
     * the gate, Javalin's dispatch, the signature check, the JSON parser). Gain, off -> on (bench/tricks.sh b,
     * small site, median of 11 side by side): the first webhook's time outside its deploy 297 -> 187 ms, the
     * whole first webhook 518 -> 404 ms, for no start-up CPU measurable. Answered like a host's ping, but
     * neither logged nor counted ({@link WebhookReceiver#WARM_UP_DELIVERY}); one INFO line says how it went.
     * Skipped when no site allows the daemon's own address ({@code webhook.allow.from}).
     */
    public void warmUp(int port) {
        if (!WarmUpRequest.ENABLED) {
            return;
        }
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
            server(cfg);
            cfg.http.maxRequestSize = config.maxBodyBytes();
            cfg.http.prefer405over404 = true;
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.jsonMapper(new JavalinJackson().updateMapper(m ->
                    m.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)));
            cfg.contextResolver.ip = ctx -> addresses.client(ctx.req().getRemoteAddr(), ctx.header("X-Forwarded-For"));
            routes(cfg);
            errors(cfg);
            cfg.requestLogger.http((ctx, ms) -> {
                if (ctx.attribute(QUIET) == null) {
                    logRequest(ctx.method().name(), ctx.path(), ctx.statusCode(), Math.round(ms), ctx.ip(),
                            ctx.attribute(DELIVERY));
                }
            });
        });
    }

    /** Jetty's side: limits, the gate in front of the routes, graceful stop, JSON for Jetty's own errors. */
    private void server(JavalinConfig cfg) {
        ServerLimits limits = new ServerLimits(config, addresses);
        limits.configure(cfg);  // threads, timeouts, connection caps, and the body budget in front of the routes
        WebhookGate gate = new WebhookGate(sites.values(), addresses, metrics, config.maxBodyBytes());
        cfg.jetty.modifyServer(server -> {
            // forged webhooks are answered in front of the servlet layer; the rest pass on to the routes
            if (WebhookGate.ENABLED) {
                server.insertHandler(gate);
            }
            // in front of the gate: the header timeout and the minimum body rate see every request
            server.insertHandler(limits.guard());
            // let in-flight requests finish on SIGTERM (Javalin's default handler chain is not graceful);
            // inserted last, so it wraps the gate too
            server.insertHandler(new GracefulHandler());
            server.setStopTimeout(5_000);
            // what Jetty answers itself (malformed HTTP, oversized headers) in pullhook's JSON, not HTML
            server.setErrorHandler(new JsonErrorHandler());
        });
    }

    private void routes(JavalinConfig cfg) {
        SiteRoutes site = new SiteRoutes(config, sites, addresses, metrics);
        cfg.routes.post("/pull-repo", ctx -> site.pullRepo(ctx, ""));
        cfg.routes.post("/pull-repo/{site}", ctx -> site.pullRepo(ctx, ctx.pathParam("site")));
        cfg.routes.post("/rollback", ctx -> site.rollback(ctx, ""));
        cfg.routes.post("/rollback/{site}", ctx -> site.rollback(ctx, ctx.pathParam("site")));
        cfg.routes.get("/health", ctx -> ctx.json(Answer.OK));
        cfg.routes.get("/status", this::status);
        DeployLogRoute logs = new DeployLogRoute(sites.values(), config.limits().logFollowersMax(),
                config.limits().idleTimeout());
        cfg.routes.get("/deploys/{id}/log", logs::unnamed);
        cfg.routes.get("/deploys/{site}/{id}/log", logs::named);
        cfg.routes.get("/metrics", ctx -> ctx.contentType(metrics.contentType()).result(metrics.scrape()));
    }

    /** Every error as JSON: 405 with its Allow header, a client that went away, a failure of ours, a 404. */
    private static void errors(JavalinConfig cfg) {
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
    }

    /** The one log line per request (also written by {@link WebhookGate} for the forged requests it answers). */
    static void logRequest(String method, String path, int status, long ms, String client, Object delivery) {
        log.info("http method={} path={} status={} ms={} client={} delivery={}", method, safe(path), status, ms, client,
                orDash(delivery));
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

    static void error(Context ctx, int status, String message) {
        ctx.status(status).json(Answer.error(status, message));
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
