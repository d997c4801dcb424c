package dev.pullhook.report;

import dev.pullhook.config.ReportOptions;
import dev.pullhook.config.ReportOptions.Host;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which repository on the git host a site's statuses go to, when {@code report.repo} does not say: read from
 * the URL the site fetches from, in the host's own terms (GitHub's and Gitea's {@code owner/name}, Bitbucket
 * Cloud's {@code workspace/slug}, Bitbucket Data Center's {@code PROJECT/slug}, GitLab's full project path).
 * Knows URLs only; opens nothing.
 */
final class HostRepo {
    /** {@code [user@]host:path}, git's scp-like syntax: no scheme, and no slash before the colon. */
    private static final Pattern SCP_LIKE = Pattern.compile("(?:[^@/]+@)?([^:/]+):(.+)");
    private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://.*");

    private HostRepo() {
    }

    /**
     * The repository that {@code remoteUrl} (https, ssh or scp-like) names on {@code host}, or null when it
     * names none (a local path, a URL of another shape).
     *
     * @param api the host's API address ({@code report.url}): a self-hosted GitLab under a path
     *            ({@code https://example.com/gitlab}) has that path in front of its project paths
     */
    static String fromRemoteUrl(Host host, String remoteUrl, URI api) {
        Location at = remoteUrl == null ? null : locate(remoteUrl);
        if (at == null) {
            return null;
        }
        boolean web = at.web();
        List<String> parts = new ArrayList<>(Arrays.asList(at.path().split("/")));
        parts.removeIf(String::isEmpty);
        if (!parts.isEmpty()) {
            String last = parts.get(parts.size() - 1);
            if (last.endsWith(".git")) {
                parts.set(parts.size() - 1, last.substring(0, last.length() - 4));
            }
        }
        List<String> repo = switch (host) {
            case GITHUB, GITEA, BITBUCKET_CLOUD -> lastTwo(parts);
            case BITBUCKET_DC -> web ? afterScm(parts) : lastTwo(parts);
            case GITLAB -> web ? withoutPrefix(parts, api) : parts;
        };
        if (repo == null || repo.size() < 2) {
            return null;
        }
        String name = String.join("/", repo);
        return ReportOptions.repoProblem(host, name) == null ? name : null;
    }

    /** The path part of a remote URL, and whether it is a web address (http, https). */
    private record Location(String path, boolean web) {
    }

    /** Where {@code remoteUrl} points on its host; null for a local path or a URL of another shape. */
    private static Location locate(String remoteUrl) {
        if (SCHEME.matcher(remoteUrl).matches()) {
            URI uri;
            try {
                uri = URI.create(remoteUrl);
            } catch (IllegalArgumentException e) {
                return null;
            }
            String scheme = uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!List.of("https", "http", "ssh", "git+ssh", "ssh+git", "git").contains(scheme) || uri.getPath() == null) {
                return null;
            }
            return new Location(uri.getPath(), scheme.startsWith("http"));
        }
        Matcher m = SCP_LIKE.matcher(remoteUrl);
        if (!m.matches() || remoteUrl.startsWith("/") || remoteUrl.startsWith(".")) {
            return null;
        }
        return new Location(m.group(2), false);
    }

    private static List<String> lastTwo(List<String> parts) {
        return parts.size() < 2 ? null : parts.subList(parts.size() - 2, parts.size());
    }

    /** Bitbucket Data Center's clone URL: {@code https://host[/context]/scm/PROJECT/slug.git}. */
    private static List<String> afterScm(List<String> parts) {
        int scm = parts.lastIndexOf("scm");
        return scm < 0 ? null : parts.subList(scm + 1, parts.size());
    }

    /** GitLab's web path less the path GitLab itself is served under (its API address minus {@code /api/v4}). */
    private static List<String> withoutPrefix(List<String> parts, URI api) {
        List<String> prefix = new ArrayList<>();
        if (api != null && api.getPath() != null) {
            for (String p : api.getPath().replaceAll("/api/v4/?$", "").split("/")) {
                if (!p.isEmpty()) {
                    prefix.add(p);
                }
            }
        }
        if (parts.size() > prefix.size() && parts.subList(0, prefix.size()).equals(prefix)) {
            return parts.subList(prefix.size(), parts.size());
        }
        return parts;
    }
}
