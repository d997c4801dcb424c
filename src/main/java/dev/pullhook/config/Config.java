package dev.pullhook.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The validated, effective configuration of one daemon. Built only by {@link ConfigLoader}, which checks
 * every key; everything here can be trusted by the rest of the code. {@link #toString()} masks the
 * secret and quotes strings, so the whole record can be logged once at start.
 *
 * @param host          address the HTTP server binds to ({@code server.host})
 * @param port          TCP port, 0 for any free one ({@code server.port})
 * @param repoPath      the working copy that is deployed ({@code repo.path})
 * @param remote        the remote fetched from ({@code repo.remote})
 * @param branch        the short branch name deployed ({@code repo.branch})
 * @param secret        the webhook secret
 * @param maxBodyBytes  larger request bodies get 413 ({@code webhook.max.body.bytes})
 * @param waitTimeout   how long {@code ?wait=true} waits for the deploy before answering 202
 * @param gitTimeout    network timeout of git operations ({@code git.timeout.seconds})
 * @param drainTimeout  how long SIGTERM waits for a running deploy ({@code shutdown.drain.seconds})
 * @param historySize   how many deploys {@code /status} remembers ({@code deploy.history.size})
 * @param deploy        how deploys treat the working copy, and what runs around them
 * @param gitAuth       credentials for the remote
 * @param trustedProxies peers allowed to set the client address with X-Forwarded-For ({@code server.trusted.proxies})
 * @param allowFrom     client addresses allowed to call the webhook; empty = any ({@code webhook.allow.from})
 */
public record Config(
        String host,
        int port,
        Path repoPath,
        String remote,
        String branch,
        Secret secret,
        long maxBodyBytes,
        Duration waitTimeout,
        Duration gitTimeout,
        Duration drainTimeout,
        int historySize,
        DeployOptions deploy,
        GitAuth gitAuth,
        List<String> trustedProxies,
        List<String> allowFrom) {

    /** A copy listening on another port (the demo and tests pick a free one). */
    public Config withPort(int newPort) {
        return new Config(host, newPort, repoPath, remote, branch, secret, maxBodyBytes, waitTimeout,
                gitTimeout, drainTimeout, historySize, deploy, gitAuth, trustedProxies, allowFrom);
    }

    @Override
    public String toString() {
        return "server.host=\"" + host + "\" server.port=" + port
                + " repo.path=\"" + repoPath + "\" repo.remote=\"" + remote + "\" repo.branch=\"" + branch + "\""
                + " webhook.secret=**** (" + secret.source() + ")"
                + " webhook.max.body.bytes=" + maxBodyBytes
                + " webhook.wait.timeout.seconds=" + waitTimeout.toSeconds()
                + " git.timeout.seconds=" + gitTimeout.toSeconds()
                + " shutdown.drain.seconds=" + drainTimeout.toSeconds()
                + " deploy.history.size=" + historySize
                + " " + deploy
                + " " + gitAuth
                + " server.trusted.proxies=\"" + String.join(", ", trustedProxies) + "\""
                + " webhook.allow.from=\"" + (allowFrom.isEmpty() ? "(any)" : String.join(", ", allowFrom)) + "\"";
    }
}
