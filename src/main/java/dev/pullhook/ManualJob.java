package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.Config;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.WorkingCopy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code pullhook deploy} and {@code pullhook rollback}: one job for one site, now. When a daemon runs for
 * the working copy (it holds the state folder's lock), asks it with a signed {@code POST /pull-repo?wait=true}
 * or {@code /rollback?wait=true}, so the job queues behind any running deploy; otherwise runs it in this
 * process. Prints the outcome the same way either way; exit 0 when done, 1 otherwise.
 */
final class ManualJob {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What to do, where the daemon takes it, and the words for it. */
    enum Kind {
        DEPLOY("/pull-repo", "deploy", "deployed"),
        ROLLBACK("/rollback", "rollback", "rolled back");

        final String path;
        final String noun;
        final String done;

        Kind(String path, String noun, String done) {
            this.path = path;
            this.noun = noun;
            this.done = done;
        }
    }

    private ManualJob() {
    }

    static int run(Config config, SiteConfig site, Kind kind) {
        StateDir state;
        try {
            state = StateDir.open(site.deploy().stateDir());
        } catch (StateDir.AlreadyLocked e) {
            return viaDaemon(config, site, kind);
        } catch (IOException e) {
            System.err.println("pullhook: " + site.keyPrefix() + "state.dir: cannot use " + site.deploy().stateDir()
                    + " (" + e.getMessage() + ")");
            return Main.EXIT_CONFIG;
        }
        try (state; WorkingCopy workingCopy = new WorkingCopy(site.repoPath(), site.remote(), site.branch(),
                site.gitTimeout(), site.gitAuth(), site.git())) {
            DeployService deploys = new DeployService(workingCopy, site, state);
            try {
                DeployService.Ticket ticket = kind == Kind.DEPLOY ? deploys.submit("manual", null)
                        : deploys.submitRollback("rollback");
                Deployment d = ticket.done().get(site.deploy().timeout().toSeconds()
                        + site.deploy().commandTimeout().toSeconds() + 30, TimeUnit.SECONDS);
                if (d.outcome() == Deployment.Outcome.DEPLOYED) {
                    return done(kind, d.from(), d.to(), d.ms(), d.saved());
                }
                return failed(kind, d.error());
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                System.err.println("pullhook: " + kind.noun + " did not finish: " + e);
                return Main.EXIT_FAILED;
            } finally {
                deploys.shutdown(config.drainTimeout());
            }
        }
    }

    private static int done(Kind kind, String from, String to, long ms, String saved) {
        System.out.println(kind.done + ": " + (from == null ? "(nothing)" : from) + " -> " + to + " (" + ms + " ms)"
                + (saved == null ? "" : "; saved " + saved));
        return Main.EXIT_OK;
    }

    private static int failed(Kind kind, String error) {
        System.out.println(kind.noun + " failed: " + error);
        return Main.EXIT_FAILED;
    }

    private static int viaDaemon(Config config, SiteConfig site, Kind kind) {
        DaemonClient daemon = new DaemonClient(config);
        String path = kind.path + (site.name().isEmpty() ? "" : "/" + site.name()) + "?wait=true";
        URI uri = daemon.uri(path);
        try {
            HttpResponse<String> r = daemon.postSigned(path, site.secret());
            JsonNode body = parse(r.body());
            String status = body.path("status").asText("");
            switch (status) {
                case "deployed" -> {
                    return done(kind, text(body, "from"), text(body, "to"), body.path("ms").asLong(), text(body, "saved"));
                }
                case "failed", "cancelled" -> {
                    return failed(kind, body.path("error").asText(status));
                }
                case "queued" -> {
                    System.out.println(kind.noun + " " + body.path("id").asLong() + " is still running in the daemon"
                            + " after webhook.wait.timeout.seconds; see: pullhook status");
                    return Main.EXIT_FAILED;
                }
                default -> {
                    System.out.println(kind.noun + " refused by the daemon at " + uri + ": " + r.statusCode() + " "
                            + r.body().strip()
                            + (r.body().contains("signature") ? " (is this config's secret the daemon's?)" : ""));
                    return Main.EXIT_FAILED;
                }
            }
        } catch (ConnectException e) {
            System.err.println("pullhook: a daemon holds " + site.deploy().stateDir() + " but does not answer on " + uri);
            return Main.EXIT_FAILED;
        } catch (IOException e) {
            System.err.println("pullhook: cannot ask the daemon at " + uri + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILED;
        }
    }

    private static JsonNode parse(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        return n == null || n.isNull() ? null : n.asText();
    }
}
