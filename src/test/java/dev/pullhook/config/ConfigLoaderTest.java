package dev.pullhook.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading and validating a config file plus the environment, against real repositories on disk. The
 * environment is always a map given by the test, never the machine's.
 */
class ConfigLoaderTest extends ConfigFixture {
    @Test
    void goodFileLoadsWithDefaultsApplied() throws Exception {
        Config config = load(secretEnv(), configFile(repoLine()));
        assertEquals("127.0.0.1", config.host());
        assertEquals(5000, config.port());
        assertEquals("origin", config.remote());
        assertEquals("main", config.branch());
        assertEquals(repos.site.toAbsolutePath().normalize(), config.repoPath());
        assertEquals(5L * 1024 * 1024, config.maxBodyBytes());
        assertEquals(Duration.ofSeconds(60), config.waitTimeout());
        assertEquals(Duration.ofSeconds(60), config.gitTimeout());
        assertEquals(Duration.ofSeconds(30), config.drainTimeout());
        assertEquals(50, config.historySize());
    }

    @Test
    void everyKeyInTheFileIsRead() throws Exception {
        Config config = load(secretEnv(), configFile(
                repoLine(),
                "server.host=0.0.0.0",
                "server.port=8081",
                "repo.remote=origin",
                "repo.branch=main",
                "webhook.max.body.bytes=2048",
                "webhook.wait.timeout.seconds=5",
                "git.timeout.seconds=7",
                "shutdown.drain.seconds=0",
                "deploy.history.size=3"));
        assertEquals("0.0.0.0", config.host());
        assertEquals(8081, config.port());
        assertEquals(2048, config.maxBodyBytes());
        assertEquals(Duration.ofSeconds(5), config.waitTimeout());
        assertEquals(Duration.ofSeconds(7), config.gitTimeout());
        assertEquals(Duration.ZERO, config.drainTimeout());
        assertEquals(3, config.historySize());
    }

    @Test
    void healthCheckKeysAreReadWithTheirDefaults() throws Exception {
        Config defaults = load(secretEnv(), configFile(repoLine()));
        assertEquals(false, defaults.site().deploy().check().any());
        assertEquals(200, defaults.site().deploy().check().status());
        assertEquals(Duration.ofSeconds(10), defaults.site().deploy().check().timeout());
        assertEquals(3, defaults.site().deploy().check().retries());
        assertEquals(false, defaults.site().deploy().rollbackOnFailure());

        Config set = load(secretEnv(), configFile(repoLine(), "deploy.check.url=http://127.0.0.1:8080/health",
                "deploy.check.status=204", "deploy.check.command=test -f index.html", "deploy.rollback.on.failure=true"));
        assertEquals("http://127.0.0.1:8080/health", set.site().deploy().check().url().toString());
        assertEquals(204, set.site().deploy().check().status());
        assertEquals("test -f index.html", set.site().deploy().check().command());
        assertEquals(true, set.site().deploy().rollbackOnFailure());
    }

