package dev.pullhook.http;

import dev.pullhook.config.Config;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.metrics.Metrics;
import dev.pullhook.metrics.WebhookOutcome;
import dev.pullhook.webhook.DeliveryId;
import dev.pullhook.webhook.WebhookReceiver;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static dev.pullhook.http.HttpApi.error;
import static dev.pullhook.http.HttpApi.safe;

/**
 * The routes of a site: {@code POST /pull-repo[/<site>]} and {@code POST /rollback[/<site>]}. Each finds the
 * site (404 naming the others), checks {@code webhook.allow.from} (403), reads the body within its limits
 * (413, 503), hands it to the site's {@link WebhookReceiver} and maps the receipt to a status code and JSON,
 * counting each outcome in {@link Metrics}; with {@code ?wait=true}, it answers when the deploy ends.
 */
final class SiteRoutes {
    /** Logs under HttpApi's name, as every line of the HTTP surface does. */
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

    private final Config config;
    private final Map<String, SiteEndpoint> sites;
    private final ClientAddresses addresses;
    private final Metrics metrics;

    SiteRoutes(Config config, Map<String, SiteEndpoint> sites, ClientAddresses addresses, Metrics metrics) {
        this.config = config;
        this.sites = sites;
        this.addresses = addresses;
        this.metrics = metrics;
    }

    void pullRepo(Context ctx, String name) {
        SiteEndpoint site = site(ctx, name);
        if (site == null) {
            return;
        }
        if (!allowed(ctx, site)) {
            metrics.webhook(site.name(), WebhookOutcome.FORBIDDEN);
            return;
        }
        String delivery = DeliveryId.from(ctx::header);
        ctx.attribute(HttpApi.DELIVERY, delivery);
        byte[] body = body(ctx, outcome -> metrics.webhook(site.name(), outcome), WebhookOutcome.BAD_REQUEST);
        if (body == null) {
            return;
        }
        WebhookReceiver.Receipt receipt = site.receiver().receive(ctx::header, header -> headerValues(ctx, header), body,
                ctx.ip(), delivery, ctx.path());
        if (receipt instanceof WebhookReceiver.WarmUp) {
            ctx.attribute(HttpApi.QUIET, Boolean.TRUE);  // not a client's request: no request line, not counted
            ctx.status(200).json(Answer.PONG);
            return;
        }
        metrics.webhook(site.name(), WebhookOutcome.of(receipt));
        reply(ctx, receipt);
    }

    /** The answer to a webhook: its status code and JSON. */
    private void reply(Context ctx, WebhookReceiver.Receipt receipt) {
        if (receipt instanceof WebhookReceiver.Rejected r) {
            quietUnless(ctx, r.logged());
            ctx.status(403).contentType(ContentType.APPLICATION_JSON).result(WebhookGate.FORBIDDEN);
        } else if (receipt instanceof WebhookReceiver.Invalid r) {
            error(ctx, 400, r.event().reason());
        } else if (receipt instanceof WebhookReceiver.Ignored r) {
            ctx.status(200).json(new Answer.Ignored(r.event().reason()));
        } else if (receipt instanceof WebhookReceiver.Pong) {
            ctx.status(200).json(Answer.PONG);
        } else if (receipt instanceof WebhookReceiver.Duplicate r) {
            ctx.status(200).json(new Answer.Duplicate(r.first().at().toString()));
        } else if (receipt instanceof WebhookReceiver.UpToDate r) {
            ctx.status(200).json(new Answer.UpToDate(r.commit()));
        } else if (receipt instanceof WebhookReceiver.Queued r) {
            answerQueued(ctx, r.ticket());
        } else {
            error(ctx, 503, "shutting down");
        }
    }

    /**
     * The request's body, or null after answering 413 when its Content-Length is over
     * {@code webhook.max.body.bytes}. {@link BodyBudget}'s 413 and 503 are counted and thrown on.
     *
     * @param otherFailure what another failure to read the body counts as, or null for nothing
     */
    private byte[] body(Context ctx, Consumer<WebhookOutcome> count, WebhookOutcome otherFailure) {
        if (ctx.contentLength() > config.maxBodyBytes()) {
            count.accept(WebhookOutcome.TOO_LARGE);
            error(ctx, 413, "body larger than " + config.maxBodyBytes() + " bytes (webhook.max.body.bytes)");
            return null;
        }
        try {
            return BodyBudget.body(ctx);  // 413 past webhook.max.body.bytes, 503 when bodies fill server.body.budget.bytes
        } catch (HttpResponseException e) {
            WebhookOutcome outcome = e.getStatus() == 413 ? WebhookOutcome.TOO_LARGE
                    : e.getStatus() == 503 ? WebhookOutcome.UNAVAILABLE : otherFailure;
            if (outcome != null) {
                count.accept(outcome);
            }
            throw e;
        }
    }

    void rollback(Context ctx, String name) {
        SiteEndpoint site = site(ctx, name);
        if (site == null) {
            return;
        }
        if (!allowed(ctx, site)) {
            metrics.rollback(site.name(), WebhookOutcome.FORBIDDEN);
            return;
        }
        byte[] body = body(ctx, outcome -> metrics.rollback(site.name(), outcome), null);
        if (body == null) {
            return;
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
        ctx.status(403).json(Answer.error(403, "client address not allowed"));
        return false;
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
        ctx.status(202).json(new JobAnswer.Queued(ticket.deployId()));
    }

    private static void finished(Context ctx, Deployment d) {
        ctx.status(switch (d.outcome()) {
            case DEPLOYED -> 200;
            case FAILED -> 500;
            case CANCELLED -> 503;
        }).json(JobAnswer.of(d));
    }

    private static List<String> headerValues(Context ctx, String name) {
        return java.util.Collections.list(ctx.req().getHeaders(name));
    }

    private static void quietUnless(Context ctx, boolean logged) {
        if (!logged) {
            ctx.attribute(HttpApi.QUIET, Boolean.TRUE);
        }
    }
}
