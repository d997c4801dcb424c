package dev.pullhook.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The validated, effective configuration of one daemon: the server's settings and its sites. Built only by
 * {@link ConfigLoader}, which checks every key; everything here can be trusted by the rest of the code.
 * {@link #toString()} masks secrets and quotes strings, so the whole record can be logged once at start.
 *
 * <p>The accessors named after site settings ({@link #repoPath()}, {@link #branch()}, ...) describe the
 * unnamed site, or the first site when every site has a name: what a one-site configuration means.
 *
 * @param host           address the HTTP server binds to ({@code server.host})
 * @param port           TCP port, 0 for any free one ({@code server.port})
 * @param maxBodyBytes   larger request bodies get 413 ({@code webhook.max.body.bytes})
 * @param waitTimeout    how long {@code ?wait=true} waits for the deploy before answering 202
 * @param drainTimeout   how long SIGTERM waits for running deploys ({@code shutdown.drain.seconds})
 * @param trustedProxies peers allowed to set the client address with X-Forwarded-For ({@code server.trusted.proxies})
 * @param connectionsPerClient open connections one client address may hold; trusted proxies are exempt
 *                       ({@code server.connections.per.client})
 * @param rejectionsLoggedPerMinute rejected requests logged per client address and minute; the rest are
 *                       counted in one line ({@code server.log.rejections.per.minute})
 * @param limits         the HTTP server's other limits: connections, timeouts, request bodies ({@code server.*})
 * @param sites          the deployed working copies, the unnamed one (if any) first
 * @param warmUp         each site rehearses a deploy at start, so the first real one is not the slow one
 *                       ({@code server.warmup})
 */
public record Config(String host, int port, long maxBodyBytes, Duration waitTimeout, Duration drainTimeout,
                     List<String> trustedProxies, int connectionsPerClient, int rejectionsLoggedPerMinute,
                     HttpLimits limits, List<SiteConfig> sites, boolean warmUp) {

    /** The unnamed site, or the first one. */
    public SiteConfig site() {
        return sites.get(0);
    }

    /** The site with this name ({@code ""} for the unnamed one). */
    public Optional<SiteConfig> site(String name) {
        return sites.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public Path repoPath() {
        return site().repoPath();
    }

    public String remote() {
        return site().remote();
    }

    public String branch() {
        return site().branch();
    }

    public Secret secret() {
        return site().secret();
    }

    public Duration gitTimeout() {
        return site().gitTimeout();
    }

    public int historySize() {
        return site().historySize();
    }

    public DeployOptions deploy() {
        return site().deploy();
    }

    public GitAuth gitAuth() {
        return site().gitAuth();
    }

    public List<String> allowFrom() {
        return site().allowFrom();
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        parts.add("server.host=\"" + host + "\" server.port=" + port
                + " server.trusted.proxies=\"" + String.join(", ", trustedProxies) + "\""
                + " server.connections.per.client=" + connectionsPerClient
                + " server.log.rejections.per.minute=" + rejectionsLoggedPerMinute
                + " server.warmup=" + warmUp
                + " " + limits
                + " webhook.max.body.bytes=" + maxBodyBytes
                + " webhook.wait.timeout.seconds=" + waitTimeout.toSeconds()
                + " shutdown.drain.seconds=" + drainTimeout.toSeconds());
        for (SiteConfig s : sites) {
            parts.add(s.toString());
        }
        return String.join(" ", parts);
    }
}
