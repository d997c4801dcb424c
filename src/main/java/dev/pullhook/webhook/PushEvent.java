package dev.pullhook.webhook;

/**
 * What a verified delivery asks for, decided from its headers and payload alone (nothing about git).
 *
 * @param host   who sent it
 * @param event  the host's event name ({@code push}, {@code repo:push}, ...), or {@code -}
 * @param action {@link Action}
 * @param commit for {@link Action#DEPLOY}: the new tip the payload names, or null (manual trigger)
 * @param reason for {@link Action#IGNORE} and {@link Action#INVALID}: why, in a few words
 */
public record PushEvent(Host host, String event, Action action, String commit, String reason) {

    /** What pullhook does with a delivery. */
    public enum Action {
        /** a push to the configured branch, or a manual trigger */
        DEPLOY,
        /** something deliberately not deployed: other branch, tag, deletion, another event */
        IGNORE,
        /** a host's test delivery */
        PONG,
        /** the body cannot be read as the host says it is */
        INVALID
    }

    static PushEvent deploy(Host host, String event, String commit) {
        return new PushEvent(host, event, Action.DEPLOY, commit, null);
    }

    static PushEvent ignore(Host host, String event, String reason) {
        return new PushEvent(host, event, Action.IGNORE, null, reason);
    }

    static PushEvent pong(Host host, String event) {
        return new PushEvent(host, event, Action.PONG, null, null);
    }

    static PushEvent invalid(Host host, String event, String reason) {
        return new PushEvent(host, event, Action.INVALID, null, reason);
    }
}
