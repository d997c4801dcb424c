package dev.pullhook.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.deploy.DeployLog;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.LiveLog;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.stream.Collectors;

/**
 * {@code GET /deploys/<id>/log} (the unnamed, or else the first site, as at the top of {@code /status}) and
 * {@code GET /deploys/<site>/<id>/log}: a deploy's phases, its command's output and its outcome, as they
 * happen and afterwards, from the site's {@link LiveLog}. Server-Sent Events for a client that accepts
 * {@code text/event-stream} (events {@code phase}, {@code output}, {@code end}; an SSE comment as keep-alive
 * when nothing happens, so {@code server.idle.timeout.seconds} never ends a quiet deploy's stream), else
 * chunked {@code text/plain}, one event a line. Each reader holds one HTTP thread while it reads, so at most
 * {@code server.deploy.log.followers.max} read at once; the deploy never waits for one ({@link DeployLog}).
 * Open like {@code /status}: no credentials, kept private by NGINX, which does not forward it.
 */
final class DeployLogRoute {
    private static final Logger log = LoggerFactory.getLogger(DeployLogRoute.class);
    /** Events written per flush at most. */
    private static final int BATCH = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, SiteEndpoint> sites = new LinkedHashMap<>();
    private final int max;
    private final Semaphore followers;
    private final long keepAliveMs;

    DeployLogRoute(Collection<SiteEndpoint> endpoints, int followersMax, Duration idleTimeout) {
        for (SiteEndpoint site : endpoints) {
            sites.put(site.name(), site);
        }
        this.max = followersMax;
        this.followers = new Semaphore(followersMax);
        // well inside the idle timeout, and at least every 15 s for proxies with a timeout of their own
        this.keepAliveMs = Math.max(200, Math.min(idleTimeout.toMillis() / 2, 15_000));
    }

    /** {@code GET /deploys/{id}/log}: the unnamed site, or else the first. */
    void unnamed(Context ctx) {
        SiteEndpoint site = sites.containsKey("") ? sites.get("") : sites.values().iterator().next();
        answer(ctx, site, ctx.pathParam("id"));
    }

    /** {@code GET /deploys/{site}/{id}/log}; {@code default} names the unnamed site, as in {@code /metrics}. */
    void named(Context ctx) {
        String name = ctx.pathParam("site");
        SiteEndpoint site = sites.get(name);
        if (site == null && name.equals("default")) {
            site = sites.get("");
        }
        if (site == null) {
            String known = sites.keySet().stream().map(n -> n.isEmpty() ? "default" : n).collect(Collectors.joining(", "));
            notFound(ctx, "unknown site (sites: " + known + ")");
            return;
        }
        answer(ctx, site, ctx.pathParam("id"));
    }

    private void answer(Context ctx, SiteEndpoint site, String idText) {
        long id = idText.matches("[0-9]{1,18}") ? Long.parseLong(idText) : -1;
        if (id <= 0) {
            notFound(ctx, "not a deploy id: deploys are numbered from 1");
            return;
        }
        Optional<DeployLog> found = site.deploys().live().get(id);
        if (found.isEmpty()) {
            boolean known = site.deploys().history().recent().stream().map(Deployment::id).anyMatch(i -> i == id);
            notFound(ctx, known ? "the log of deploy " + id + " is no longer kept (only the last " + LiveLog.KEPT
                    + " deploys' since the daemon started; /status has its last lines)" : "no deploy " + id);
            return;
        }
        if (!followers.tryAcquire()) {
            ctx.header("Retry-After", "5");
            ctx.status(503).json(Answer.error(503, max == 0 ? "deploy logs are switched off"
                    + " (server.deploy.log.followers.max=0)" : max + " deploy log readers already"
                    + " (server.deploy.log.followers.max); try again later"));
            return;
        }
        try {
            stream(ctx, found.get());
        } finally {
            followers.release();
        }
    }

    /** Where a deploy's log is, relative to {@code /status}: {@code deploys/7/log}, {@code deploys/blog/7/log}. */
    static String path(SiteEndpoint site, long id) {
        return "deploys/" + (site.name().isEmpty() ? "" : site.name() + "/") + id + "/log";
    }

