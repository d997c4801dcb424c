package dev.pullhook.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One deployed working copy and everything about deploying it. The unnamed site (name {@code ""}) comes
 * from the keys without a {@code site.} prefix and is served at {@code /pull-repo}; a named site comes from
 * {@code site.<name>.*} keys and is served at {@code /pull-repo/<name>}.
 *
 * @param name        the site's name, {@code ""} for the unnamed one
 * @param repoPath    the working copy that is deployed ({@code repo.path})
 * @param remote      the remote fetched from ({@code repo.remote})
 * @param branch      the short branch name deployed ({@code repo.branch})
 * @param secret      the webhook secret; null only in a config loaded without secrets (for {@code status})
 * @param gitTimeout  network timeout of git operations ({@code git.timeout.seconds})
 * @param historySize how many deploys {@code /status} remembers ({@code deploy.history.size})
 * @param deploy      how deploys treat the working copy, and what runs around them
 * @param gitAuth     credentials for the remote
 * @param allowFrom   client addresses allowed to call the webhook; empty = any ({@code webhook.allow.from})
 * @param git         how git work is done and what pushed content is trusted
 * @param signingKey  GitLab's signing token ({@code webhook.signing.key}, Standard Webhooks), or null
 * @param report      where deploys are reported as commit statuses ({@code report.*}), or null: not reported
 */
public record SiteConfig(String name, Path repoPath, String remote, String branch, Secret secret,
                        Duration gitTimeout, int historySize, DeployOptions deploy, GitAuth gitAuth,
                        List<String> allowFrom, GitOptions git, Secret signingKey, ReportOptions report) {

    /** The key prefix of this site's settings: {@code ""} or {@code site.<name>.}. */
    public String keyPrefix() {
        return name.isEmpty() ? "" : "site." + name + ".";
    }

    /**
     * Every credential of this site, for masking where text the daemon did not write is kept or logged
     * ({@code deploy.command} output): the webhook secret, the HTTPS password or token, the signing key and the
     * report token. A new secret key belongs here too.
     */
    public List<Secret> secrets() {
        List<Secret> all = new ArrayList<>();
        if (secret != null) {
            all.add(secret);
        }
        if (gitAuth != null && gitAuth.httpsPassword() != null) {
            all.add(gitAuth.httpsPassword());
        }
        if (signingKey != null) {
            all.add(signingKey);
        }
        if (report != null && report.token() != null) {
            all.add(report.token());
        }
        return List.copyOf(all);
    }

    /** Where its webhook is served. */
    public String webhookPath() {
        return name.isEmpty() ? "/pull-repo" : "/pull-repo/" + name;
    }

    @Override
    public String toString() {
        String p = keyPrefix();
        return p + "repo.path=\"" + repoPath + "\" " + p + "repo.remote=\"" + remote + "\" " + p + "repo.branch=\""
                + branch + "\" " + p + "webhook.secret=" + (secret == null ? "(not loaded)" : "**** (" + secret.source() + ")") + " "
                + p + "git.timeout.seconds=" + gitTimeout.toSeconds() + " " + p + "deploy.history.size=" + historySize
                + " " + deploy.toString().replace("deploy.", p + "deploy.").replace("state.dir", p + "state.dir")
                + " " + gitAuth.toString().replace("git.", p + "git.")
                + " " + git.toString().replace("git.", p + "git.").replace("deploy.", p + "deploy.")
                + " " + p + "webhook.signing.key=" + (signingKey == null ? "(none)" : "**** (" + signingKey.source() + ")")
                + " " + p + "webhook.allow.from=\"" + (allowFrom.isEmpty() ? "(any)" : String.join(", ", allowFrom)) + "\""
                + " " + (report == null ? p + "report.host=(none)" : report.describe(p));
    }
}
