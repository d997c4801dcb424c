package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.WorkingCopy;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code pullhook rollback}: when a daemon runs for this working copy (it holds the state folder's lock),
 * asks it with a signed {@code POST /rollback?wait=true}, so the rollback queues behind any running deploy;
 * otherwise does the rollback in this process. Prints the outcome; exit 0 when rolled back, 1 otherwise.
 */
final class Rollback {
    private Rollback() {
    }

    static int run(Config config, String siteName) {
        SiteConfig site = config.site(siteName).orElse(null);
        if (site == null) {
            System.err.println("pullhook: no site \"" + siteName + "\" in the config");
            return Main.EXIT_CONFIG;
        }
        StateDir state;
        try {
            state = StateDir.open(site.deploy().stateDir());
        } catch (StateDir.AlreadyLocked e) {
            return viaDaemon(config, site);
        } catch (IOException e) {
            System.err.println("pullhook: " + site.keyPrefix() + "state.dir: cannot use " + site.deploy().stateDir()
                    + " (" + e.getMessage() + ")");
            return Main.EXIT_CONFIG;
        }
        try (state; WorkingCopy workingCopy = new WorkingCopy(site.repoPath(), site.remote(), site.branch(),
                site.gitTimeout(), site.gitAuth())) {
            DeployService deploys = new DeployService(workingCopy, site, state);
            try {
                Deployment d = deploys.submitRollback("rollback").done()
                        .get(site.deploy().timeout().toSeconds() + site.deploy().commandTimeout().toSeconds() + 30,
                                TimeUnit.SECONDS);
                return report(d);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                System.err.println("pullhook: rollback did not finish: " + e);
                return 1;
            } finally {
                deploys.shutdown(config.drainTimeout());
            }
        }
    }

    private static int report(Deployment d) {
        if (d.outcome() == Deployment.Outcome.DEPLOYED) {
            System.out.println("rolled back: " + d.from() + " -> " + d.to() + " (" + d.ms() + " ms)"
                    + (d.saved() == null ? "" : "; saved " + d.saved()));
            return 0;
        }
        System.out.println("rollback failed: " + d.error());
        return 1;
    }

    private static int viaDaemon(Config config, SiteConfig site) {
        String host = config.host().equals("0.0.0.0") ? "127.0.0.1" : config.host().equals("::") ? "::1" : config.host();
        URI uri = URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + config.port()
                + "/rollback" + (site.name().isEmpty() ? "" : "/" + site.name()) + "?wait=true");
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(site.secret().bytes(), "HmacSHA256"));
            String signature = "sha256=" + HexFormat.of().formatHex(mac.doFinal(new byte[0]));
            HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build().send(
                    HttpRequest.newBuilder(uri).timeout(config.waitTimeout().plusSeconds(10))
                            .header("X-Hub-Signature-256", signature)
                            .POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            System.out.println(r.body());
            return r.statusCode() == 200 ? 0 : 1;
        } catch (ConnectException e) {
            System.err.println("pullhook: a daemon holds " + site.deploy().stateDir() + " but does not answer on " + uri);
            return 1;
        } catch (IOException | java.security.GeneralSecurityException e) {
            System.err.println("pullhook: cannot ask the daemon at " + uri + ": " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }
}
