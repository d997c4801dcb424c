package dev.pullhook.webhook;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns a verified delivery (headers + raw body) into a {@link PushEvent}: which host sent it, and whether
 * it pushes the configured branch. Knows each host's headers ({@link HostHeaders}) and JSON shape (see
 * {@code src/test/resources/payloads/README.md}); knows nothing about git or HTTP status codes.
 * Must only be called after the signature was checked: it parses attacker-controlled text otherwise.
 */
public final class PushEventParser {
    static final String ZERO_SHA = "0000000000000000000000000000000000000000";
    private static final int MAX_NAME = 100;

    private final String branch;
    private final String branchRef;

    public PushEventParser(String branch) {
        this.branch = branch;
        this.branchRef = "refs/heads/" + branch;
    }

    /**
     * @param header      looks up a request header, case-insensitively; null when absent
     * @param contentType the request's Content-Type, or null
     * @param body        the raw body (already verified)
     */
    public PushEvent parse(Function<String, String> header, String contentType, byte[] body) {
        Host host = HostHeaders.host(header);
        String event = HostHeaders.event(host, header);
        if (host == Host.MANUAL) {
            return PushEvent.deploy(host, event, null);
        }
        switch (host) {
            case GITHUB:
                if (event.equals("ping")) {
                    return PushEvent.pong(host, event);
                }
                break;
            case BITBUCKET_DC:
                if (event.equals("diagnostics:ping")) {
                    return PushEvent.pong(host, event);
                }
                break;
            default:
                break;
        }
        if (!HostHeaders.isPush(host, event)) {
            return PushEvent.ignore(host, event, Reason.notPush(event));
        }
        JsonNode root;
        try {
            root = JsonBody.read(contentType, body);
        } catch (JsonBody.BadBody e) {
            return PushEvent.invalid(host, event, e.getMessage());
        }
        if (!root.isObject()) {
            return PushEvent.invalid(host, event, "body is not a JSON object");
        }
        return switch (host) {
            case BITBUCKET_CLOUD -> bitbucketCloud(root, event);
            case BITBUCKET_DC -> bitbucketDc(root, event);
            default -> singleRef(host, root, event);
        };
    }

    /** GitHub, GitLab, Gitea, Forgejo, Gogs: one ref per delivery. */
    private PushEvent singleRef(Host host, JsonNode root, String event) {
        if (host == Host.GITLAB) {
            // a system hook names its event in the body; a project hook in object_kind
            String kind = event.equals("System Hook") ? text(root, "event_name") : text(root, "object_kind");
            if (kind != null && kind.equals("tag_push")) {
                String ref = text(root, "ref");
                return PushEvent.ignore(host, event, Reason.tag(ref == null ? "?" : shortName(ref)));
            }
            if (kind != null && !kind.equals("push")) {
                return PushEvent.ignore(host, event, Reason.notPush(kind));
            }
            if (kind == null && event.equals("System Hook")) {
                return PushEvent.ignore(host, event, Reason.notPush("System Hook without event_name"));
            }
        }
        String ref = text(root, "ref");
        if (ref == null) {
            return PushEvent.invalid(host, event, "push payload has no ref");
        }
        if (ref.startsWith("refs/tags/")) {
            return PushEvent.ignore(host, event, Reason.tag(shortName(ref)));
        }
        if (!ref.equals(branchRef)) {
            return PushEvent.ignore(host, event, ref.startsWith("refs/heads/")
                    ? Reason.otherBranch(List.of(shortName(ref)), branch) : Reason.otherRef(ref, branch));
        }
        String after = text(root, "after");
        String before = text(root, "before");
        if (ZERO_SHA.equals(after) && ZERO_SHA.equals(before)) {
            return PushEvent.ignore(host, event, Reason.EMPTY);
        }
        boolean deleted = root.path("deleted").asBoolean(false) || ZERO_SHA.equals(after)
                || (host == Host.GITLAB && root.has("checkout_sha") && root.get("checkout_sha").isNull());
        if (deleted) {
            return PushEvent.ignore(host, event, Reason.deleted(branch));
        }
        return PushEvent.deploy(host, event, sha(after));
    }

    /**
     * The reasons a verified delivery is not deployed, worded once for every host: the same situation gets
     * the same words (README's table lists them).
     */
    static final class Reason {
        static final String EMPTY = "the push names no commit (a test delivery on an empty repository?)";

        private Reason() {
        }

        static String otherBranch(List<String> names, String branch) {
            return (names.size() == 1 ? "a push to another branch (" : "a push to other branches (")
                    + list(names) + "), not " + branch;
        }

        static String otherRef(String ref, String branch) {
            return "a push to " + printable(ref) + ", not branch " + branch;
        }

        static String tag(String name) {
            return "a tag push (" + printable(name) + ")";
        }

        static String tags(List<String> names) {
            return "a tag push (" + list(names) + ")";
        }

