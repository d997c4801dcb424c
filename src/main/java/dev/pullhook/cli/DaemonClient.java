package dev.pullhook.cli;

import dev.pullhook.config.Config;
import dev.pullhook.config.Secret;
import dev.pullhook.webhook.ManualProof;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * How the command line talks to the daemon of a config: on the address it listens on ({@code server.host},
 * a wildcard meaning this machine) and {@code server.port}, signing like a git host where the daemon asks
 * for it. It only sends and receives; what the answers mean is up to the command.
 */
final class DaemonClient {
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

    HttpResponse<String> getJson(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
                        .header("Accept", "application/json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
