package dev.pullhook.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.Config;
import dev.pullhook.config.Secret;
import dev.pullhook.deploy.DeploymentView;
import dev.pullhook.http.SiteStatus;
import dev.pullhook.webhook.ManualProof;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * How the command line talks to the daemon of a config: on the address it listens on ({@code server.host},
 * a wildcard meaning this machine) and {@code server.port}, signing like a git host where the daemon asks
 * for it. It only sends and receives; what the answers mean is up to the command.
 */
final class DaemonClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Config config;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    DaemonClient(Config config) {
        this.config = config;
    }

    URI uri(String pathAndQuery) {
        String host = switch (config.host()) {
            case "0.0.0.0" -> "127.0.0.1";
            case "::", "[::]" -> "::1";
            default -> config.host();
        };
        return URI.create("http://" + (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":"
                + config.port() + pathAndQuery);
    }

    /**
     * A POST with an empty body and a fresh {@link ManualProof} (time, nonce, HMAC over method, path and
     * body), waiting as long as the daemon may take to answer {@code ?wait=true}. The secret itself never
     * travels, and the request cannot be replayed.
     */
    HttpResponse<String> postSigned(String pathAndQuery, Secret secret) throws IOException, InterruptedException {
        int query = pathAndQuery.indexOf('?');
        String path = query < 0 ? pathAndQuery : pathAndQuery.substring(0, query);
        return http.send(HttpRequest.newBuilder(uri(pathAndQuery))
                        .timeout(config.waitTimeout().plusSeconds(10))
                        .header(ManualProof.HEADER, ManualProof.header(secret.bytes(), "POST", path, new byte[0],
                                java.time.Instant.now().getEpochSecond()))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * {@code GET path} as Server-Sent Events, read line by line as they come; no time limit once the
     * answer has begun (the daemon sends a keep-alive comment while nothing happens).
     */
    HttpResponse<Stream<String>> events(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
                .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofLines());
    }

    /**
     * Polls {@code /status} until deploy {@code id} of site {@code site} is in its history, and returns that
     * entry (the fields of an {@code end} event), or null when it is not there within {@code patience}.
     */
    DeploymentView awaitDeploy(String site, long id, Duration patience) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (System.nanoTime() < deadline) {
            SiteStatus.All status = JSON.readValue(getJson("/status").body(), SiteStatus.All.class);
            for (SiteStatus s : status.sites() == null ? List.<SiteStatus>of() : status.sites()) {
                if (site.equals(s.name()) && s.deploys() != null) {
                    for (DeploymentView d : s.deploys()) {
                        if (d.id() == id) {
                            return d;
                        }
                    }
                }
            }
            Thread.sleep(500);
        }
        return null;
    }

    HttpResponse<String> getJson(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
                        .header("Accept", "application/json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
