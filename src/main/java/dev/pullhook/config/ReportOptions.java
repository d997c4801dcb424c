package dev.pullhook.config;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where a site reports its deploys as commit statuses on the git host (the {@code report.*} keys): which
 * host's API, at which address, for which repository, with which token, under which name, linking where.
 * Validated here, read by {@link ConfigLoader}; the token is found by the loader like the other secrets.
 *
 * @param host    whose commit-status API ({@code report.host})
 * @param api     the API's base address, without a trailing slash ({@code report.url}, or the cloud's own)
 * @param repo    the repository on the host as {@code report.repo} gives it (owner/name, workspace/slug,
 *                project/slug, a GitLab project id or path), or null: derived from the remote's URL at start
 * @param token   the access token ({@code report.token.file} or the systemd credential {@code report-token});
 *                null only in a config loaded without secrets
 * @param context the name the status is shown under ({@code report.context}, by default {@code pullhook/<site>})
 * @param link    the page a status links to ({@code report.link.url}; {@code {deploy}} and {@code {commit}} are
 *                filled in), or null
 */
public record ReportOptions(Host host, URI api, String repo, Secret token, String context, String link) {
    /** A status's name: shown on the commit page, and Bitbucket's key (at most 40 characters there). */
    private static final Pattern CONTEXT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,39}");
    /** One path segment of an owner or repository name: nothing that could leave its place in a URL path. */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_.~-]+");

    /** The git hosts whose commit-status API pullhook speaks, by their {@code report.host} value. */
    public enum Host {
        BITBUCKET_CLOUD("https://api.bitbucket.org"),
        BITBUCKET_DC(null),
        GITHUB("https://api.github.com"),
        GITLAB("https://gitlab.com"),
        GITEA(null);

        private final String defaultApi;

        Host(String defaultApi) {
            this.defaultApi = defaultApi;
        }

        /** Its {@code report.host} value: {@code bitbucket-cloud}, {@code github}, ... */
        public String key() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The API of the cloud service, or null for a host that is always self-hosted. */
        public String defaultApi() {
            return defaultApi;
        }

        static Host of(String key) {
            for (Host h : values()) {
                if (h.key().equals(key.strip().toLowerCase(Locale.ROOT))) {
                    return h;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return key();
        }
    }

    /** The name a site's statuses get when {@code report.context} is not set: {@code pullhook/<site>}. */
    public static String defaultContext(String site) {
        return "pullhook/" + (site.isEmpty() ? "default" : site);
    }

    /**
     * The {@code report.*} keys of one site, checked; null when reporting is off ({@code report.host} unset) or
     * a key has a problem (added to {@code problems}, naming the key with its prefix {@code p}).
     *
     * @param token          the token found by the loader (null: {@code problems} already says why, or it was
     *                       not looked for)
     * @param withoutSecrets the config is loaded for a command that sends nothing: the token may be null
     */
    static ReportOptions parse(String p, String site, Map<String, String> v, Secret token, boolean withoutSecrets,
                               List<String> problems, java.util.function.Consumer<String> warnings) {
        String hostValue = v.get("report.host");
        if (hostValue == null) {
            return null;
        }
        int before = problems.size();
        Host host = Host.of(hostValue);
        if (host == null) {
            problems.add(p + "report.host: \"" + hostValue + "\" is not one of bitbucket-cloud, bitbucket-dc, github,"
                    + " gitlab, gitea");
            return null;
        }
        URI api = api(p, host, v.get("report.url"), problems, warnings);
        String repo = v.get("report.repo");
        if (repo != null) {
            String why = repoProblem(host, repo);
            if (why != null) {
                problems.add(p + "report.repo: \"" + repo + "\" " + why);
            }
        }
        String context = v.getOrDefault("report.context", defaultContext(site));
        if (!CONTEXT.matcher(context).matches()) {
            problems.add(p + "report.context: \"" + context + "\" must be 1 to 40 letters, digits, spaces and . _ / : -,"
                    + " starting with a letter or digit");
        }
        String link = link(p, host, v.get("report.link.url"), problems);
        if ((token == null && !withoutSecrets) || problems.size() > before) {
            return null;
        }
        return new ReportOptions(host, api, repo, token, context, link);
    }

    /** {@code report.link.url}, checked with its placeholders filled in; Bitbucket's hosts require one. */
    private static String link(String p, Host host, String link, List<String> problems) {
        if (link != null) {
            String why = urlProblem(link.replace("{deploy}", "1").replace("{commit}", "0".repeat(40)));
            if (why != null) {
                problems.add(p + "report.link.url: \"" + link + "\" " + why);
            }
        } else if (host == Host.BITBUCKET_CLOUD || host == Host.BITBUCKET_DC) {
            problems.add(p + "report.link.url: required with report.host=" + host + " (Bitbucket refuses a build status"
                    + " without a link): the status page, e.g. https://deploy.example.com/status, or the site itself");
        }
        return link;
    }

    /** {@code report.url}, or the cloud's API; never with a trailing slash. */
    private static URI api(String p, Host host, String value, List<String> problems,
                           java.util.function.Consumer<String> warnings) {
        if (value == null) {
            if (host.defaultApi() == null) {
                problems.add(p + "report.url: required with report.host=" + host + " (your server's address, e.g. "
                        + (host == Host.GITEA ? "https://git.example.com" : "https://bitbucket.example.com") + ")");
                return null;
            }
            return URI.create(host.defaultApi());
        }
        String why = urlProblem(value);
        if (why != null) {
            problems.add(p + "report.url: \"" + value + "\" " + why);
            return null;
        }
        URI uri = URI.create(value.replaceAll("/+$", ""));
        if (uri.getScheme().equalsIgnoreCase("http") && !isLoopback(uri.getHost())) {
            warnings.accept(p + "report.url: " + value + " is plain http: the token crosses the network unencrypted;"
                    + " use https");
        }
        return uri;
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1");
    }

    /** Why {@code value} is not an absolute http(s) address to send requests to, or null. */
    private static String urlProblem(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (java.net.URISyntaxException e) {
            return "is not a URL";
        }
        if (uri.getScheme() == null || !(uri.getScheme().equalsIgnoreCase("https") || uri.getScheme().equalsIgnoreCase("http"))
                || uri.getHost() == null) {
            return "is not an http:// or https:// URL with a host";
        }
        if (uri.getRawUserInfo() != null) {
            return "has a user name or password in it; the token goes in report.token.file";
        }
        if (uri.getRawFragment() != null) {
            return "has a #fragment";
        }
        return null;
    }

    /** Why {@code repo} does not name a repository on {@code host}, or null. */
    public static String repoProblem(Host host, String repo) {
        String[] parts = repo.split("/", -1);
        for (String part : parts) {
            if (!SEGMENT.matcher(part).matches() || part.equals(".") || part.equals("..")) {
                return "is not a repository name (" + expected(host) + ")";
            }
        }
        if (host == Host.GITLAB) {
            return parts.length == 1 && !repo.matches("[0-9]+") ? "is neither a project id nor a path ("
                    + expected(host) + ")" : null;
        }
        return parts.length == 2 ? null : "is not " + expected(host);
    }

    private static String expected(Host host) {
        return switch (host) {
            case BITBUCKET_CLOUD -> "workspace/slug, e.g. team/site";
            case BITBUCKET_DC -> "project key/slug, e.g. WEB/site";
            case GITLAB -> "a project id such as 42, or its path such as group/site";
            case GITHUB, GITEA -> "owner/name, e.g. octo/site";
        };
    }

    @Override
    public String toString() {
        return describe("");
    }

    /** The keys and values for the log line at start, each key with the site's prefix {@code p}; the token masked. */
    public String describe(String p) {
        return p + "report.host=" + host + " " + p + "report.url=\"" + api + "\" " + p + "report.repo="
                + (repo == null ? "(from the remote's URL)" : "\"" + repo + "\"")
                + " " + p + "report.token=" + (token == null ? "(not loaded)" : "**** (" + token.source() + ")")
                + " " + p + "report.context=\"" + context + "\" " + p + "report.link.url="
                + (link == null ? "(none)" : "\"" + link + "\"");
    }
}
