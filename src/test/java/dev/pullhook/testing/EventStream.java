package dev.pullhook.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A Server-Sent Events reader, as a browser's {@code EventSource} reads them: {@code GET uri} with
 * {@code Accept: text/event-stream} on a thread of its own, each event recorded with the moment it arrived
 * ({@link System#nanoTime()}), and the comments counted. The test waits on events ({@link #await}), never on
 * time.
 */
public final class EventStream implements AutoCloseable {
    /** One event as it arrived. */
    public record Event(String name, String id, String data, long arrivedNanos) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Event> events = new ArrayList<>();
    private final Thread reader;
    private int status;
    private int comments;
    private boolean closed;
    private Throwable failure;
    private Stream<String> body;

    private EventStream(URI uri) {
        reader = new Thread(() -> read(uri), "test-event-stream");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts reading {@code uri}. */
    public static EventStream open(URI uri) {
        return new EventStream(uri);
    }

    private void read(URI uri) {
        try {
            HttpResponse<Stream<String>> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                    .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofLines());
            synchronized (this) {
                status = r.statusCode();
                body = r.body();
                notifyAll();
            }
            String name = "message";
            String id = null;
            StringBuilder data = new StringBuilder();
            Iterator<String> it = r.body().iterator();
            while (it.hasNext()) {
                String line = it.next();
                if (line.isEmpty()) {
                    if (!data.isEmpty() || !name.equals("message")) {
                        synchronized (this) {
                            events.add(new Event(name, id, data.toString(), System.nanoTime()));
                            notifyAll();
                        }
                    }
                    name = "message";
                    id = null;
                    data.setLength(0);
                } else if (line.startsWith(":")) {
                    synchronized (this) {
                        comments++;
                    }
                } else if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("data: ")) {
                    data.append(data.isEmpty() ? "" : "\n").append(line.substring(6));
                }
            }
        } catch (Exception e) {
            synchronized (this) {
                failure = e;
            }
        } finally {
            synchronized (this) {
                closed = true;
                notifyAll();
            }
        }
    }

    /** The answer's status code, once it came (waits for it). */
    public synchronized int status() throws InterruptedException {
        long deadline = System.nanoTime() + Poll.PATIENCE.toNanos();
        while (status == 0 && !closed) {
            waitUntil(deadline, "the answer's status");
        }
        return status;
    }

    /** Waits for the first event named {@code name} whose data matches; fails after {@link Poll#PATIENCE}. */
    public synchronized Event await(String name, Predicate<String> data) throws InterruptedException {
        long deadline = System.nanoTime() + Poll.PATIENCE.toNanos();
        while (true) {
            for (Event e : events) {
                if (e.name().equals(name) && data.test(e.data())) {
                    return e;
                }
            }
            if (closed) {
                fail("the stream ended without a \"" + name + "\" event as wanted; got " + events
                        + (failure == null ? "" : " (" + failure + ")"));
            }
            waitUntil(deadline, "a \"" + name + "\" event; got " + events);
        }
    }

    /** Waits until the server has closed the stream. */
    public synchronized void awaitClosed() throws InterruptedException {
        long deadline = System.nanoTime() + Poll.PATIENCE.toNanos();
        while (!closed) {
            waitUntil(deadline, "the end of the stream; got " + events);
        }
    }

    public synchronized List<Event> events() {
        return List.copyOf(events);
    }

    public synchronized int comments() {
        return comments;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    private void waitUntil(long deadline, String what) throws InterruptedException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            fail("still waiting after " + Poll.PATIENCE.toSeconds() + " s for " + what);
        }
        wait(Math.max(1, left / 1_000_000));
    }

    @Override
    public void close() {
        Stream<String> b;
        synchronized (this) {
            b = body;
        }
        if (b != null) {
            b.close();
        }
        reader.interrupt();
    }
}
