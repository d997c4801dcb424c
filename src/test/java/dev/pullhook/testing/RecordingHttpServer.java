package dev.pullhook.testing;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain-HTTP "git host" on 127.0.0.1 that answers every request 401 with {@code WWW-Authenticate: Basic},
 * inviting a client to send credentials, and records every request line and {@code Authorization} header
 * it gets. For proving that a client never sends credentials to it, or never asks it anything.
 */
public final class RecordingHttpServer implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService threads;
    private final AtomicInteger requests = new AtomicInteger();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();
    private final List<String> requestLines = new CopyOnWriteArrayList<>();

    private RecordingHttpServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        threads = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "recording-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            try (exchange) {
                requests.incrementAndGet();
                requestLines.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
                List<String> auth = exchange.getRequestHeaders().get("Authorization");
                if (auth != null) {
                    authorizations.addAll(auth);
                }
                exchange.getRequestBody().readAllBytes();
                byte[] body = "authentication required\n".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"git\"");
                exchange.getResponseHeaders().add("Content-Type", "text/plain");
                exchange.sendResponseHeaders(401, body.length);
                exchange.getResponseBody().write(body);
            }
        });
        server.start();
    }

    public static RecordingHttpServer start() {
        try {
            return new RecordingHttpServer();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:<port>/<path>}. */
    public String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + path;
    }

    public int requests() {
        return requests.get();
    }

    /** Every Authorization header received, in order. */
    public List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    /** Every request line received ({@code GET /x.git/info/refs?...}), in order. */
    public List<String> requestLines() {
        return List.copyOf(requestLines);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
