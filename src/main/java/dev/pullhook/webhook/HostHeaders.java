package dev.pullhook.webhook;

import java.util.function.Function;

/**
 * Which git host sent a delivery, and its event name, from the headers alone: each host names its event in
 * a header of its own. A delivery without any of them is a manual request ({@link Host#MANUAL}).
 */
final class HostHeaders {
    private HostHeaders() {
    }

    /** Gitea, Forgejo and Gogs also send GitHub's headers, so their own are checked first. */
    static Host host(Function<String, String> header) {
        if (present(header, "X-Forgejo-Event")) {
            return Host.FORGEJO;
        }
        if (present(header, "X-Gitea-Event")) {
            return Host.GITEA;
        }
        if (present(header, "X-Gogs-Event")) {
            return Host.GOGS;
        }
        if (present(header, "X-GitHub-Event")) {
            return Host.GITHUB;
        }
        if (present(header, "X-Gitlab-Event")) {
            return Host.GITLAB;
        }
        if (present(header, "X-Event-Key")) {
            if (present(header, "X-Request-UUID")) {
                return Host.BITBUCKET_CLOUD;
            }
            String key = header.apply("X-Event-Key").strip();
            if (present(header, "X-Request-Id") || key.equals("repo:refs_changed") || key.startsWith("diagnostics:")) {
                return Host.BITBUCKET_DC;
            }
            return Host.BITBUCKET_CLOUD;
        }
        return Host.MANUAL;
    }

    /** The host's event name ({@code push}, {@code repo:push}, ...), or {@code -}. */
    static String event(Host host, Function<String, String> header) {
        String name = switch (host) {
            case FORGEJO -> "X-Forgejo-Event";
            case GITEA -> "X-Gitea-Event";
            case GOGS -> "X-Gogs-Event";
            case GITHUB -> "X-GitHub-Event";
            case GITLAB -> "X-Gitlab-Event";
            case BITBUCKET_CLOUD, BITBUCKET_DC -> "X-Event-Key";
            case MANUAL -> null;
        };
        String value = name == null ? null : header.apply(name);
        return value == null ? "-" : PushEventParser.printable(value.strip());
    }

    /** Whether the host calls {@code event} a push (a GitLab system hook's body says later). */
    static boolean isPush(Host host, String event) {
        // a system hook's body says which event it is (push, tag_push, repository_update...): read below
        return switch (host) {
            case BITBUCKET_CLOUD -> event.equals("repo:push");
            case BITBUCKET_DC -> event.equals("repo:refs_changed");
            case GITLAB -> event.equals("Push Hook") || event.equals("Tag Push Hook") || event.equals("System Hook");
            default -> event.equals("push");
        };
    }

    private static boolean present(Function<String, String> header, String name) {
        String v = header.apply(name);
        return v != null && !v.isBlank();
    }
}
