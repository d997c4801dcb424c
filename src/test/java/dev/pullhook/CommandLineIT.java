package dev.pullhook;

import dev.pullhook.testing.Ports;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.cli.Cli;
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
import java.util.List;
import java.util.Map;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The command line, end to end: {@link Cli#run} with real config files, real repositories and, where a
 * command asks one, a real running daemon in the same JVM (which then holds the state folder's lock, as a
 * daemon in another process would). The environment is empty and the install (default config, the unit's
 * secret file) lies in the test's folder: never the machine's. Asserts the exit status and what a person reads.
 */
class CommandLineIT {
    @TempDir
    Path dir;
    private TestRepos repos;
    private Path secretFile;
    private Cli.Install install;

    /** What one run printed and returned. */
    private record Run(int status, String out, String err) {
        String all() {
            return out + err;
        }
    }

    @BeforeEach
    void createRepositories() throws IOException {
        install = new Cli.Install(dir.resolve("etc/pullhook/config.properties"),
                Map.of("webhook-secret", dir.resolve("etc/pullhook/secret")));
        repos = TestRepos.create(dir.resolve("repos"));
        secretFile = Files.writeString(dir.resolve("webhook-secret"), SECRET + "\n");
        Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
    }

    /** Cli.run with System.out (where the log also goes) and System.err captured. */
    private synchronized Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream outBuffer = new ByteArrayOutputStream();
        ByteArrayOutputStream errBuffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(outBuffer, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(errBuffer, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Cli.run(args, Map.of(), install);
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
        assertTrue(unknownKey.err().contains("pullhook: config deploy.comand: unknown key (line 5); did you mean"
                + " deploy.command?"), unknownKey::err);

        Run badSite = run("check", "--config", config(0, "sites = Blog").toString());
        assertEquals(2, badSite.status(), badSite::all);
        assertTrue(badSite.err().contains("pullhook: config sites: \"Blog\" is not a simple word"), badSite::err);
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

    /** What a person reads: the printed lines without the log lines of the daemon in this JVM. */
    private static List<String> printed(Run r) {
        return r.out().lines().filter(l -> !l.matches("(\\S+ )?\\[[^\\]]*\\] \\[(TRACE|DEBUG|INFO|WARN|ERROR)\\] .*"))
                .toList();
    }

    @Test
    void deployFollowPrintsTheJobAsItRunsInProcessOrThroughTheDaemonOfANamedSite() throws Exception {
        ObjectId before = repos.siteHead();
        ObjectId pushed = repos.pushNewCommit();
        Run inProcess = run("deploy", "--follow", "--config", config(0, "deploy.command = echo built here").toString());
        assertEquals(0, inProcess.status(), inProcess::all);
        assertEquals(List.of("[deploy 1] queued", "[deploy 1] lock", "[deploy 1] fetch", "[deploy 1] local-changes",
                "[deploy 1] reset", "[deploy 1] command", "built here"), printed(inProcess).subList(0, 7));
        assertTrue(printed(inProcess).get(7).startsWith("deployed: " + before.name() + " -> " + pushed.name()),
                inProcess::out);

        TestRepos shop = TestRepos.create(dir.resolve("shop"));
        try {
            Path config = config(0, "sites = shop", "site.shop.repo.path = " + shop.site,
                    "site.shop.webhook.secret.file = " + secretFile, "site.shop.deploy.command = echo shop built");
            Daemon daemon = Daemon.start(new ConfigLoader(Map.of(), w -> { }).load(config));
            try {
                Path cli = config(daemon.port(), "sites = shop", "site.shop.repo.path = " + shop.site,
                        "site.shop.webhook.secret.file = " + secretFile, "site.shop.deploy.command = echo shop built");
                ObjectId a = shop.siteHead();
                ObjectId b = shop.pushNewCommit();
                Run deployed = run("deploy", "--follow", "--site", "shop", "--config", cli.toString());
                assertEquals(0, deployed.status(), deployed::all);
                List<String> lines = printed(deployed);
                assertTrue(lines.contains("[deploy 1] fetch"), deployed::out);
                assertEquals(List.of("[deploy 1] command", "shop built", "deployed: " + a.name() + " -> " + b.name()),
                        List.of(lines.get(lines.size() - 3), lines.get(lines.size() - 2),
                                lines.get(lines.size() - 1).replaceAll(" \\(.*", "")), deployed::out);

                Run rolledBack = run("rollback", "--follow", "--site", "shop", "--config", cli.toString());
                assertEquals(0, rolledBack.status(), rolledBack::all);
                lines = printed(rolledBack);
                assertEquals("[rollback 2] queued", lines.get(0), rolledBack::out);
                assertTrue(lines.contains("[rollback 2] command") && lines.contains("shop built"), rolledBack::out);
                assertTrue(lines.get(lines.size() - 1).startsWith("rolled back: " + b.name() + " -> " + a.name()),
                        rolledBack::out);
                assertEquals(a, shop.siteHead());
            } finally {
                daemon.stop();
            }
        } finally {
            shop.close();
        }
    }

    @Test
    void statusWithoutARunningDaemonExits1() throws Exception {
        Run r = run("status", "--config", config(Ports.free()).toString());
        assertEquals(1, r.status(), r::all);
        assertTrue(r.err().contains("no daemon answers on http://127.0.0.1:"), r::err);
    }

    @Test
    void aDeployWithNothingNewSaysUpToDate() throws Exception {
        ObjectId head = repos.siteHead();
        Run r = run("deploy", "--config", config(0).toString());
        assertEquals(0, r.status(), r::all);
        assertTrue(r.out().contains("up to date: " + head.name() + " is already the tip of origin/main, nothing moved"),
                r::out);
        assertFalse(r.out().contains("deployed:"), r::out);
    }

    @Test
    void checkWritesNothingInTheStateFolder() throws Exception {
        // run as root before the daemon's first start, a check used to create state.dir/lock owned by root,
        // which the daemon (user pullhook) then could not open: it refused to start
        Path state = Files.createDirectories(dir.resolve("state"));
        Run r = run("check", "--config", config(0, "state.dir = " + state).toString());
        assertEquals(0, r.status(), r::all);
        assertTrue(r.out().contains("state   " + state + " (not used yet"), r::out);
        try (var files = Files.list(state)) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void rootDoesNotDeployInProcessIntoAWorkingCopyOfAnotherUser() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "runs as root only");
        ObjectId head = repos.siteHead();
        repos.pushNewCommit();
        var nobody = repos.site.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        Files.setOwner(repos.site, nobody);
        Run r = run("deploy", "--config", config(0).toString());
        assertEquals(2, r.status(), r::all);
        assertTrue(r.err().contains("belongs to nobody"), r::err);
        assertTrue(r.err().contains("systemctl start pullhook"), r::err);
        assertTrue(r.err().contains("runuser -u nobody -- pullhook deploy"), r::err);
        assertEquals(head, repos.siteHead());
    }

    // ---- the installed layout: default config, the secret where the unit loads it from ------------------

    @Test
    void withoutAConfigFileItSaysWhereItLookedAndWhatToDo() {
        Run r = run("check");
        assertEquals(2, r.status(), r::all);
        assertTrue(r.err().contains("no config file " + install.configFile()), r::err);
        assertTrue(r.err().contains("--config FILE"), r::err);
        assertTrue(r.err().contains("pullhook demo"), r::err);
    }

    @Test
    void afterTheInstallTheCommandsFindTheConfigAndTheSecretTheUnitGivesTheDaemon() throws Exception {
        // the package's layout: the config without any secret key, the secret in the file the unit's
        // LoadCredential=webhook-secret names; the daemon gets it as $CREDENTIALS_DIRECTORY/webhook-secret
        Path installed = install.credentials().get("webhook-secret");
        Files.createDirectories(installed.getParent());
        Files.writeString(installed, SECRET + "\n");
        Path credentials = Files.createDirectories(dir.resolve("run/credentials/pullhook.service"));
        Files.copy(installed, credentials.resolve("webhook-secret"));
        Files.writeString(install.configFile(), "repo.path = " + repos.site + "\nserver.port = 0\n"
                + "deploy.on.start = false\n");
        Daemon daemon = Daemon.start(new ConfigLoader(Map.of("CREDENTIALS_DIRECTORY", credentials.toString()), w -> { })
                .load(install.configFile()));
        try {
            Files.writeString(install.configFile(), "repo.path = " + repos.site + "\nserver.port = " + daemon.port()
                    + "\n");
            ObjectId a = repos.siteHead();
            ObjectId b = repos.pushNewCommit();

            Run deployed = run("deploy");
            assertEquals(0, deployed.status(), deployed::all);
            assertTrue(deployed.out().contains("deployed: " + a.name() + " -> " + b.name()), deployed::out);
            Run again = run("deploy");
            assertEquals(0, again.status(), again::all);
            assertTrue(again.out().contains("up to date: " + b.name()), again::out);
            String status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + daemon.port() + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            var deploys = new ObjectMapper().readTree(status).get("deploys");
            assertEquals("manual", deploys.get(0).get("trigger").asText(), "the daemon did both: " + status);
            assertEquals(2, deploys.size(), status);

            Files.delete(installed);
            Run shown = run("status");
            assertEquals(0, shown.status(), "status needs no secret: " + shown.all());
            assertTrue(shown.out().contains("HEAD    " + b.name()), shown::out);
            Run noSecret = run("deploy");
            assertEquals(2, noSecret.status(), noSecret::all);
            assertTrue(noSecret.err().contains("webhook.secret: missing") && noSecret.err().contains(installed.toString()),
                    noSecret::err);
        } finally {
            daemon.stop();
        }
    }

    // ---- arguments -------------------------------------------------------------------------------------

    @Test
    void everyCommandExplainsItselfItsOptionsAndItsExitStatusWithHelp() {
        String[] commands = {"serve", "demo", "check", "deploy", "rollback", "status", "version"};
        for (String command : commands) {
            Run r = run(command, "--help");
            assertEquals(0, r.status(), r::all);
            assertTrue(r.out().startsWith("usage: pullhook " + (command.equals("serve") ? "[serve]" : command)), r::out);
            assertTrue(r.out().contains("Exit status:"), r::out);
            assertTrue(r.out().contains("-h, --help"), r::out);
            if (!command.equals("demo") && !command.equals("version")) {
                assertTrue(r.out().contains("--config FILE  the config (default: /etc/pullhook/config.properties)"),
                        r::out);
            }
        }
        Run overview = run("--help");
        assertEquals(0, overview.status());
        for (String command : commands) {
            assertTrue(overview.out().contains("\n  " + command + " "), overview::out);
        }
        for (String option : new String[]{"--config FILE", "--site NAME", "--help", "--version", "--demo"}) {
            assertTrue(overview.out().contains(option), overview::out);
        }
        assertTrue(overview.out().contains("Exit status:\n  0  done"), overview::out);
        assertEquals(overview.out(), run("-h").out());
    }

    @Test
    void versionPrintsTheVersionAndTheJavaRuntime() {
        for (String[] args : new String[][]{{"version"}, {"--version"}}) {
            Run r = run(args);
            assertEquals(0, r.status(), r::all);
            assertTrue(r.out().startsWith("pullhook "), r::out);
            assertTrue(r.out().contains("java " + Runtime.version() + " (" + System.getProperty("java.home") + ")"),
                    r::out);
        }
    }

    @Test
    void optionsMayComeBeforeOrAfterTheCommand() throws Exception {
        Path config = config(0);
        assertEquals(0, run("--config", config.toString(), "check").status());
        assertEquals(0, run("--config=" + config, "check", "--site=default").status());
    }

    @Test
    void wrongCommandLinesExit2WithoutEchoingValues() throws Exception {
        Run unknown = run("deplyo", "--config", "x");
        assertEquals(2, unknown.status());
        assertFalse(unknown.err().contains("deplyo"), unknown::err);
        assertEquals(2, run("check", "--demo").status());
        assertEquals(2, run("serve", "--site", "a").status());
        assertEquals(2, run("version", "--config", "x").status());
        assertEquals(2, run("check", "deploy").status());
        Run glued = run("check", "--secret=maybe-a-secret-value");
        assertEquals(2, glued.status(), glued::all);
        assertTrue(glued.err().contains("unknown option --secret "), glued::err);
        assertFalse(glued.err().contains("maybe-a-secret-value"), glued::err);
        for (String args : new String[]{"-x=maybe-a-secret-value", "-Maybe+A/Secret"}) {
            Run r = run("check", args);
            assertEquals(2, r.status(), r::all);
            assertFalse(r.err().contains("aybe"), r::err);
        }
        Run noSite = run("deploy", "--config", config(0).toString(), "--site", "nosuch");
        assertEquals(2, noSite.status(), noSite::all);
        assertNotEquals(-1, noSite.err().indexOf("no site \"nosuch\""), noSite::err);
    }
}
