package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.Secret;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;

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
     * A POST with an empty body and its {@code X-Hub-Signature-256}, waiting as long as the daemon may take
     * to answer {@code ?wait=true}. The secret itself never travels.
     */
    HttpResponse<String> postSigned(String pathAndQuery, Secret secret) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(pathAndQuery))
                        .timeout(config.waitTimeout().plusSeconds(10))
                        .header("X-Hub-Signature-256", "sha256=" + hmacSha256(secret, new byte[0]))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> getJson(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
                        .header("Accept", "application/json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String hmacSha256(Secret secret, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.bytes(), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }
}