    private static void notFound(Context ctx, String message) {
        ctx.status(404).json(Answer.error(404, message));
    }

    /** Writes the log from the start (or after {@code Last-Event-ID}) until its end, the reader is cut, or it hangs up. */
    private void stream(Context ctx, DeployLog deployLog) {
        String accept = ctx.header("Accept");
        boolean sse = accept != null && accept.contains("text/event-stream");
        long from = sse ? after(ctx.header("Last-Event-ID")) : 0;
        HttpServletResponse res = ctx.res();
        head(res, sse);
        Format format = sse ? Format.SSE : Format.TEXT;
        boolean started = false;
        try {
            OutputStream out = res.getOutputStream();
            res.flushBuffer();  // the status and headers now: the deploy may still be queued
            while (true) {
                DeployLog.Batch batch = deployLog.read(from, BATCH, keepAliveMs);
                StringBuilder text = new StringBuilder();
                if (batch.missed() > 0) {
                    if (started) {
                        cutBehind(out, format, text, deployLog, ctx.ip(), batch.missed());
                        return;
                    }
                    text.append(format.event("skipped", null, Long.toString(batch.missed())));
                }
                started = true;
                for (DeployLog.Event e : batch.events()) {
                    text.append(format.event(e.kind().word(), e.seq(), e.data()));
                    from = e.seq() + 1;
                }
                if (batch.finished()) {
                    String closed = deployLog.closedBecause();
                    if (closed != null) {
                        text.append(format.event("cut", null, cut(closed)));
                    }
                    write(out, text);
                    return;
                }
                if (batch.events().isEmpty() && sse) {
                    text.append(": keep-alive\n\n");
                }
                write(out, text);
            }
        } catch (IOException e) {
            // the reader hung up, or was too slow to take what was written within server.idle.timeout.seconds
            log.debug("deploy log reader gone deploy={} client={} error=\"{}\"", deployLog.id(), ctx.ip(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * This reader fell so far behind that the deploy's newest lines pushed out the {@code missed} ones it had
     * yet to read: it is cut, never the deploy.
     */
    private static void cutBehind(OutputStream out, Format format, StringBuilder text, DeployLog deployLog,
                                  String client, long missed) throws IOException {
        text.append(format.event("cut", null, cut("this reader fell behind: " + missed
                + " events were no longer kept")));
        write(out, text);
        log.info("deploy log reader cut deploy={} client={} missed={}", deployLog.id(), client, missed);
    }

    private static void head(HttpServletResponse res, boolean sse) {
        res.setStatus(200);
        res.setContentType(sse ? "text/event-stream;charset=utf-8" : "text/plain;charset=utf-8");
        res.setHeader("Cache-Control", "no-store");
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("X-Accel-Buffering", "no");  // a proxy in front passes each event on at once
    }

    /** The data of a {@code cut} event: why the reader gets no more, {@code {"reason":"..."}}. */
    record Cut(String reason) {
    }

    static String cut(String reason) {
        try {
            return JSON.writeValueAsString(new Cut(reason));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void write(OutputStream out, CharSequence text) throws IOException {
        if (!text.isEmpty()) {
            out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        out.flush();
    }

    /** The seq after a {@code Last-Event-ID} (an EventSource reconnecting), or 0. */
    private static long after(String lastEventId) {
        if (lastEventId != null && lastEventId.strip().matches("[0-9]{1,18}")) {
            return Long.parseLong(lastEventId.strip()) + 1;
        }
        return 0;
    }

    /** How an event is written. Lines never hold a line break: the command's output is split at them. */
    private enum Format {
        SSE {
            @Override
            String event(String name, Long seq, String data) {
                return (seq == null ? "" : "id: " + seq + "\n") + "event: " + name + "\ndata: " + data + "\n\n";
            }
        },
        TEXT {
            @Override
            String event(String name, Long seq, String data) {
                return name + " " + data + "\n";
            }
        };

        abstract String event(String name, Long seq, String data);
    }
}
