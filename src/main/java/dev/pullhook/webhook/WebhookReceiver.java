package dev.pullhook.webhook;

import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.Trigger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Handles one delivery from its headers and raw body: verify first, then parse, drop redeliveries and
 * pushes that change nothing, and queue a deploy for the rest. Every outcome is a {@link Receipt} value
 * (the HTTP layer maps them to status codes) and one log line carrying the delivery id.
 */
public final class WebhookReceiver {
    private static final Logger log = LoggerFactory.getLogger(WebhookReceiver.class);

    /** What became of a delivery. */
    public sealed interface Receipt {
    }

    /** The credentials did not verify; {@code logged} is false when the client's log budget was spent. */
    public record Rejected(AuthResult auth, boolean logged) implements Receipt {
    }

    /** Verified, but the body is not what the host says it is. */
    public record Invalid(PushEvent event) implements Receipt {
    }

    /** Verified and deliberately not deployed. */
    public record Ignored(PushEvent event) implements Receipt {
    }

    /** A host's test delivery. */
    public record Pong(PushEvent event) implements Receipt {
    }

    /** The daemon's own signed ping at start ({@link #WARM_UP_DELIVERY}): answered like a ping, not logged or counted. */
    public record WarmUp() implements Receipt {
    }

    /** A delivery id seen recently: nothing more is done. */
    public record Duplicate(RecentDeliveries.Entry first) implements Receipt {
    }

    /** The pushed commit is already checked out. */
    public record UpToDate(String commit) implements Receipt {
    }

    /** A deploy covers this delivery. */
    public record Queued(DeployService.Ticket ticket, PushEvent event) implements Receipt {
    }

    /** The daemon is shutting down. */
    public record Unavailable() implements Receipt {
    }

    /**
     * The delivery id of the signed ping the daemon sends itself once it listens, so that the first real
     * webhook after a start does not pay for the request path's first run ({@code HttpApi#warmUp}). Random
     * in each process; a request carrying it must be signed with the secret too, and is then only answered
     * like a ping.
     */
    public static final String WARM_UP_DELIVERY = "pullhook-warm-up-" + randomHex();

