package dev.pullhook.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.ReportOptions;
import dev.pullhook.config.ReportOptions.Host;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One host's commit-status API, as its documentation gives it: the method and path, the headers (how the token
 * is sent), the JSON body and the words for each state. Builds requests; sends nothing.
 *
 * <ul>
 *   <li>Bitbucket Cloud: {@code POST /2.0/repositories/{workspace}/{slug}/commit/{sha}/statuses/build},
 *       {@code Authorization: Bearer}, {@code key, state (INPROGRESS|SUCCESSFUL|FAILED), name, url, description}.</li>
 *   <li>Bitbucket Data Center: {@code POST /rest/api/latest/projects/{key}/repos/{slug}/commits/{sha}/builds},
 *       {@code Authorization: Bearer} (an HTTP access token), the same body.</li>
 *   <li>GitHub: {@code POST /repos/{owner}/{repo}/statuses/{sha}}, {@code Authorization: Bearer},
 *       {@code Accept: application/vnd.github+json}, {@code X-GitHub-Api-Version: 2022-11-28},
 *       {@code state (pending|success|failure), target_url, description (at most 140 characters), context}.</li>
 *   <li>GitLab: {@code POST /api/v4/projects/{id or URL-encoded path}/statuses/{sha}}, {@code PRIVATE-TOKEN},
 *       {@code state (running|success|failed), ref, name, target_url, description}.</li>
 *   <li>Gitea and Forgejo: {@code POST /api/v1/repos/{owner}/{repo}/statuses/{sha}}, {@code Authorization: token},
 *       {@code state (pending|success|failure), target_url, description, context}.</li>
 * </ul>
 */
final class HostApi {
    /** GitHub's own API version header: the one its documentation's examples send. */
    static final String GITHUB_API_VERSION = "2022-11-28";
    /** GitHub refuses a longer description (422); the others take at least 255 characters. */
    private static final int GITHUB_DESCRIPTION_MAX = 140;
    private static final int DESCRIPTION_MAX = 255;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String USER_AGENT = "pullhook/" + version();

    private final Host host;
    private final String base;
    private final String repo;
    private final String branch;
    private final ReportOptions options;
    private final String authorization;
    private final Duration timeout;

    /**
     * @param repo   the repository on the host (owner/name, project/slug, a GitLab id or path)
     * @param branch the branch deployed (GitLab's {@code ref})
     */
    HostApi(ReportOptions options, String repo, String branch, Duration timeout) {
        this.host = options.host();
        this.options = options;
        this.repo = repo;
        this.branch = branch;
        this.timeout = timeout;
        this.base = base(host, options.api().toString());
        String token = new String(options.token().bytes(), StandardCharsets.UTF_8);
        this.authorization = switch (host) {
            case GITLAB -> token;
            case GITEA -> "token " + token;
            default -> "Bearer " + token;
        };
    }

    Host host() {
        return host;
    }

    /** The API's address without the version path a user may have put into {@code report.url}, which is added here. */
    private static String base(Host host, String api) {
        String suffix = switch (host) {
            case BITBUCKET_CLOUD -> "/2.0";
            case BITBUCKET_DC -> "/rest/api/latest";
            case GITLAB -> "/api/v4";
            case GITEA -> "/api/v1";
            case GITHUB -> "";
        };
        String b = api.replaceAll("/+$", "");
        if (!suffix.isEmpty() && b.endsWith(suffix)) {
            b = b.substring(0, b.length() - suffix.length());
        }
        if (host == Host.BITBUCKET_DC && b.endsWith("/rest/api/1.0")) {
            b = b.substring(0, b.length() - "/rest/api/1.0".length());
        }
        return b + suffix;
    }

    /** Where a status for {@code commit} is posted. */
    URI uri(String commit) {
        String[] r = repo.split("/", 2);
        String path = switch (host) {
            case BITBUCKET_CLOUD -> "/repositories/" + r[0] + "/" + r[1] + "/commit/" + commit + "/statuses/build";
            case BITBUCKET_DC -> "/projects/" + r[0] + "/repos/" + r[1] + "/commits/" + commit + "/builds";
            case GITHUB, GITEA -> "/repos/" + r[0] + "/" + r[1] + "/statuses/" + commit;
            // a project path is one URL-encoded segment ("group%2Fsite"), an id stays as it is
            case GITLAB -> "/projects/" + repo.replace("/", "%2F") + "/statuses/" + commit;
        };
        return URI.create(base + path);
    }

    /** The host's word for {@code state}. */
    String state(CommitStatus.State state) {
        return switch (host) {
            case BITBUCKET_CLOUD, BITBUCKET_DC -> switch (state) {
                case PENDING -> "INPROGRESS";
                case SUCCESS -> "SUCCESSFUL";
                case FAILURE -> "FAILED";
            };
            case GITLAB -> switch (state) {
                case PENDING -> "running";
                case SUCCESS -> "success";
                case FAILURE -> "failed";
            };
            case GITHUB, GITEA -> switch (state) {
                case PENDING -> "pending";
                case SUCCESS -> "success";
                case FAILURE -> "failure";
            };
        };
    }

    /** The JSON fields of a status, in the host's names. */
    Map<String, Object> body(CommitStatus s) {
        Map<String, Object> b = new LinkedHashMap<>();
        String description = cut(s.description(), host == Host.GITHUB ? GITHUB_DESCRIPTION_MAX : DESCRIPTION_MAX);
        String link = link(s);
        switch (host) {
            case BITBUCKET_CLOUD, BITBUCKET_DC -> {
                b.put("key", options.context());
                b.put("state", state(s.state()));
                b.put("name", options.context());
                b.put("url", link);
                b.put("description", description);
            }
            case GITLAB -> {
                b.put("state", state(s.state()));
                b.put("ref", branch);
                b.put("name", options.context());
                if (link != null) {
                    b.put("target_url", link);
                }
                b.put("description", description);
            }
            case GITHUB, GITEA -> {
                b.put("state", state(s.state()));
                if (link != null) {
                    b.put("target_url", link);
                }
                b.put("description", description);
                b.put("context", options.context());
            }
        }
        return b;
    }

    /** {@code report.link.url} with the deploy and the commit filled in, or null. */
    private String link(CommitStatus s) {
        return options.link() == null ? null
                : options.link().replace("{deploy}", Long.toString(s.deploy())).replace("{commit}", s.commit());
    }

    /** The request that posts {@code s}. */
    HttpRequest request(CommitStatus s) {
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(body(s));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);  // a map of strings always serializes
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(s.commit()))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("User-Agent", USER_AGENT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(json));
        switch (host) {
            case GITHUB -> b.header("Authorization", authorization)
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", GITHUB_API_VERSION);
            case GITLAB -> b.header("PRIVATE-TOKEN", authorization).header("Accept", "application/json");
            default -> b.header("Authorization", authorization).header("Accept", "application/json");
        }
        return b.build();
    }

    /** {@code text} on one line, at most {@code max} characters (cut ones end in "..."). */
    static String cut(String text, int max) {
        String line = text.replaceAll("[\\p{Cntrl}\\s]+", " ").strip();
        return line.length() <= max ? line : line.substring(0, max - 3).stripTrailing() + "...";
    }

    private static String version() {
        String v = HostApi.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
