package dev.pullhook.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A git host's API on 127.0.0.1 (an ephemeral port) that records every request it gets (method, raw path,
 * headers, body) and answers as the test says: 201 by default, or any status and body, or not at all until
 * released. For checking what pullhook posts as commit statuses, and how it copes with a host that fails.
 */
public final class StatusHost implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One request as received. Header names are lower-cased; each header's values joined with ", ". */
    public record Request(String method, String rawPath, Map<String, String> headers, byte[] body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + new String(body, StandardCharsets.UTF_8), e);
            }
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** What to answer: a status code and a body. */
    public record Answer(int status, String body) {
    }

    private final HttpServer server;
    private final ExecutorService threads;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private volatile Function<Request, Answer> answers = r -> new Answer(201, "{}");
    private volatile CountDownLatch held = new CountDownLatch(0);

    private StatusHost() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "status-host");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            try (exchange) {
                Map<String, String> headers = new TreeMap<>();
                exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), String.join(", ", v)));
                Request request = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                        headers, exchange.getRequestBody().readAllBytes());
                requests.add(request);
                try {
                    held.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                Answer answer = answers.apply(request);
                byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(answer.status(), body.length == 0 ? -1 : body.length);
                if (body.length > 0) {
                    exchange.getResponseBody().write(body);
                }
            } catch (IOException e) {
                // the client went away (it timed out): nothing to answer
            }
        });
        server.start();
    }

    public static StatusHost start() {
        try {
            return new StatusHost();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:<port>} followed by {@code path}. */
    public String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    /** Answers every request from now on with {@code status} and {@code body}. */
    public StatusHost answer(int status, String body) {
        answers = r -> new Answer(status, body);
        return this;
    }

    public StatusHost answer(Function<Request, Answer> how) {
        answers = how;
        return this;
    }

    /** Holds every answer from now on until {@link #release()} (or 60 s). */
    public StatusHost hold() {
        held = new CountDownLatch(1);
        return this;
    }

    public void release() {
        held.countDown();
    }

    /** Every request received so far, in order. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Waits (up to {@link Poll#PATIENCE}) until at least {@code n} requests came, and returns them all. */
    public List<Request> awaitRequests(int n) {
        Poll.until(n + " request(s) to the status host (got " + requests.size() + ": " + summary() + ")",
                () -> requests.size() >= n);
        return requests();
    }

    /** {@code POST /path state} per request, for failure messages. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        for (Request r : requests) {
            b.append(r.method()).append(' ').append(r.rawPath()).append(' ').append(r.bodyText()).append('\n');
        }
        return b.toString();
    }

    @Override
    public void close() {
        release();
        server.stop(0);
        threads.shutdownNow();
    }
}
