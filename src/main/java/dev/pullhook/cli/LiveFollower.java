package dev.pullhook.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.deploy.DeployLog;

import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.stream.Stream;

/**
 * {@code --follow}: prints one job's live log as it comes, from the daemon ({@code GET /deploys/<id>/log} as
 * Server-Sent Events) or from a {@link DeployLog} of this process. pullhook's own lines are bracketed
 * ({@code [deploy 7] fetch}); the command's output is printed as it is, but for control characters (terminal
 * escapes are not the command's to send to this terminal), as {@code pullhook status} does. What the
 * outcome means is the caller's business: it gets the {@code end} event's JSON.
 */
final class LiveFollower {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String noun;
    private final long id;
    private final PrintStream out;

    LiveFollower(String noun, long id, PrintStream out) {
        this.noun = noun;
        this.id = id;
        this.out = out;
    }

    /**
     * Reads the daemon's event stream to its {@code end} and returns the outcome, or null when the stream
     * broke off first (cut, or the connection lost): the caller then finds the outcome another way.
     */
    JsonNode follow(HttpResponse<Stream<String>> stream) {
        String event = "message";
        StringBuilder data = new StringBuilder();
        try (Stream<String> lines = stream.body()) {
            Iterator<String> it = lines.iterator();
            while (it.hasNext()) {
                String line = it.next();
                if (line.isEmpty()) {
                    JsonNode end = event(event, data.toString());
                    if (end != null) {
                        return end;
                    }
                    event = "message";
                    data.setLength(0);
                } else if (line.startsWith("event:")) {
                    event = field(line, "event:");
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    data.append(field(line, "data:"));
                }
                // "id:" and ": keep-alive" comments need nothing
            }
        } catch (RuntimeException e) {
            // java.net.http reports a lost connection as an UncheckedIOException from the stream
            out.println(bracket("the stream broke off: " + e.getMessage()));
        }
        return null;
    }

    /** Follows a log of this process to its end; returns the outcome, or null when it was closed without one. */
    JsonNode follow(DeployLog log) throws InterruptedException {
        long from = 0;
        while (true) {
            DeployLog.Batch batch = log.read(from, 256, 1_000);
            if (batch.missed() > 0) {
                event("skipped", Long.toString(batch.missed()));
            }
            for (DeployLog.Event e : batch.events()) {
                JsonNode end = event(e.kind().word(), e.data());
                if (end != null) {
                    return end;
                }
                from = e.seq() + 1;
            }
            if (batch.finished()) {
                return null;
            }
        }
    }

    /** Prints one event; returns the outcome for {@code end}, else null. */
    private JsonNode event(String name, String data) {
        switch (name) {
            case "phase" -> out.println(bracket(data));
            case "output" -> out.println(printable(data));
            case "skipped" -> out.println(bracket("(" + data + " earlier lines are no longer kept)"));
            case "cut" -> out.println(bracket("stopped following: " + parse(data).path("reason").asText(data)));
            case "end" -> {
                return parse(data);
            }
            default -> {
                // an event this version does not know: nothing to print
            }
        }
        return null;
    }

    private String bracket(String text) {
        return "[" + noun + " " + id + "] " + printable(text);
    }

    private static String field(String line, String name) {
        String value = line.substring(name.length());
        return value.startsWith(" ") ? value.substring(1) : value;
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    /** Text without control characters other than tab. */
    static String printable(String text) {
        return text.replaceAll("[\\p{Cntrl}&&[^\t]]", "?");
    }
}
