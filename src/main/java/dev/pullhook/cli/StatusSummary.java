package dev.pullhook.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.Config;
import dev.pullhook.config.SiteConfig;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * {@code pullhook status}: asks the running daemon ({@code GET /status}) and prints a summary a person can
 * read: per site the branch, HEAD, the queue and the last deploys. Exit 0 when the daemon answered, 1 when
 * none does.
 */
final class StatusSummary {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DEPLOYS_SHOWN = 5;

    private StatusSummary() {
    }

    static int run(Config config, List<SiteConfig> sites) {
        DaemonClient daemon = new DaemonClient(config);
        JsonNode status;
        try {
            HttpResponse<String> r = daemon.getJson("/status");
            if (r.statusCode() != 200) {
                System.err.println("pullhook: " + daemon.uri("/status") + " answered " + r.statusCode());
                return Cli.EXIT_FAILED;
            }
            status = JSON.readTree(r.body());
        } catch (IOException e) {
            System.err.println("pullhook: no daemon answers on " + daemon.uri("/status") + " (is it running? "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
            return Cli.EXIT_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Cli.EXIT_FAILED;
        }
        List<String> wanted = sites.stream().map(SiteConfig::name).toList();
        for (JsonNode site : status.path("sites")) {
            if (wanted.contains(site.path("name").asText())) {
                print(site);
            }
        }
        return Cli.EXIT_OK;
    }

    private static void print(JsonNode site) {
        String name = site.path("name").asText();
        System.out.println("site " + (name.isEmpty() ? "default" : name) + " (POST " + site.path("path").asText() + ")");
        System.out.println(printable("  branch  " + site.path("remote").asText() + "/" + site.path("branch").asText()));
        System.out.println("  HEAD    " + (site.path("head").isNull() ? "(none)" : site.path("head").asText()));
        System.out.println("  queue   " + site.path("state").asText());
        JsonNode deploys = site.path("deploys");
        if (deploys.isEmpty()) {
            System.out.println("  deploys none yet");
            return;
        }
        System.out.println("  deploys (newest first)");
        for (int i = 0; i < Math.min(DEPLOYS_SHOWN, deploys.size()); i++) {
            JsonNode d = deploys.get(i);
            String line = String.format("    #%-4d %-9s %6d ms  %s  %-8s %s -> %s", d.path("id").asLong(),
                    d.path("outcome").asText(), d.path("ms").asLong(), started(d.path("started").asText()),
                    d.path("trigger").asText(), abbrev(d.path("from")), abbrev(d.path("to")));
            System.out.println(printable(line + (d.path("error").isNull() ? "" : "  error: " + d.path("error").asText())));
        }
    }

    /** The daemon's text without control characters: a deploy error quotes command output, which is not ours. */
    private static String printable(String text) {
        return text.replaceAll("\\p{Cntrl}", "?");
    }

    private static String started(String instant) {
        try {
            return Instant.parse(instant).truncatedTo(ChronoUnit.SECONDS).toString();
        } catch (DateTimeParseException e) {
            return instant;
        }
    }

    private static String abbrev(JsonNode commit) {
        if (commit.isNull() || commit.isMissingNode()) {
            return "-";
        }
        String c = commit.asText();
        return c.substring(0, Math.min(7, c.length()));
    }
}
