package dev.pullhook.webhook;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Turns a verified delivery (headers + raw body) into a {@link PushEvent}: which host sent it, and whether
 * it pushes the configured branch. Knows each host's headers and JSON shape (see
 * {@code src/test/resources/payloads/README.md}); knows nothing about git or HTTP status codes.
 * Must only be called after the signature was checked: it parses attacker-controlled text otherwise.
 */
public final class PushEventParser {
    static final String ZERO_SHA = "0000000000000000000000000000000000000000";
    private static final int MAX_NAME = 100;

    private final String branch;
    private final String branchRef;
    private final ObjectMapper json = new ObjectMapper()
            // two values for one key is ambiguous: reject rather than guess which one a host meant
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // one JSON value and nothing after it: "{...} garbage" is not what a host sends
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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
        Host host = host(header);
        String event = event(host, header);
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
        if (!isPush(host, event)) {
            return PushEvent.ignore(host, event, Reason.notPush(event));
        }
        JsonNode root;
        try {
            root = readBody(contentType, body);
        } catch (BadBody e) {
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

    private static String event(Host host, Function<String, String> header) {
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
        return value == null ? "-" : printable(value.strip());
    }

    private static boolean isPush(Host host, String event) {
        // a system hook's body says which event it is (push, tag_push, repository_update...): read below
        return switch (host) {
            case BITBUCKET_CLOUD -> event.equals("repo:push");
            case BITBUCKET_DC -> event.equals("repo:refs_changed");
            case GITLAB -> event.equals("Push Hook") || event.equals("Tag Push Hook") || event.equals("System Hook");
            default -> event.equals("push");
        };
    }

    private JsonNode readBody(String contentType, byte[] body) throws BadBody {
        if (body.length == 0) {
            throw new BadBody("body is empty");
        }
        byte[] jsonBytes = body;
        String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
        if (type.startsWith("application/x-www-form-urlencoded")) {
            jsonBytes = formPayload(body);
        }
        try {
            JsonNode root = json.readTree(jsonBytes);
            if (root == null || root.isMissingNode()) {
                throw new BadBody("body is empty");
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
            throw new BadBody("body is not valid JSON" + where + ": " + problem(e));
        } catch (IOException e) {
            throw new BadBody("body cannot be read as JSON");
        }
    }

    /** Jackson's own words without the echo of the input, which may be long or hostile. */
    private static String problem(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) {
            return "syntax error";
        }
        int quote = m.indexOf('\'');
        String cut = quote > 0 ? m.substring(0, quote).strip() : m;
        return printable(cut.length() > 80 ? cut.substring(0, 80) : cut);
    }

    /** GitHub's and Gitea's form content type: the JSON is the URL-encoded {@code payload} field. */
    private static byte[] formPayload(byte[] body) throws BadBody {
        String form = new String(body, StandardCharsets.US_ASCII);
        byte[] payload = null;
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            if (name.equals("payload")) {
                if (payload != null) {
                    // as with duplicate JSON keys: two values are ambiguous
                    throw new BadBody("form body has more than one payload field");
                }
                try {
                    payload = URLDecoder.decode(eq < 0 ? "" : pair.substring(eq + 1), StandardCharsets.UTF_8)
                            .getBytes(StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw new BadBody("form field payload is not URL-encoded");
                }
            }
        }
        if (payload == null) {
            throw new BadBody("form body has no payload field");
        }
        return payload;
    }

    /** The JSON of a form delivery ({@code payload=<json>}), or null when {@code body} is not one. */
    static byte[] formJson(String contentType, byte[] body) {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            return null;
        }
        try {
            return formPayload(body);
        } catch (BadBody e) {
            return null;
        }
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

    private static boolean present(Function<String, String> header, String name) {
        String v = header.apply(name);
        return v != null && !v.isBlank();
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

    private static final class BadBody extends Exception {
        private static final long serialVersionUID = 1L;

        BadBody(String message) {
            super(message, null, false, false);
        }
    }
}