        static String deleted(String branch) {
            return "branch " + branch + " was deleted";
        }

        static String notPush(String event) {
            return "not a push event (" + printable(event) + ")";
        }

        private static String list(List<String> names) {
            List<String> shown = new ArrayList<>();
            for (String n : names.size() > 3 ? names.subList(0, 3) : names) {
                shown.add(printable(n));
            }
            return String.join(", ", shown) + (names.size() > 3 ? ", ..." : "");
        }
    }

    private static String shortName(String ref) {
        return ref.startsWith("refs/heads/") ? ref.substring("refs/heads/".length())
                : ref.startsWith("refs/tags/") ? ref.substring("refs/tags/".length()) : ref;
    }

    /** {@code push.changes[]}: several refs may change in one delivery; the last change to the branch counts. */
    private PushEvent bitbucketCloud(JsonNode root, String event) {
        JsonNode changes = root.path("push").path("changes");
        if (!changes.isArray()) {
            return PushEvent.invalid(Host.BITBUCKET_CLOUD, event, "repo:push payload has no push.changes");
        }
        String commit = null;
        boolean deleted = false;
        List<String> branches = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        for (JsonNode change : changes) {
            JsonNode nu = change.path("new");
            JsonNode old = change.path("old");
            if (nu.isNull() || nu.isMissingNode()) {
                if ("branch".equals(text(old, "type")) && branch.equals(text(old, "name"))) {
                    deleted = true;
                } else {
                    ("tag".equals(text(old, "type")) ? tags : branches).add(String.valueOf(text(old, "name")));
                }
                continue;
            }
            String type = text(nu, "type");
            String name = text(nu, "name");
            if ("branch".equals(type) && branch.equals(name)) {
                commit = sha(text(nu.path("target"), "hash"));
                deleted = false;
                if (commit == null) {
                    commit = "";
                }
            } else {
                ("tag".equals(type) ? tags : branches).add(String.valueOf(name));
            }
        }
        return decideMany(Host.BITBUCKET_CLOUD, event, commit, deleted, branches, tags);
    }

    /** {@code changes[]} with {@code ref.id} (full ref) and ADD/UPDATE/DELETE. */
    private PushEvent bitbucketDc(JsonNode root, String event) {
        JsonNode changes = root.path("changes");
        if (!changes.isArray()) {
            return PushEvent.invalid(Host.BITBUCKET_DC, event, "repo:refs_changed payload has no changes");
        }
        String commit = null;
        boolean deleted = false;
        List<String> branches = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        for (JsonNode change : changes) {
            String ref = text(change.path("ref"), "id");
            if (ref == null) {
                ref = text(change, "refId");
            }
            String type = String.valueOf(text(change, "type")).toUpperCase(Locale.ROOT);
            String to = text(change, "toHash");
            if (ref == null || !ref.equals(branchRef)) {
                (ref != null && ref.startsWith("refs/tags/") ? tags : branches).add(ref == null ? "?" : shortName(ref));
            } else if (type.equals("DELETE") || ZERO_SHA.equals(to)) {
                deleted = true;
                commit = null;
            } else if (type.equals("ADD") || type.equals("UPDATE")) {
                commit = sha(to);
                deleted = false;
                if (commit == null) {
                    commit = "";
                }
            }
        }
        return decideMany(Host.BITBUCKET_DC, event, commit, deleted, branches, tags);
    }

    private PushEvent decideMany(Host host, String event, String commit, boolean deleted, List<String> branches,
                                 List<String> tags) {
        if (commit != null) {
            return PushEvent.deploy(host, event, commit.isEmpty() ? null : commit);
        }
        if (deleted) {
            return PushEvent.ignore(host, event, Reason.deleted(branch));
        }
        if (!branches.isEmpty()) {
            return PushEvent.ignore(host, event, Reason.otherBranch(branches, branch));
        }
        if (!tags.isEmpty()) {
            return PushEvent.ignore(host, event, Reason.tags(tags));
        }
        return PushEvent.ignore(host, event, Reason.EMPTY);
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isTextual() ? v.asText() : null;
    }

    /** A full commit id from a payload, or null if the field does not hold one. */
    private static String sha(String value) {
        if (value == null) {
            return null;
        }
        String v = value.toLowerCase(Locale.ROOT);
        return v.matches("[0-9a-f]{40}([0-9a-f]{24})?") ? v : null;
    }

    /** Text from a payload or header, fit for a log line and a JSON reason: bounded, no control characters. */
    static String printable(String s) {
        StringBuilder out = new StringBuilder(Math.min(s.length(), MAX_NAME));
        for (int i = 0; i < s.length(); i++) {
            if (out.length() >= MAX_NAME) {
                out.append("...");
                break;
            }
            char c = s.charAt(i);
            out.append(Character.isISOControl(c) || Character.isWhitespace(c) && c != ' ' ? '?' : c);
        }
        return out.toString();
    }
}