    @Test
    void badHealthCheckValuesNameTheirKeysWithoutEchoingCredentials() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(),
                "deploy.check.url=ftp://user:hunter2@example.invalid/health", "deploy.check.status=42",
                "deploy.check.retries=-1", "deploy.rollback.on.failure=maybe"));
        assertProblem(problems, "deploy.check.url", "not an http or https URL");
        assertProblem(problems, "deploy.check.status", "out of range");
        assertProblem(problems, "deploy.check.retries", "out of range");
        assertProblem(problems, "deploy.rollback.on.failure", "not true or false");
        assertTrue(problems.stream().noneMatch(p -> p.contains("hunter2")), problems::toString);
        assertProblem(problems(secretEnv(), configFile(repoLine(), "deploy.check.url=https://u:hunter2@example.invalid/")),
                "deploy.check.url", "must not hold a user name or password");
    }

    @Test
    void relativeRepoPathIsResolvedAgainstTheConfigFilesFolder() throws Exception {
        Path config = Files.writeString(shared.resolve("relative.properties"), "repo.path=site\n");
        assertEquals(repos.site.toAbsolutePath().normalize(), load(secretEnv(), config).repoPath());
    }

    @Test
    void environmentOverridesTheFile() throws Exception {
        Map<String, String> env = new HashMap<>(secretEnv());
        env.put("PULLHOOK_SERVER_PORT", "6001");
        env.put("PULLHOOK_SERVER_HOST", "::1");
        env.put("PULLHOOK_REPO_PATH", repos.site.toString());
        env.put("PULLHOOK_WEBHOOK_MAX_BODY_BYTES", "4096");
        env.put("PULLHOOK_DEPLOY_HISTORY_SIZE", " 7 ");
        Config config = load(env, configFile(
                "repo.path=" + dir.resolve("not-here"),
                "server.port=5001",
                "server.host=127.0.0.1",
                "webhook.max.body.bytes=2048"));
        assertEquals(6001, config.port());
        assertEquals("::1", config.host());
        assertEquals(repos.site.toAbsolutePath().normalize(), config.repoPath());
        assertEquals(4096, config.maxBodyBytes());
        assertEquals(7, config.historySize());
    }

    @Test
    void badValueFromTheEnvironmentNamesTheKey() throws Exception {
        Map<String, String> env = new HashMap<>(secretEnv());
        env.put("PULLHOOK_SERVER_PORT", "http");
        assertProblem(problems(env, configFile(repoLine())), "server.port", "\"http\" is not a whole number");
    }

    @Test
    void envNameMapsDottedKeysToUpperCaseVariables() {
        assertEquals("PULLHOOK_SERVER_PORT", ConfigLoader.envName("server.port"));
        assertEquals("PULLHOOK_WEBHOOK_SECRET_FILE", ConfigLoader.envName("webhook.secret.file"));
    }

    @Test
    void secretComesFromTheEnvironmentWhenNothingElseIsSet() throws Exception {
        Config config = load(secretEnv(), configFile(repoLine()));
        assertEquals(SECRET, new String(config.secret().bytes(), StandardCharsets.UTF_8));
        assertTrue(config.secret().source().contains("PULLHOOK_SECRET"), config.secret().source());
    }

    @Test
    void secretFileBeatsTheEnvironment() throws Exception {
        Path secret = file("secret", "from-the-file-0123456789abcdef\n");
        Config config = load(secretEnv(), configFile(repoLine(), "webhook.secret.file=" + secret));
        assertEquals("from-the-file-0123456789abcdef", new String(config.secret().bytes(), StandardCharsets.UTF_8));
    }

    @Test
    void systemdCredentialBeatsTheSecretFileAndTheEnvironment() throws Exception {
        Path credentials = Files.createDirectories(dir.resolve("credentials"));
        Files.writeString(credentials.resolve("webhook-secret"), "from-the-credential-0123456789\n");
        Path secret = file("secret", "from-the-file-0123456789abcdef\n");
        Map<String, String> env = new HashMap<>(secretEnv());
        env.put("CREDENTIALS_DIRECTORY", credentials.toString());
        Config config = load(env, configFile(repoLine(), "webhook.secret.file=" + secret));
        assertEquals("from-the-credential-0123456789", new String(config.secret().bytes(), StandardCharsets.UTF_8));
        assertTrue(config.secret().source().contains("webhook-secret"), config.secret().source());
    }

    @Test
    void credentialsDirectoryWithoutTheWebhookSecretFallsBackToTheSecretFile() throws Exception {
        Path credentials = Files.createDirectories(dir.resolve("credentials"));
        Path secret = file("secret", "from-the-file-0123456789abcdef");
        Map<String, String> env = Map.of("CREDENTIALS_DIRECTORY", credentials.toString());
        Config config = load(env, configFile(repoLine(), "webhook.secret.file=" + secret));
        assertEquals("from-the-file-0123456789abcdef", new String(config.secret().bytes(), StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\n", "\r\n"})
    void oneFinalLineEndAfterASecretInAFileIsDropped(String end) throws Exception {
        Path secret = file("secret", "the-secret-0123456789abcdef" + end);
        Config config = load(Map.of(), configFile(repoLine(), "webhook.secret.file=" + secret));
        assertEquals("the-secret-0123456789abcdef", new String(config.secret().bytes(), StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"  the-secret-0123456789abcdef\n", "the-secret-0123456789abcdef \n",
            "the-secret-0123456789abcdef\t", "the-secret-0123456789abcdef\n\n", "\uFEFFthe-secret-0123456789abcdef\n"})
    void aSecretFileWithMoreThanTheSecretAndOneNewlineIsAStartErrorNamingTheFile(String content) throws Exception {
        // the git host signs with exactly what was pasted into it: guessing which part is the secret would make
        // every signature fail without a word
        Path secret = file("secret", content);
        List<String> problems = problems(Map.of(), configFile(repoLine(), "webhook.secret.file=" + secret));
        assertProblem(problems, "webhook.secret.file", secret.toString());
        assertTrue(problems.get(0).contains(content.startsWith("\uFEFF") ? "byte-order mark"
                : content.endsWith("\n\n") ? "more than one line" : "spaces or tabs"), problems::toString);
        assertTrue(problems.stream().noneMatch(p -> p.contains("the-secret")), problems::toString);
    }

    @Test
    void theSameRulesHoldForASystemdCredential() throws Exception {
        Path credentials = Files.createDirectories(dir.resolve("credentials"));
        Files.writeString(credentials.resolve("webhook-secret"), "the-secret-0123456789abcdef \n");
        List<String> problems = problems(Map.of("CREDENTIALS_DIRECTORY", credentials.toString()),
                configFile(repoLine()));
        assertProblem(problems, "webhook.secret", credentials.resolve("webhook-secret") + " has spaces or tabs");
    }

    @Test
    void withoutAnyOtherSourceTheSecretIsReadWhereTheInstalledUnitLoadsItFrom() throws Exception {
        Path installed = file("installed-secret", "the-installed-secret-0123456789\n");
        Config config = new ConfigLoader(Map.of(), warnings::add, Map.of("webhook-secret", installed))
                .load(configFile(repoLine()));
        assertEquals("the-installed-secret-0123456789", new String(config.secret().bytes(), StandardCharsets.UTF_8));
        assertTrue(config.secret().source().contains(installed.toString()), config.secret().source());

        Path file = file("secret", "from-the-file-0123456789abcdef\n");
        Config fromFile = new ConfigLoader(Map.of(), warnings::add, Map.of("webhook-secret", installed))
                .load(configFile(repoLine(), "webhook.secret.file=" + file));
        assertEquals("from-the-file-0123456789abcdef", new String(fromFile.secret().bytes(), StandardCharsets.UTF_8),
                "the config's own secret wins");
    }

    @Test
    void aMissingSecretSaysWhereTheInstalledUnitWouldLoadItFrom() throws Exception {
        Path installed = dir.resolve("etc-pullhook-secret");
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader(Map.of(), warnings::add,
                Map.of("webhook-secret", installed)).load(configFile(repoLine())));
        assertProblem(e.problems(), "webhook.secret", "missing");
        assertTrue(e.problems().get(0).contains("write it to " + installed), e.problems()::toString);
    }

    @Test
    void withoutSecretsAConfigLoadsWithNoSecretAnywhere() throws Exception {
        Path gone = dir.resolve("no-such-password");
        Config config = new ConfigLoader(Map.of(), warnings::add).withoutSecrets().load(configFile(repoLine(),
                "git.https.username=bot", "git.https.password.file=" + gone));
        assertEquals(null, config.secret());
        assertTrue(config.toString().contains("webhook.secret=(not loaded)"), config::toString);
    }

    @Test
    void relativeSecretFileIsResolvedAgainstTheConfigFilesFolder() throws Exception {
        file("secret", "relative-secret-0123456789abcdef\n");
        Config config = load(Map.of(), configFile(repoLine(), "webhook.secret.file=secret"));
        assertEquals("relative-secret-0123456789abcdef", new String(config.secret().bytes(), StandardCharsets.UTF_8));
    }

    @Test
    void secretFileReadableByEveryoneLoadsWithAWarning() throws Exception {
        Path secret = file("secret", SECRET);
        try {
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            return; // not a POSIX file system: nothing to check
        }
        load(Map.of(), configFile(repoLine(), "webhook.secret.file=" + secret));
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("webhook.secret.file: ") && w.contains("readable")),
                warnings::toString);
        assertTrue(warnings.stream().noneMatch(w -> w.contains(SECRET)), warnings::toString);
    }

    @Test
    void shortSecretLoadsWithAWarningThatDoesNotShowIt() throws Exception {
        load(Map.of("PULLHOOK_SECRET", "shorty"), configFile(repoLine()));
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("webhook.secret: ")), warnings::toString);
        assertTrue(warnings.stream().noneMatch(w -> w.contains("shorty")), warnings::toString);
    }

    @Test
    void missingSecretIsAProblemNamingWhereToSetIt() throws Exception {
        List<String> problems = problems(Map.of(), configFile(repoLine()));
        assertProblem(problems, "webhook.secret", "missing");
        assertTrue(problems.get(0).contains("PULLHOOK_SECRET") && problems.get(0).contains("webhook.secret.file"));
    }

    @Test
    void blankSecretInTheEnvironmentCountsAsMissing() throws Exception {
        assertProblem(problems(Map.of("PULLHOOK_SECRET", "  "), configFile(repoLine())), "webhook.secret", "missing");
    }

    @Test
    void missingSecretFileIsAProblem() throws Exception {
        Path config = configFile(repoLine(), "webhook.secret.file=" + dir.resolve("no-such-secret"));
        assertProblem(problems(secretEnv(), config), "webhook.secret.file", "does not exist");
    }

    @Test
    void emptySecretFileIsAProblem() throws Exception {
        Path secret = file("secret", "\n");
        assertProblem(problems(Map.of(), configFile(repoLine(), "webhook.secret.file=" + secret)),
                "webhook.secret.file", "is empty");
    }

    @Test
    void secretWrittenInTheConfigFileIsRefusedWithoutRepeatingIt() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "webhook.secret=" + SECRET));
        assertProblem(problems, "webhook.secret", "may not be written in the config file");
        assertTrue(problems.stream().noneMatch(p -> p.contains(SECRET)), problems::toString);
    }

    private static final String SIGNING_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    @Test
    void signingKeyIsOptional() throws Exception {
        assertEquals(null, load(secretEnv(), configFile(repoLine())).site().signingKey());
    }

    @Test
    void signingKeyComesFromItsFileTheEnvironmentOrTheCredential() throws Exception {
        Path key = file("signing-key", SIGNING_KEY + "\n");
        Config fromFile = load(secretEnv(), configFile(repoLine(), "webhook.signing.key.file=" + key));
        assertEquals(SIGNING_KEY, new String(fromFile.site().signingKey().bytes(), StandardCharsets.UTF_8));
        assertTrue(fromFile.site().secrets().contains(fromFile.site().signingKey()),
                "masked in deploy.command's output like the other credentials");

        Map<String, String> env = new HashMap<>(secretEnv());
        env.put("PULLHOOK_WEBHOOK_SIGNING_KEY", SIGNING_KEY);
        assertEquals(SIGNING_KEY, new String(load(env, configFile(repoLine())).site().signingKey().bytes(),
                StandardCharsets.UTF_8));

        Path credentials = Files.createDirectories(dir.resolve("credentials"));
        Files.writeString(credentials.resolve("webhook-signing-key"), SIGNING_KEY);
        Map<String, String> systemd = new HashMap<>(secretEnv());
        systemd.put("CREDENTIALS_DIRECTORY", credentials.toString());
        Config fromCredential = load(systemd, configFile(repoLine()));
        assertTrue(fromCredential.site().signingKey().source().contains("webhook-signing-key"),
                fromCredential.site().signingKey().source());
    }

    @Test
    void signingKeyThatIsNotAWhsecTokenIsAProblemThatDoesNotRepeatIt() throws Exception {
        Path key = file("signing-key", "not-a-signing-token-" + SECRET);
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "webhook.signing.key.file=" + key));
        assertProblem(problems, "webhook.signing.key", "not a signing token");
        assertTrue(problems.stream().noneMatch(p -> p.contains(SECRET)), problems::toString);
    }

    @Test
    void signingKeyWrittenInTheConfigFileIsRefusedWithoutRepeatingIt() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "webhook.signing.key=" + SIGNING_KEY));
        assertProblem(problems, "webhook.signing.key", "may not be written in the config file");
        assertTrue(problems.stream().noneMatch(p -> p.contains(SIGNING_KEY)), problems::toString);
    }

    @Test
    void missingRepoPathIsAProblem() throws Exception {
        assertProblem(problems(secretEnv(), configFile("server.port=5000")), "repo.path", "missing");
    }

    @Test
    void repoPathThatDoesNotExistIsAProblem() throws Exception {
        Path config = configFile("repo.path=" + dir.resolve("nowhere"));
        assertProblem(problems(secretEnv(), config), "repo.path", "does not exist");
    }

    @Test
    void repoPathThatIsNotAGitWorkingCopyIsAProblem() throws Exception {
        Path plain = Files.createDirectories(dir.resolve("plain-folder"));
        assertProblem(problems(secretEnv(), configFile("repo.path=" + plain)), "repo.path", "not a git working copy");
    }

    @Test
    void bareRepositoryAsRepoPathIsAProblem() throws Exception {
        List<String> problems = problems(secretEnv(), configFile("repo.path=" + repos.origin));
        assertEquals(1, problems.size(), problems::toString);
        assertTrue(problems.get(0).startsWith("repo.path: "), problems::toString);
    }

    @Test
    void remoteThatTheWorkingCopyDoesNotHaveIsAProblem() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "repo.remote=upstream")),
                "repo.remote", "no remote \"upstream\"");
    }

    @Test
    void remoteNameThatCannotBeARemoteIsAProblem() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "repo.remote=../etc")),
                "repo.remote", "not a remote name");
    }

    @Test
    void branchOtherThanTheCheckedOutOneIsAProblem() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "repo.branch=develop")),
                "repo.branch", "checked out");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a..b", "-x", "has space", "ends.lock", "a~1", "x:y", "main/", "@{u}"})
    void invalidBranchNameIsAProblem(String branch) throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "repo.branch=" + branch)),
                "repo.branch", "not a valid branch name");
    }

    @Test
    void fullRefAsBranchIsAProblemSayingToUseTheShortName() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "repo.branch=refs/heads/main")),
                "repo.branch", "short branch name");
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "70000", "-1", "65536", "5000.5", "0x50"})
    void badPortIsAProblem(String port) throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "server.port=" + port));
        assertProblem(problems, "server.port", port.matches("-?\\d+") ? "out of range" : "not a whole number");
    }

    @Test
    void emptyValueIsAProblemForKeysThatNeedOne() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "server.host=")), "server.host", "must not be empty");
    }

    @ParameterizedTest
    @ValueSource(strings = {"webhook.max.body.bytes=10", "webhook.wait.timeout.seconds=0",
            "git.timeout.seconds=99999", "deploy.history.size=0", "shutdown.drain.seconds=-5"})
    void numberOutsideItsRangeIsAProblem(String line) throws Exception {
        String key = line.substring(0, line.indexOf('='));
        assertProblem(problems(secretEnv(), configFile(repoLine(), line)), key, "out of range");
    }

    @Test
    void unknownKeyIsAProblem() throws Exception {
        assertProblem(problems(secretEnv(), configFile(repoLine(), "server.prot=5000")), "server.prot", "unknown key");
    }

    @ParameterizedTest
    @ValueSource(strings = {"deploy.comand=make>deploy.command", "server.prot=1>server.port",
            "Repo.Branch=main>repo.branch", "git.ssh.known_hosts=x>git.ssh.known.hosts",
            "deploy.timeout=5>deploy.timeout.seconds", "site.blog.deploy.comand=x>site.blog.deploy.command"})
    void anUnknownKeyNamesItsLineAndTheNearestKnownKey(String lineAndNearest) throws Exception {
        String line = lineAndNearest.substring(0, lineAndNearest.indexOf('>'));
        String nearest = lineAndNearest.substring(lineAndNearest.indexOf('>') + 1);
        String key = line.substring(0, line.indexOf('='));
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "sites = blog",
                "site.blog.repo.path = " + repos.site, "# a comment", "", line));
        assertProblem(problems, key, "unknown " + (key.startsWith("site.") ? "site key" : "key") + " (line 6); did you mean "
                + nearest + "?");
    }

    @Test
    void anUnknownKeyFarFromEveryKnownOneListsThemInstead() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "colour=blue"));
        assertProblem(problems, "colour", "known keys: server.host");
        assertFalse(problems.get(0).contains("did you mean"), problems::toString);
    }

    @Test
    void aSiteKeyOfASiteNotInSitesSuggestsTheNearestSite() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "sites = blog",
                "site.blog.repo.path = " + repos.site, "site.blgo.repo.branch = main"));
        assertProblem(problems, "site.blgo.*", "did you mean site.blog.*?");
    }

    @Test
    void aKeySetTwiceIsAProblemNamingBothLines() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "repo.branch = main", "# later:",
                "repo.branch : other"));
        assertProblem(problems, "repo.branch", "set twice, on line 2 and on line 4");
    }

    @Test
    void aKeySetTwiceIsFoundAcrossContinuationLinesAndEscapes() throws Exception {
        List<String> problems = problems(secretEnv(), configFile(repoLine(), "deploy.command = make \\",
                "    deploy", "deploy\\.command = again"));
        assertProblem(problems, "deploy.command", "set twice, on line 2 and on line 4");
    }

    @Test
    void aByteOrderMarkAtTheStartOfTheConfigIsSkipped() throws Exception {
        // what Notepad and some other editors write at the start of a UTF-8 file
        Path config = file("config.properties", "\uFEFF" + repoLine() + "\nrepo.branch=main\n");
        assertEquals(repos.site.toAbsolutePath().normalize(), load(secretEnv(), config).repoPath());
    }

    @Test
    void aConfigThatIsNotUtf8SaysSo() throws Exception {
        Path config = dir.resolve("config.properties");
        Files.write(config, (repoLine() + "\n# caf\u00e9\n").getBytes(StandardCharsets.ISO_8859_1));
        List<String> problems = problems(secretEnv(), config);
        assertProblem(problems, "--config", "is not UTF-8 text");
    }

    @Test
    void propertiesSyntaxIsReadAsJavaReadsIt() throws Exception {
        Config config = load(secretEnv(), configFile("! a comment", "   # another", repoLine(),
                "deploy.command: echo \\", "   one \\u0041", "server.port 5001"));
        assertEquals("echo one A", config.site().deploy().command());
        assertEquals(5001, config.port());
    }

    @Test
    void everyProblemIsReportedAtOnceEachNamingItsKey() throws Exception {
        List<String> problems = problems(Map.of(), configFile(
                "repo.path=" + dir.resolve("nowhere"),
                "repo.branch=a..b",
                "server.port=abc",
                "git.timeout.seconds=0",
                "bogus.key=1",
                "webhook.secret=" + SECRET));
        assertProblem(problems, "repo.path", "does not exist");
        assertProblem(problems, "repo.branch", "not a valid branch name");
        assertProblem(problems, "server.port", "not a whole number");
        assertProblem(problems, "git.timeout.seconds", "out of range");
        assertProblem(problems, "bogus.key", "unknown key");
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("webhook.secret: ") && p.contains("config file")));
        assertTrue(problems.stream().anyMatch(p -> p.startsWith("webhook.secret: ") && p.contains("missing")));
        assertEquals(7, problems.size(), problems::toString);
        assertTrue(problems.stream().noneMatch(p -> p.contains(SECRET)), problems::toString);
    }

    @Test
    void exceptionMessageJoinsAllProblems() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> load(Map.of(), configFile("server.port=abc")));
        for (String problem : e.problems()) {
            assertTrue(e.getMessage().contains(problem));
        }
    }

    @Test
    void configToStringMasksTheSecret() throws Exception {
        Config config = load(secretEnv(), configFile(repoLine()));
        String text = config.toString();
        assertFalse(text.contains(SECRET), text);
        assertTrue(text.contains("webhook.secret=****"), text);
        assertTrue(text.contains("repo.path=\"" + config.repoPath() + "\""), text);
        assertEquals("****", config.secret().toString());
    }

    @Test
    void fromMapValidatesLikeAFile() {
        ConfigLoader loader = new ConfigLoader(secretEnv(), warnings::add);
        ConfigException e = assertThrows(ConfigException.class,
                () -> loader.fromMap(Map.of("repo.path", repos.site.toString(), "no.such.key", "1")));
        assertProblem(e.problems(), "no.such.key", "unknown key");
    }
}
