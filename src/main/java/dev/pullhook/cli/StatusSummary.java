package dev.pullhook.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.Config;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeploymentView;
import dev.pullhook.http.SiteStatus;

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
        SiteStatus.All status;
        try {
            HttpResponse<String> r = daemon.getJson("/status");
            if (r.statusCode() != 200) {
                System.err.println("pullhook: " + daemon.uri("/status") + " answered " + r.statusCode());
                return Cli.EXIT_FAILED;
            }
            status = JSON.readValue(r.body(), SiteStatus.All.class);
        } catch (IOException e) {
            System.err.println("pullhook: no daemon answers on " + daemon.uri("/status") + " (is it running? "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
            return Cli.EXIT_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Cli.EXIT_FAILED;
        }
        List<String> wanted = sites.stream().map(SiteConfig::name).toList();
        for (SiteStatus site : status.sites() == null ? List.<SiteStatus>of() : status.sites()) {
            if (wanted.contains(text(site.name()))) {
                print(site);
            }
        }
        return Cli.EXIT_OK;
    }

    private static void print(SiteStatus site) {
        String name = text(site.name());
        System.out.println("site " + (name.isEmpty() ? "default" : name) + " (POST " + text(site.path()) + ")");
        System.out.println(printable("  branch  " + text(site.remote()) + "/" + text(site.branch())));
        System.out.println("  HEAD    " + (site.head() == null ? "(none)" : site.head()));
        System.out.println("  queue   " + text(site.state()));
        List<DeploymentView> deploys = site.deploys() == null ? List.of() : site.deploys();
        if (deploys.isEmpty()) {
            System.out.println("  deploys none yet");
            return;
        }
        System.out.println("  deploys (newest first)");
        for (int i = 0; i < Math.min(DEPLOYS_SHOWN, deploys.size()); i++) {
            DeploymentView d = deploys.get(i);
            String line = String.format("    #%-4d %-9s %6d ms  %s  %-8s %s -> %s", d.id(), text(d.outcome()), d.ms(),
                    started(text(d.started())), text(d.trigger()), abbrev(d.from()), abbrev(d.to()));
            System.out.println(printable(line + (d.error() == null ? "" : "  error: " + d.error())));
        }
    }

    /** A field the daemon left out reads as empty, as it always has. */
    private static String text(String value) {
        return value == null ? "" : value;
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

    private static String abbrev(String commit) {
        if (commit == null) {
            return "-";
        }
        return commit.substring(0, Math.min(7, commit.length()));
    }
}
