package dev.pullhook.webhook;

import java.util.List;
import java.util.function.Function;

/**
 * Finds the git host's delivery id in a request's headers, so that every log line of one delivery can be
 * matched with the host's delivery log. The value is cut and reduced to safe characters before it is
 * logged or echoed, since anyone can send any header.
 */
public final class DeliveryId {
    /**
     * Checked in this order: Bitbucket Cloud, Gitea, Forgejo, Gogs (they also send GitHub's header), GitHub,
     * GitLab (the retry-stable key first), Standard Webhooks' {@code webhook-id} (GitLab's signing token sends
     * it too), and last Bitbucket Data Center's {@code X-Request-Id}, only taken
     * with Bitbucket's {@code X-Event-Key}: proxies set that header too.
     */
    public static final List<String> HEADERS = List.of(
            "X-Request-UUID", "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery",
            "X-GitHub-Delivery", "Idempotency-Key", "X-Gitlab-Event-UUID", "webhook-id", "X-Request-Id");
    private static final int MAX_LENGTH = 80;

    private DeliveryId() {
    }

    /** The delivery id, sanitised, or {@code null} when the request carries none. */
    public static String from(Function<String, String> header) {
        for (String name : HEADERS) {
            if (name.equals("X-Request-Id") && header.apply("X-Event-Key") == null) {
                continue;
            }
            String value = header.apply(name);
            if (value != null && !value.isBlank()) {
                return sanitise(value.strip());
            }
        }
        return null;
    }

    static String sanitise(String value) {
        StringBuilder out = new StringBuilder(Math.min(value.length(), MAX_LENGTH));
        for (int i = 0; i < value.length() && out.length() < MAX_LENGTH; i++) {
            char c = value.charAt(i);
            boolean safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == ':' || c == '{' || c == '}';
            out.append(safe ? c : '_');
        }
        return out.toString();
    }
}