    private static String randomHex() {
        byte[] bytes = new byte[12];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    /** The key prefix under which manual proofs' nonces are remembered in {@link RecentDeliveries}. */
    public static final String NONCE = "nonce/";

    private final WebhookAuthenticator authenticator;
    private final PushEventParser parser;
    private final RecentDeliveries deliveries;
    private final DeployService deploys;
    /** {@code "site=<name> "} for a named site, else empty: starts the key=value part of log lines. */
    private final String label;

    private final RejectionLog rejections;

    public WebhookReceiver(String site, WebhookAuthenticator authenticator, PushEventParser parser,
                           RecentDeliveries deliveries, DeployService deploys, RejectionLog rejections) {
        this.rejections = rejections;
        this.authenticator = authenticator;
        this.parser = parser;
        this.deliveries = deliveries;
        this.deploys = deploys;
        this.label = site.isEmpty() ? "" : "site=" + site + " ";
    }

    /**
     * @param header   request headers, case-insensitive (the first value)
     * @param headerValues every value of a request header
     * @param body     the raw body, exactly as received
     * @param client   the client's address, for the log
     * @param delivery the delivery id from {@link DeliveryId#from}, or null
     */
    public Receipt receive(Function<String, String> header, Function<String, List<String>> headerValues, byte[] body,
                           String client, String delivery, String path) {
        String id = delivery == null ? "-" : delivery;
        AuthResult auth = authenticate(header, headerValues, body, path);
        if (auth.accepted() && auth.nonce() != null) {
            auth = claimNonce(auth);
        }
        if (!auth.accepted()) {
            return rejected(auth, client, id);
        }
        PushEvent event = parser.parse(header, header.apply("Content-Type"), body);
        if (event.action() == PushEvent.Action.PONG && WARM_UP_DELIVERY.equals(delivery)) {
            return new WarmUp();  // the daemon's own request at start: not logged, not remembered
        }
        String what = label + "client=" + client + " delivery=" + id + " host=" + event.host() + " event=\"" + event.event() + "\"";
        if (event.action() == PushEvent.Action.INVALID) {
            log.warn("webhook invalid {} reason=\"{}\"", what, event.reason());
            return new Invalid(event);
        }
        String key = delivery == null ? null : event.host() + "/" + delivery;
        if (key != null) {
            RecentDeliveries.Entry seen = deliveries.claim(key, event.host(), event.event());
            if (seen != null) {
                log.info("webhook duplicate {} first={} outcome={}", what, seen.at(), seen.outcome());
                return new Duplicate(seen);
            }
        }
        return act(event, key, delivery, what, auth);
    }

    /** A verified delivery seen for the first time: a ping, an event to ignore, or a push to deploy. */
    private Receipt act(PushEvent event, String key, String delivery, String what, AuthResult auth) {
        switch (event.action()) {
            case PONG -> {
                log.info("webhook ping {}", what);
                remember(key, event, DeliveryOutcome.PONG, 0);
                return new Pong(event);
            }
            case IGNORE -> {
                log.info("webhook ignored {} reason=\"{}\"", what, event.reason());
                remember(key, event, DeliveryOutcome.IGNORED, 0);
                return new Ignored(event);
            }
            default -> {
                return deploy(event, key, delivery, what, auth);
            }
        }
    }

    /** A verified push of the branch: up to date already, or a deploy covers it. */
    private Receipt deploy(PushEvent event, String key, String delivery, String what, AuthResult auth) {
        if (event.commit() != null && deploys.head().filter(event.commit()::equals).isPresent()) {
            log.info("webhook up-to-date {} commit={}", what, event.commit().substring(0, 7));
            remember(key, event, DeliveryOutcome.UP_TO_DATE, 0);
            return new UpToDate(event.commit());
        }
        DeployService.Ticket ticket;
        try {
            ticket = deploys.submit(event.host() == Host.MANUAL ? Trigger.MANUAL : Trigger.WEBHOOK, delivery, event.commit());
        } catch (IllegalStateException e) {
            log.warn("webhook refused {} reason=\"shutting down\"", what);
            remember(key, event, DeliveryOutcome.FAILED, 0);
            return new Unavailable();
        }
        log.info("webhook accepted {} header={} deploy={} {}", what, auth.header(), ticket.deployId(),
                ticket.joined() ? "joined the queued deploy" : "queued");
        remember(key, event, DeliveryOutcome.QUEUED, ticket.deployId());
        if (key == null) {
            return new Queued(ticket, event);
        }
        // the outcome is remembered before anyone waiting on the deploy hears of it: a host (or a test)
        // that redelivers a failed delivery the moment it gets the 500 must find it failed, not queued
        CompletableFuture<Deployment> recorded = ticket.done().thenApply(d -> {
            if (d != null) {
                deliveries.remember(key, event.host(), event.event(),
                        d.outcome() == Deployment.Outcome.DEPLOYED ? DeliveryOutcome.DEPLOYED : DeliveryOutcome.FAILED,
                        d.id());
            }
            return d;
        });
        return new Queued(new DeployService.Ticket(ticket.deployId(), ticket.joined(), recorded), event);
    }

    /**
     * Whether a refusal of {@code client} (outside {@code webhook.allow.from}) may still be logged: it spends
     * the same per-client budget as forged requests ({@code server.log.rejections.per.minute}).
     */
    public boolean mayLogRefusal(String client) {
        return rejections.mayLog(client);
    }

    /** The signature header ({@code X-Hub-Signature-256}) of the daemon's own warm-up ping. */
    public String warmUpSignature(byte[] body) {
        return authenticator.signSha256(body);
    }

    /**
     * {@code POST /rollback}: only a fresh {@link ManualProof} proves the right to ask (a git host's signed
     * delivery never does); the body is not parsed. Queues a rollback to the commit deployed before the
     * current one.
     */
    public Receipt receiveRollback(Function<String, List<String>> headerValues, byte[] body, String client, String path) {
        AuthResult auth = authenticator.authenticateManual(headerValues, "POST", path, body);
        if (auth.accepted()) {
            auth = claimNonce(auth);
        }
        if (!auth.accepted()) {
            return rollbackRejected(auth, client);
        }
        try {
            DeployService.Ticket ticket = deploys.submitRollback();
            log.info("rollback accepted {}client={} header={} deploy={} queued", label, client, auth.header(), ticket.deployId());
            return new Queued(ticket, null);
        } catch (IllegalStateException e) {
            return new Unavailable();
        }
    }

    /**
     * Checks only the credentials of a delivery, so that a forged one can be answered before anything else is
     * done with it: the rejection {@link #receive} would return (and log, within the client's budget), or empty
     * when they verify. A delivery that verifies still goes to {@link #receive}, which checks them again.
     */
    public Optional<Rejected> rejection(Function<String, String> header, Function<String, List<String>> headerValues,
                                        byte[] body, String client, String delivery, String path) {
        AuthResult auth = authenticate(header, headerValues, body, path);
        return auth.accepted() ? Optional.empty() : Optional.of(rejected(auth, client, delivery == null ? "-" : delivery));
    }

    /** {@link #rejection} for {@link #receiveRollback}. */
    public Optional<Rejected> rollbackRejection(Function<String, List<String>> headerValues, byte[] body, String client,
                                                String path) {
        AuthResult auth = authenticator.authenticateManual(headerValues, "POST", path, body);
        return auth.accepted() ? Optional.empty() : Optional.of(rollbackRejected(auth, client));
    }

    /**
     * A git host's delivery (it carries the host's event header) proves itself with the host's credentials;
     * anything else is a manual request and needs a fresh {@link ManualProof}. Gitea, Forgejo and Gogs sign
     * the JSON of a form delivery ({@code payload=<json>}), not the form.
     */
    private AuthResult authenticate(Function<String, String> header, Function<String, List<String>> headerValues,
                                    byte[] body, String path) {
        Host host = HostHeaders.host(header);
        if (host == Host.MANUAL) {
            return authenticator.authenticateManual(headerValues, "POST", path, body);
        }
        byte[] signed = body;
        if (host == Host.GITEA || host == Host.FORGEJO || host == Host.GOGS) {
            byte[] json = JsonBody.formJson(header.apply("Content-Type"), body);
            if (json != null) {
                signed = json;
            }
        }
        return authenticator.authenticateAll(headerValues, signed);
    }

    /** A manual proof's nonce is accepted once (remembered across restarts with the deliveries). */
    private AuthResult claimNonce(AuthResult auth) {
        RecentDeliveries.Entry seen = deliveries.claim(NONCE + auth.nonce(), Host.MANUAL, "manual");
        return seen == null ? auth : AuthResult.reject(ManualProof.HEADER, "replayed: this request was accepted at "
                + seen.at() + " already");
    }

    private Rejected rejected(AuthResult auth, String client, String id) {
        boolean logged = rejections.mayLog(client);
        if (logged) {
            log.warn("webhook rejected {}client={} delivery={} header={} reason=\"{}\"", label, client, id, auth.header(),
                    auth.reason());
        }
        return new Rejected(auth, logged);
    }

    private Rejected rollbackRejected(AuthResult auth, String client) {
        boolean logged = rejections.mayLog(client);
        if (logged) {
            log.warn("rollback rejected {}client={} header={} reason=\"{}\"", label, client, auth.header(), auth.reason());
        }
        return new Rejected(auth, logged);
    }

    private void remember(String key, PushEvent event, DeliveryOutcome outcome, long deployId) {
        if (key != null) {
            deliveries.remember(key, event.host(), event.event(), outcome, deployId);
        }
    }

    public RecentDeliveries deliveries() {
        return deliveries;
    }
}
