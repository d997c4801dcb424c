package dev.pullhook.config;

import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code report.*} keys: what they accept, what they refuse (naming the key), where the token comes from. */
class ReportConfigTest extends ConfigFixture {
    private static final String TOKEN = "ghp_reportTokenThatMustNeverShow0123";

    /** A config of the test's repository and {@code lines}. */
    private Path config(String... lines) {
        try {
            return configFile(repoLine() + "\n" + String.join("\n", lines));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Config load(Map<String, String> env, String... lines) throws ConfigException {
        return load(env, config(lines));
    }

    private List<String> problems(Map<String, String> env, String... lines) {
        return problems(env, config(lines));
    }

    @Test
    void withoutReportHostNothingIsReported() throws Exception {
        assertNull(load(secretEnv()).site().report());
        assertTrue(warnings.isEmpty(), warnings::toString);
    }

    @Test
    void aGithubReportTakesTheCloudsApiAndTheDefaultName() throws Exception {
        Path token = privateFile("token", TOKEN + "\n");
        ReportOptions r = load(secretEnv(), "report.host=github", "report.repo=octo/site", "report.token.file=" + token).site().report();
        assertEquals(ReportOptions.Host.GITHUB, r.host());
        assertEquals("https://api.github.com", r.api().toString());
        assertEquals("octo/site", r.repo());
        assertEquals("pullhook/default", r.context());
        assertNull(r.link());
        assertEquals(TOKEN, new String(r.token().bytes(), StandardCharsets.UTF_8));
    }

    @Test
    void theTokenIsMaskedInTheConfigLineAndMaskedInCommandOutput() throws Exception {
        Path token = privateFile("token", TOKEN);
        Config config = load(secretEnv(), "report.host=gitlab", "report.repo=42", "report.token.file=" + token);
        String line = config.toString();
        assertFalse(line.contains(TOKEN), line);
        assertTrue(line.contains("report.host=gitlab report.url=\"https://gitlab.com\" report.repo=\"42\" report.token=**** (file "
                + token + ")"), line);
        assertTrue(config.site().secrets().stream().anyMatch(s -> new String(s.bytes(), StandardCharsets.UTF_8).equals(TOKEN)),
                "the token is among the secrets masked in deploy.command output");
    }

    @Test
    void aTokenWrittenInTheConfigFileIsRefused() {
        List<String> problems = problems(secretEnv(), "report.host=github", "report.repo=octo/site", "report.token=" + TOKEN);
        assertProblem(problems, "report.token", "may not be written in the config file; put it in a file named by report.token.file");
        assertFalse(String.join("\n", problems).contains(TOKEN));
    }

    @Test
    void theSystemdCredentialWinsOverTheFile() throws Exception {
        Path credentials = Files.createDirectories(dir.resolve("credentials"));
        Files.writeString(credentials.resolve("report-token"), "from-the-credential\n");
        Path token = privateFile("token", TOKEN);
        ReportOptions r = load(Map.of("PULLHOOK_SECRET", SECRET, "CREDENTIALS_DIRECTORY", credentials.toString()),
                "report.host=gitea", "report.url=https://git.example.com", "report.repo=octo/site",
                "report.token.file=" + token).site().report();
        assertEquals("from-the-credential", new String(r.token().bytes(), StandardCharsets.UTF_8));
        assertEquals("systemd credential report-token", r.token().source());
    }

    @Test
    void aNamedSiteHasItsOwnCredentialAndItsOwnRepository() throws Exception {
        TestRepos other = TestRepos.create(dir.resolve("other"));
        try {
            Path credentials = Files.createDirectories(dir.resolve("credentials"));
            Files.writeString(credentials.resolve("report-token-blog"), "blog-token\n");
            Files.writeString(credentials.resolve("report-token"), "main-token\n");
            Config config = load(Map.of("PULLHOOK_SECRET", SECRET, "PULLHOOK_SITE_BLOG_SECRET", SECRET + "-blog",
                            "CREDENTIALS_DIRECTORY", credentials.toString()),
                    "report.host=github", "report.repo=octo/site", "sites=blog", "site.blog.repo.path=" + other.site);
            ReportOptions blog = config.site("blog").orElseThrow().report();
            assertEquals("blog-token", new String(blog.token().bytes(), StandardCharsets.UTF_8));
            assertNull(blog.repo(), "report.repo is each site's own: the blog's comes from its remote");
            assertEquals("pullhook/blog", blog.context());
            assertEquals("octo/site", config.site("").orElseThrow().report().repo());
        } finally {
            other.close();
        }
    }

    @Test
    void aMissingTokenIsAProblemNamingBothPlaces() {
        List<String> problems = problems(secretEnv(), "report.host=github", "report.repo=octo/site");
        assertProblem(problems, "report.token.file", "the systemd credential report-token");
    }

    @Test
    void everyBadValueIsNamedAtOnce() throws Exception {
        Path token = privateFile("token", TOKEN);
        List<String> problems = problems(secretEnv(), "report.host=gitea", "report.repo=octo/../x",
                "report.context=../../etc", "report.link.url=ftp://x", "report.token.file=" + token);
        assertProblem(problems, "report.url", "required with report.host=gitea");
        assertProblem(problems, "report.repo", "is not a repository name");
        assertProblem(problems, "report.context", "must be 1 to 40 letters");
        assertProblem(problems, "report.link.url", "is not an http:// or https:// URL");
        assertProblem(problems(secretEnv(), "report.host=gitbucket"), "report.host", "is not one of bitbucket-cloud,"
                + " bitbucket-dc, github, gitlab, gitea");
        assertProblem(problems(secretEnv(), "report.host=github", "report.repo=octo", "report.token.file=" + token),
                "report.repo", "is not owner/name");
        assertProblem(problems(secretEnv(), "report.host=github", "report.url=https://bot:pw@ghe.example.com/api/v3",
                "report.token.file=" + token), "report.url", "has a user name or password in it");
    }

    @Test
    void bitbucketNeedsALinkBecauseItRefusesAStatusWithout() throws Exception {
        Path token = privateFile("token", TOKEN);
        assertProblem(problems(secretEnv(), "report.host=bitbucket-cloud", "report.token.file=" + token), "report.link.url",
                "required with report.host=bitbucket-cloud");
        assertProblem(problems(secretEnv(), "report.host=bitbucket-dc", "report.url=https://bitbucket.example.com",
                "report.token.file=" + token), "report.link.url", "required with report.host=bitbucket-dc");
    }

    @Test
    void aGitlabProjectIsAnIdOrAPath() throws Exception {
        Path token = privateFile("token", TOKEN);
        assertEquals("group/sub/site", load(secretEnv(), "report.host=gitlab", "report.repo=group/sub/site",
                "report.token.file=" + token).site().report().repo());
        assertProblem(problems(secretEnv(), "report.host=gitlab", "report.repo=site", "report.token.file=" + token),
                "report.repo", "is neither a project id nor a path");
    }

    @Test
    void plainHttpToAnotherMachineIsWarnedAbout() throws Exception {
        Path token = privateFile("token", TOKEN);
        load(secretEnv(), "report.host=gitea", "report.url=http://git.example.com", "report.repo=o/r", "report.token.file=" + token);
        assertEquals(1, warnings.stream().filter(w -> w.startsWith("report.url: http://git.example.com is plain http")).count(),
                warnings::toString);
        warnings.clear();
        load(secretEnv(), "report.host=gitea", "report.url=http://127.0.0.1:3000", "report.repo=o/r", "report.token.file=" + token);
        assertTrue(warnings.isEmpty(), warnings::toString);
    }

    @Test
    void reportKeysWithoutAHostAreWarnedAbout() throws Exception {
        load(secretEnv(), "report.repo=octo/site");
        assertEquals(List.of("report.host: not set, so the other report.* keys do nothing (no deploy is reported)"), warnings);
    }

    @Test
    void aCommandThatOnlyReadsStatusNeedsNoToken() throws Exception {
        Path config = dir.resolve("config.properties");
        Files.writeString(config, "repo.path=" + repos.site + "\nreport.host=github\nreport.repo=octo/site\n");
        ReportOptions r = new ConfigLoader(Map.of(), warnings::add).withoutSecrets().load(config).site().report();
        assertNull(r.token());
        assertTrue(r.toString().contains("report.token=(not loaded)"));
    }
}
