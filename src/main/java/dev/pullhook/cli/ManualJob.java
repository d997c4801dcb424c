package dev.pullhook.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.Site;
import dev.pullhook.config.Config;
import dev.pullhook.config.FileAccess;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.DeploymentView;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.deploy.Trigger;
import dev.pullhook.http.JobAnswer;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code pullhook deploy} and {@code pullhook rollback}: one job for one site, now. When a daemon runs for
 * the working copy (it holds the state folder's lock), asks it with a signed {@code POST /pull-repo?wait=true}
 * or {@code /rollback?wait=true}, so the job queues behind any running deploy and the daemon stays the only
 * writer; otherwise runs it in this process, holding the lock itself. Prints the outcome the same way either
 * way ("up to date" when a deploy found the branch where HEAD already was); exit 0 when done, 1 otherwise.
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

    /** @param follow print the job's live log while it runs ({@code --follow}) */
    static int run(Config config, SiteConfig site, Kind kind, boolean follow) {
        Path dir = site.deploy().stateDir();
        try {
            if (StateDir.probe(dir) == StateDir.Holder.DAEMON) {
                return follow ? followViaDaemon(config, site, kind) : viaDaemon(config, site, kind);
            }
        } catch (IOException e) {
            System.err.println("pullhook: " + site.keyPrefix() + "state.dir: cannot tell whether the daemon runs: "
                    + dir.resolve("lock") + ": " + FileAccess.explain(dir.resolve("lock"), FileAccess.Need.WRITE, e)
                    + "; run this as root or as the user the daemon runs as");
            return Cli.EXIT_CONFIG;
        }
        String trespass = rootInOthersWorkingCopy(site.repoPath());
        if (trespass != null) {
            System.err.println("pullhook: no daemon runs for " + site.repoPath() + ", and a " + kind.noun
                    + " in this process as root would leave files owned by root in a working copy that belongs to "
                    + trespass + ". Start the daemon (systemctl start pullhook) and run this again, or run it as "
                    + trespass + ": runuser -u " + trespass + " -- pullhook " + kind.noun + " ...");
            return Cli.EXIT_CONFIG;
        }
        StateDir state;
        try {
            state = StateDir.open(dir);
        } catch (StateDir.AlreadyLocked e) {
            return follow ? followViaDaemon(config, site, kind) : viaDaemon(config, site, kind);
        } catch (IOException e) {
            System.err.println("pullhook: " + site.keyPrefix() + "state.dir: " + StateDir.problem(dir, e));
            return Cli.EXIT_CONFIG;
        }
        return inThisProcess(config, site, kind, follow, state);
    }

    /** No daemon holds the state folder, {@code state}: the job runs here, and {@code state} is closed after. */
    private static int inThisProcess(Config config, SiteConfig site, Kind kind, boolean follow, StateDir state) {
        try (state; Site local = Site.open(site, state, false)) {
            DeployService deploys = local.deploys();
            try {
                DeployService.Ticket ticket = kind == Kind.DEPLOY ? deploys.submit(Trigger.MANUAL, null)
                        : deploys.submitRollback();
                if (follow) {
                    var log = deploys.live().get(ticket.deployId());
                    if (log.isPresent()) {
                        new LiveFollower(kind.noun, ticket.deployId(), System.out).follow(log.get());
                    }
                }
                Deployment d = ticket.done().get(site.deploy().timeout().toSeconds()
                        + site.deploy().commandTimeout().toSeconds() + 30, TimeUnit.SECONDS);
                if (d.outcome() == Deployment.Outcome.DEPLOYED) {
                    return done(kind, site, d.from(), d.to(), d.ms(), d.saved());
                }
                return failed(kind, d.error());
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                System.err.println("pullhook: " + kind.noun + " did not finish: " + e);
                return Cli.EXIT_FAILED;
            } finally {
                deploys.shutdown(config.drainTimeout());
            }
        }
    }

    private static int done(Kind kind, SiteConfig site, String from, String to, long ms, String saved) {
        String tail = " (" + ms + " ms)" + (saved == null ? "" : "; saved " + saved);
        if (kind == Kind.DEPLOY && to != null && to.equals(from)) {
            System.out.println("up to date: " + to + " is already the tip of " + site.remote() + "/" + site.branch()
                    + ", nothing moved" + tail);
        } else {
            System.out.println(kind.done + ": " + (from == null ? "(nothing)" : from) + " -> " + to + tail);
        }
        return Cli.EXIT_OK;
    }

    /**
     * The owner of {@code workingCopy} when this process runs as root and root does not own it (what it
     * writes would then belong to root, and the daemon, running as the owner, could not change it any more);
     * null otherwise.
     */
    static String rootInOthersWorkingCopy(Path workingCopy) {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (!Integer.valueOf(0).equals(uid)) {
                return null;
            }
            String owner = Files.getOwner(workingCopy).getName();
            return owner.equals("root") ? null : owner;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;  // not Linux: nothing to tell
        }
    }

    private static int failed(Kind kind, String error) {
        System.out.println(kind.noun + " failed: " + error);
        return Cli.EXIT_FAILED;
    }

    private static int viaDaemon(Config config, SiteConfig site, Kind kind) {
        DaemonClient daemon = new DaemonClient(config);
        String path = kind.path + (site.name().isEmpty() ? "" : "/" + site.name()) + "?wait=true";
        URI uri = daemon.uri(path);
        try {
            HttpResponse<String> r = daemon.postSigned(path, site.secret());
            JobAnswer answer = answer(r.body());
            if (answer instanceof JobAnswer.Deployed d) {
                return done(kind, site, d.from(), d.to(), d.ms(), d.saved());
            }
            if (answer instanceof JobAnswer.Failed f) {
                return failed(kind, f.error() == null ? f.status() : f.error());
            }
            if (answer instanceof JobAnswer.Cancelled c) {
                return failed(kind, c.error() == null ? c.status() : c.error());
            }
            if (answer instanceof JobAnswer.Queued q) {
                System.out.println(kind.noun + " " + q.id() + " is still running in the daemon"
                        + " after webhook.wait.timeout.seconds; see: pullhook status");
                return Cli.EXIT_FAILED;
            }
            return refused(kind, uri, r);
        } catch (IOException e) {
            return unreachable(site, uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Cli.EXIT_FAILED;
        }
    }

    /**
     * {@code --follow} through the daemon: queues the job without waiting ({@code 202 {"id":N}}), prints
     * {@code GET /deploys/<id>/log} as it comes, and takes the outcome from its {@code end} event; when the
     * stream is refused or breaks off, from {@code /status} once the job is in the history.
     */
    private static int followViaDaemon(Config config, SiteConfig site, Kind kind) {
        DaemonClient daemon = new DaemonClient(config);
        String sitePath = site.name().isEmpty() ? "" : "/" + site.name();
        URI uri = daemon.uri(kind.path + sitePath);
        try {
            HttpResponse<String> r = daemon.postSigned(kind.path + sitePath, site.secret());
            if (r.statusCode() != 202 || !(answer(r.body()) instanceof JobAnswer.Queued queued)) {
                return refused(kind, uri, r);
            }
            long id = queued.id();
            LiveFollower follower = new LiveFollower(kind.noun, id, System.out);
            String logPath = "/deploys" + sitePath + "/" + id + "/log";
            HttpResponse<java.util.stream.Stream<String>> stream = daemon.events(logPath);
            JsonNode end = null;
            if (stream.statusCode() == 200) {
                end = follower.follow(stream);
            } else {
                try (var body = stream.body()) {
                    System.err.println("pullhook: cannot follow " + kind.noun + " " + id + " (" + daemon.uri(logPath)
                            + " answered " + stream.statusCode() + " " + LiveFollower.printable(
                            String.join(" ", body.toList()).strip()) + "); waiting for it to end");
                }
            }
            DeploymentView d = end != null ? JSON.treeToValue(end, DeploymentView.class)
                    : daemon.awaitDeploy(site.name(), id, site.deploy().timeout().plus(site.deploy().commandTimeout())
                    .plusSeconds(30));
            if (d == null) {
                System.out.println(kind.noun + " " + id + " is still running in the daemon; see: pullhook status");
                return Cli.EXIT_FAILED;
            }
            if (d.outcomeValue() == Deployment.Outcome.DEPLOYED) {
                return done(kind, site, d.from(), d.to(), d.ms(), d.saved());
            }
            return failed(kind, d.error() != null ? d.error() : d.outcome() != null ? d.outcome() : "failed");
        } catch (IOException e) {
            return unreachable(site, uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Cli.EXIT_FAILED;
        }
    }

    /** The daemon answered, but did not take the job: says so with its answer. */
    private static int refused(Kind kind, URI uri, HttpResponse<String> r) {
        System.out.println(kind.noun + " refused by the daemon at " + uri + ": " + r.statusCode() + " "
                + r.body().strip()
                + (r.body().contains("signature") ? " (is this config's secret the daemon's?)" : ""));
        return Cli.EXIT_FAILED;
    }

    /** The daemon that holds the state folder could not be asked. */
    private static int unreachable(SiteConfig site, URI uri, IOException e) {
        if (e instanceof ConnectException) {
            System.err.println("pullhook: a daemon holds " + site.deploy().stateDir() + " but does not answer on " + uri);
        } else {
            System.err.println("pullhook: cannot ask the daemon at " + uri + ": " + e.getMessage());
        }
        return Cli.EXIT_FAILED;
    }

    /** The daemon's answer to an accepted job, or null for any other (or no JSON at all). */
    private static JobAnswer answer(String body) {
        try {
            return JSON.readValue(body, JobAnswer.class);
        } catch (IOException e) {
            return null;
        }
    }
}
