package dev.pullhook.metrics;

import dev.pullhook.webhook.WebhookReceiver;

import java.util.Locale;

/**
 * What became of one request to a site's webhook, as the {@code outcome} label of
 * {@code pullhook_webhook_requests_total}. One value per answer the webhook gives; the mapping from a
 * {@link WebhookReceiver.Receipt} is here so the HTTP layer only has to say which receipt it got.
 */
public enum WebhookOutcome {
    /** verified and queued: a deploy covers it (202, or the deploy's answer with {@code ?wait=true}) */
    ACCEPTED,
    /** verified, deliberately not deployed: another branch, a tag, a deletion, not a push */
    IGNORED,
    /** a delivery id seen recently */
    DUPLICATE,
    /** missing or wrong credentials, or a client outside {@code webhook.allow.from} (403) */
    FORBIDDEN,
    /** verified, but the body is not what the host said (400) */
    BAD_REQUEST,
    /** a host's test delivery */
    PONG,
    /** the pushed commit is already checked out */
    UP_TO_DATE,
    /** the daemon is shutting down (503) */
    UNAVAILABLE,
    /** the body is over {@code webhook.max.body.bytes} (413) */
    TOO_LARGE;

    /** The label value: lower case, words joined by {@code _}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The outcome a receipt of {@link WebhookReceiver#receive} stands for. */
    public static WebhookOutcome of(WebhookReceiver.Receipt receipt) {
        if (receipt instanceof WebhookReceiver.Queued) {
            return ACCEPTED;
        } else if (receipt instanceof WebhookReceiver.Ignored) {
            return IGNORED;
        } else if (receipt instanceof WebhookReceiver.Duplicate) {
            return DUPLICATE;
        } else if (receipt instanceof WebhookReceiver.Rejected) {
            return FORBIDDEN;
        } else if (receipt instanceof WebhookReceiver.Invalid) {
            return BAD_REQUEST;
        } else if (receipt instanceof WebhookReceiver.Pong || receipt instanceof WebhookReceiver.WarmUp) {
            return PONG;
        } else if (receipt instanceof WebhookReceiver.UpToDate) {
            return UP_TO_DATE;
        }
        return UNAVAILABLE;
    }
}
