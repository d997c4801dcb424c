package dev.pullhook;

import dev.pullhook.testing.Ports;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line, end to end: {@code Main.run} with real config files, real repositories and, where a
 * command asks one, a real running daemon in the same JVM (which then holds the state folder's lock, as a
 * daemon in another process would). Asserts the exit status and what a person reads.
 */
class CommandLineIT {
    @TempDir
    Path dir;
    private TestRepos repos;
    private Path secretFile;

    /** What one run printed and returned. */
    private record Run(int status, String out, String err) {
        String all() {
            return out + err;
        }
    }

    @BeforeEach
    void createRepositories() throws IOException {
        repos = TestRepos.create(dir.resolve("repos"));
        secretFile = Files.writeString(dir.resolve("webhook-secret"), SECRET + "\n");
        Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
    }

    /** Main.run with System.out (where the log also goes) and System.err captured. */
    private static synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream outBuffer = new ByteArrayOutputStream();
        ByteArrayOutputStream errBuffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(outBuffer, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(errBuffer, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Main.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        Run r = new Run(status, outBuffer.toString(StandardCharsets.UTF_8), errBuffer.toString(StandardCharsets.UTF_8));
        out.print(r.out());
        err.print(r.err());
        assertFalse(r.all().contains(SECRET), "the secret is never printed");
        return r;
    }

    /** A one-site config file of a real install, on {@code port}, plus {@code extra} lines. */
    private Path config(int port, String... extra) throws IOException {
        StringBuilder text = new StringBuilder("repo.path = " + repos.site + "\nwebhook.secret.file = " + secretFile
                + "\nserver.port = " + port + "\ndeploy.on.start = false\n");
        for (String line : extra) {
            text.append(line).append('\n');
        }
        return Files.writeString(dir.resolve("config-" + port + "-" + extra.length + ".properties"), text.toString());
    }
    // ---- check -----------------------------------------------------------------------------------------

    @Test
    void checkOfAGoodConfigPrintsTheTipAndHeadAndChangesNothing() throws Exception {
        Path config = config(0);
        Run upToDate = run("check", "--config", config.toString());
        assertEquals(0, upToDate.status(), upToDate::all);
        ObjectId head = repos.siteHead();
        assertTrue(upToDate.out().contains("HEAD    " + head.name()), upToDate::out);
        assertTrue(upToDate.out().contains("origin/main is at " + head.name()), upToDate::out);
        assertTrue(upToDate.out().contains("would change nothing"), upToDate::out);
        assertTrue(upToDate.out().contains("check passed: 1 site"), upToDate::out);

        ObjectId pushed = repos.pushNewCommit();
        Run behind = run("check", "--config", config.toString());
        assertEquals(0, behind.status(), behind::all);
        assertTrue(behind.out().contains("origin/main is at " + pushed.name()), behind::out);
        assertTrue(behind.out().contains("would move HEAD " + head.name().substring(0, 7) + " -> "
                + pushed.name().substring(0, 7)), behind::out);
        assertEquals(head, repos.siteHead(), "check deploys nothing");
    }

    @Test
    void checkWithAnUnreachableRemoteExits1() throws Exception {
        int closed = Ports.free();
        repos.setSiteRemoteUrl("git://127.0.0.1:" + closed + "/origin.git");
        Run r = run("check", "--config", config(0).toString());
        assertEquals(1, r.status(), r::all);
        assertTrue(r.out().contains("FAILED: ls-remote of origin failed"), r::out);
        assertTrue(r.out().contains("check failed"), r::out);
    }

    @Test
    void checkOfABadConfigExits2NamingTheKeys() throws Exception {
        Run unknownKey = run("check", "--config", config(0, "deploy.comand = make").toString());
        assertEquals(2, unknownKey.status(), unknownKey::all);
        assertTrue(unknownKey.out().contains("config deploy.comand: unknown key"), unknownKey::out);

        Run badSite = run("check", "--config", config(0, "sites = Blog").toString());
        assertEquals(2, badSite.status(), badSite::all);
        assertTrue(badSite.out().contains("config sites: \"Blog\" is not a simple word"), badSite::out);
    }

    @Test
    void checkLooksAtEverySiteOrTheOneNamed() throws Exception {
        TestRepos other = TestRepos.create(dir.resolve("other"));
        try {
            other.setSiteRemoteUrl("git://127.0.0.1:" + Ports.free() + "/origin.git");
            Path config = config(0, "sites = shop", "site.shop.repo.path = " + other.site,
                    "site.shop.webhook.secret.file = " + secretFile);
            Run all = run("check", "--config", config.toString());
            assertEquals(1, all.status(), "the shop's remote is unreachable: " + all.all());
            assertTrue(all.out().contains("site default (POST /pull-repo)"), all::out);
            assertTrue(all.out().contains("site shop (POST /pull-repo/shop)"), all::out);

            Run unnamed = run("check", "--config", config.toString(), "--site", "default");
            assertEquals(0, unnamed.status(), unnamed::all);
            assertFalse(unnamed.out().contains("site shop"), unnamed::out);

            Run shop = run("check", "--site", "shop", "--config", config.toString());
            assertEquals(1, shop.status(), shop::all);
            assertFalse(shop.out().contains("site default"), shop::out);

            Run nosuch = run("check", "--config", config.toString(), "--site", "nosuch");
            assertEquals(2, nosuch.status(), nosuch::all);
            assertTrue(nosuch.err().contains("no site \"nosuch\" in the config (sites: default, shop)"), nosuch::err);
        } finally {
            other.close();
        }
    }

    // ---- deploy, rollback, status ----------------------------------------------------------------------

    @Test
    void deployWithoutARunningDaemonDeploysInProcess() throws Exception {
        ObjectId before = repos.siteHead();
        ObjectId pushed = repos.pushNewCommit();
        Run r = run("deploy", "--config", config(0).toString());
        assertEquals(0, r.status(), r::all);
        assertTrue(r.out().contains("deployed: " + before.name() + " -> " + pushed.name()), r::out);
        assertEquals(pushed, repos.siteHead());

        repos.setSiteRemoteUrl(dir.resolve("gone.git").toUri().toString());
        repos.pushNewCommit();
        Run failed = run("deploy", "--config", config(0).toString());
        assertEquals(1, failed.status(), failed::all);
        assertTrue(failed.out().contains("deploy failed: fetch from origin failed"), failed::out);
        assertEquals(pushed, repos.siteHead());
    }

    @Test
    void deployRollbackAndStatusAskTheRunningDaemon() throws Exception {
        Daemon daemon = Daemon.start(new ConfigLoader(Map.of(), w -> { }).load(config(0)));
        try {
            Path cli = config(daemon.port());
            ObjectId a = repos.siteHead();
            ObjectId b = repos.pushNewCommit();

            Run deployed = run("deploy", "--config", cli.toString());
            assertEquals(0, deployed.status(), deployed::all);
            assertTrue(deployed.out().contains("deployed: " + a.name() + " -> " + b.name()), deployed::out);
            assertEquals(b, repos.siteHead());
            String status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + daemon.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertEquals("manual", new ObjectMapper().readTree(status).get("deploys").get(0).get("trigger").asText(),
                    "the daemon did the deploy: " + status);

            Run rolledBack = run("rollback", "--config", cli.toString());
            assertEquals(0, rolledBack.status(), rolledBack::all);
            assertTrue(rolledBack.out().contains("rolled back: " + b.name() + " -> " + a.name()), rolledBack::out);
            assertEquals(a, repos.siteHead());

            Run shown = run("status", "--config", cli.toString());
            assertEquals(0, shown.status(), shown::all);
            assertTrue(shown.out().contains("site default (POST /pull-repo)"), shown::out);
            assertTrue(shown.out().contains("HEAD    " + a.name()), shown::out);
            assertTrue(shown.out().contains("queue   idle"), shown::out);
            assertTrue(shown.out().matches("(?s).*#2 +deployed .* rollback +" + b.name().substring(0, 7) + " -> "
                    + a.name().substring(0, 7) + ".*"), shown::out);
            assertTrue(shown.out().matches("(?s).*#1 +deployed .* manual +" + a.name().substring(0, 7) + " -> "
                    + b.name().substring(0, 7) + ".*"), shown::out);
        } finally {
            daemon.stop();
        }
    }

    @Test
    void statusWithoutARunningDaemonExits1() throws Exception {
        Run r = run("status", "--config", config(Ports.free()).toString());
        assertEquals(1, r.status(), r::all);
        assertTrue(r.err().contains("no daemon answers on http://127.0.0.1:"), r::err);
    }

    // ---- arguments -------------------------------------------------------------------------------------

    @Test
    void everyCommandExplainsItselfWithHelp() {
        for (String command : new String[]{"serve", "check", "deploy", "rollback", "status"}) {
            Run r = run(command, "--help");
            assertEquals(0, r.status(), r::all);
            assertTrue(r.out().startsWith("usage: java -jar pullhook.jar " + (command.equals("serve") ? "[serve]" : command)),
                    r::out);
            assertTrue(r.out().contains("Exit status:"), r::out);
        }
        Run overview = run("--help");
        assertEquals(0, overview.status());
        for (String command : new String[]{"serve", "check", "deploy", "rollback", "status"}) {
            assertTrue(overview.out().contains("\n  " + command + " "), overview::out);
        }
    }

    @Test
    void wrongCommandLinesExit2WithoutEchoingValues() throws Exception {
        Run unknown = run("deplyo", "--config", "x");
        assertEquals(2, unknown.status());
        assertFalse(unknown.err().contains("deplyo"), unknown::err);
        assertEquals(2, run("check", "--demo").status());
        assertEquals(2, run("serve", "--site", "a").status());
        assertEquals(2, run("--config", "x", "deploy").status(), "the command comes first");
        Run noSite = run("deploy", "--config", config(0).toString(), "--site", "nosuch");
        assertEquals(2, noSite.status(), noSite::all);
        assertNotEquals(-1, noSite.err().indexOf("no site \"nosuch\""), noSite::err);
    }
}
