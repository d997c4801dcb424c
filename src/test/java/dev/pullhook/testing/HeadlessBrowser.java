package dev.pullhook.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real headless Chromium ({@link Tools#chromium()}) driven over the Chrome DevTools Protocol: a
 * {@code java.net.http.WebSocket} to the port it picks on 127.0.0.1 (read from its {@code DevTools listening
 * on} line), JSON by Jackson. Just what a test of a page needs: open a {@link Page}, evaluate JavaScript in
 * it, and the errors it reported (uncaught exceptions, {@code console.error}, the browser's own error entries
 * such as a blocked script or a failed request). Its profile lives in a folder of the test's; its stderr goes
 * to a file there, shown when it fails to start. {@link #close} ends the process it started, by PID, and its
 * children. Not a general CDP client: no screenshots, no input events.
 */
public final class HeadlessBrowser implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration START = Duration.ofSeconds(20);
    private static final Duration ANSWER = Duration.ofSeconds(20);
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://127\\.0\\.0\\.1:\\d+/\\S+)");

    private final Process process;
    private final Path stderr;
    private final WebSocket socket;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<JsonNode>> answers = new ConcurrentHashMap<>();
    private final Map<String, Page> pages = new ConcurrentHashMap<>();

    private HeadlessBrowser(Process process, Path stderr, URI endpoint) {
        this.process = process;
        this.stderr = stderr;
        try {
            this.socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(endpoint, new Listener()).get(START.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot connect to Chromium's DevTools at " + endpoint + "; its stderr:\n"
                    + stderrText(), e);
        }
    }

    /**
     * Starts Chromium with its profile and stderr in {@code dir} (a test's temporary folder), listening on a
     * port of 127.0.0.1 only. Skips the test when Chromium is missing (fails it under {@code CI=true}).
     */
    public static HeadlessBrowser start(Path dir) {
        Path binary = Tools.chromium();
        Path profile = dir.resolve("chromium-profile");
        Path stderr = dir.resolve("chromium.stderr");
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--headless",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile,
                // nothing but the daemon under test is asked: no update checks, no sign-in, no field trials
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-gpu",
                // a page's timers run on time even though no window is ever shown
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding"));
        if ("root".equals(System.getProperty("user.name"))) {
            // Chromium refuses to start its sandbox as root (the CI container runs as root)
            command.add("--no-sandbox");
        }
        command.add("about:blank");
        Process process;
        try {
            Files.createDirectories(profile);
            process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(stderr.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + binary, e);
        }
        URI[] endpoint = new URI[1];
        boolean listening = Poll.within(START, () -> {
            Matcher m = LISTENING.matcher(read(stderr));
            if (m.find()) {
                endpoint[0] = URI.create(m.group(1));
                return true;
            }
            return !process.isAlive();
        });
        if (!listening || endpoint[0] == null) {
            kill(process, process.descendants().toList());
            fail("Chromium did not start listening within " + START.toSeconds() + " s (" + command + "); its stderr:\n"
                    + read(stderr));
        }
        try {
            return new HeadlessBrowser(process, stderr, endpoint[0]);
        } catch (RuntimeException e) {
            kill(process, process.descendants().toList());
            throw e;
        }
    }

    /** A new tab showing {@code url} once its {@code load} event has fired; its errors are recorded from the start. */
    public Page open(URI url) {
        String target = call("Target.createTarget", null, "url", "about:blank").path("targetId").asText();
        String session = call("Target.attachToTarget", null, "targetId", target, "flatten", true)
                .path("sessionId").asText();
        Page page = new Page(target, session);
        pages.put(session, page);
        call("Runtime.enable", session);
        call("Log.enable", session);
        call("Page.enable", session);
        CompletableFuture<JsonNode> loaded = page.next("Page.loadEventFired");
        JsonNode navigated = call("Page.navigate", session, "url", url.toString());
        if (navigated.hasNonNull("errorText")) {
            fail("Chromium could not open " + url + ": " + navigated.get("errorText").asText());
        }
        try {
            loaded.get(ANSWER.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            fail("no load event from " + url + " within " + ANSWER.toSeconds() + " s", e);
        }
        return page;
    }

    /** One tab; closing it stops its scripts (and their requests to the daemon). */
    public final class Page implements AutoCloseable {
        private final String target;
        private final String session;
        private final List<String> errors = new CopyOnWriteArrayList<>();
        private final Map<String, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();

        private Page(String target, String session) {
            this.target = target;
            this.session = session;
        }

        @Override
        public void close() {
            call("Target.closeTarget", null, "targetId", target);
            pages.remove(session);
        }

        /**
         * The value of {@code expression} (JSON-like: a string, number, boolean, null, array or object as a
         * {@link JsonNode}); promises are awaited. An exception thrown by it fails the test.
         */
        public JsonNode evaluate(String expression) {
            JsonNode r = call("Runtime.evaluate", session, "expression", expression, "returnByValue", true,
                    "awaitPromise", true);
            if (r.has("exceptionDetails")) {
                fail("JavaScript threw: " + describe(r.get("exceptionDetails")) + "\nin: " + expression);
            }
            return r.path("result").path("value");
        }

        /** {@code expression}'s value as text ({@code ""} for undefined or null). */
        public String text(String expression) {
            JsonNode v = evaluate(expression);
            return v.isMissingNode() || v.isNull() ? "" : v.asText();
        }

        /** What the page reported as an error so far: uncaught exceptions, console errors, the browser's errors. */
        public List<String> errors() {
            return List.copyOf(errors);
        }

        private CompletableFuture<JsonNode> next(String method) {
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            waiting.put(method, f);
            return f;
        }

        private void event(String method, JsonNode params) {
            switch (method) {
                case "Runtime.exceptionThrown" -> errors.add("exception: " + describe(params.path("exceptionDetails")));
                case "Runtime.consoleAPICalled" -> {
                    String type = params.path("type").asText();
                    if (type.equals("error") || type.equals("assert")) {
                        List<String> args = new ArrayList<>();
                        params.path("args").forEach(a -> args.add(a.has("value") ? a.get("value").asText()
                                : a.path("description").asText()));
                        errors.add("console." + type + ": " + String.join(" ", args));
                    }
                }
                case "Log.entryAdded" -> {
                    JsonNode entry = params.path("entry");
                    if (entry.path("level").asText().equals("error")) {
                        errors.add("log (" + entry.path("source").asText() + "): " + entry.path("text").asText()
                                + (entry.hasNonNull("url") ? " " + entry.get("url").asText() : ""));
                    }
                }
                default -> {
                }
            }
            CompletableFuture<JsonNode> f = waiting.remove(method);
            if (f != null) {
                f.complete(params);
            }
        }
    }

    private static String describe(JsonNode details) {
        JsonNode exception = details.path("exception");
        String text = exception.hasNonNull("description") ? exception.get("description").asText()
                : details.path("text").asText();
        String url = details.hasNonNull("url") ? ", " + details.get("url").asText() : "";
        return text + " (line " + details.path("lineNumber").asInt() + ", column "
                + details.path("columnNumber").asInt() + url + ")";
    }

    /** Sends {@code method} with {@code params} (name, value, ...) to the browser or a tab's session; its result. */
    private JsonNode call(String method, String session, Object... params) {
        long id = ids.incrementAndGet();
        ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
        if (session != null) {
            message.put("sessionId", session);
        }
        ObjectNode p = message.putObject("params");
        for (int i = 0; i + 1 < params.length; i += 2) {
            p.set((String) params[i], JSON.valueToTree(params[i + 1]));
        }
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        answers.put(id, answer);
        JsonNode reply;
        try {
            synchronized (socket) {
                // one message at a time: a WebSocket refuses a send while the previous one is under way
                socket.sendText(message.toString(), true).get(ANSWER.toSeconds(), TimeUnit.SECONDS);
            }
            reply = answer.get(ANSWER.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("no answer from Chromium to " + method + " within " + ANSWER.toSeconds()
                    + " s; alive=" + process.isAlive(), e);
        } finally {
            answers.remove(id);
        }
        if (reply.has("error")) {
            fail("Chromium refused " + method + ": " + reply.get("error"));
        }
        return reply.path("result");
    }

    /** Collects each message's frames, then hands the message to the call waiting for it, or to its tab. */
    private final class Listener implements WebSocket.Listener {
        private final StringBuilder message = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            message.append(data);
            if (last) {
                String text = message.toString();
                message.setLength(0);
                dispatch(text);
            }
            webSocket.request(1);
            return null;
        }

        private void dispatch(String text) {
            JsonNode m;
            try {
                m = JSON.readTree(text);
            } catch (IOException e) {
                return;
            }
            if (m.has("id")) {
                CompletableFuture<JsonNode> f = answers.get(m.get("id").asLong());
                if (f != null) {
                    f.complete(m);
                }
            } else if (m.has("sessionId")) {
                Page page = pages.get(m.get("sessionId").asText());
                if (page != null) {
                    page.event(m.path("method").asText(), m.path("params"));
                }
            }
        }
    }

    /** The tail of Chromium's stderr, for a failure message. */
    public String stderrText() {
        String all = read(stderr);
        return all.length() > 8000 ? "..." + all.substring(all.length() - 8000) : all;
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Ends the process it started and each of its children, by PID, and waits for them: at once (SIGKILL),
     * since nothing of the throw-away profile needs saving, and a graceful exit takes seconds.
     */
    @Override
    public void close() {
        socket.abort();
        kill(process, process.descendants().toList());
    }

    private static void kill(Process process, List<ProcessHandle> children) {
        process.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Poll.within(Duration.ofSeconds(10), () -> children.stream().allMatch(HeadlessBrowser::ended));
    }

    /**
     * Whether {@code p} has ended: gone, or a zombie. Its parent, the browser, is gone, so the zombie waits for
     * the init process to collect it, which in a container can take seconds; it runs nothing meanwhile.
     */
    private static boolean ended(ProcessHandle p) {
        if (!p.isAlive()) {
            return true;
        }
        String stat = read(Path.of("/proc", Long.toString(p.pid()), "stat"));
        int name = stat.lastIndexOf(')');
        return stat.isEmpty() || name > 0 && stat.startsWith(" Z", name + 1);
    }
}
