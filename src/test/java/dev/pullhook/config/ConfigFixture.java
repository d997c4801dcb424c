package dev.pullhook.config;

import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the config tests share: a folder of each test's own for its config and secret files, the loader run
 * on them with an environment the test gives (never the machine's), the warnings it gave, and the check that
 * exactly one problem names a key, and the repositories the configs point at ({@link #workingCopy()}), made
 * once for each test class (JUnit runs a superclass's static set-up for every subclass; classes run one at a
 * time).
 */
abstract class ConfigFixture {
    @TempDir
    static Path shared;
    static TestRepos repos;

    @BeforeAll
    static void createRepositories() {
        repos = TestRepos.create(shared);
    }

    @AfterAll
    static void closeRepositories() {
        repos.close();
    }

    static final String SECRET = "s3cr3t-value-that-must-never-show-0123456789";

    @TempDir
    Path dir;
    /** What the loader warned of, in order. */
    final List<String> warnings = new ArrayList<>();

    /** The working copy {@link #repoLine()} names. */
    Path workingCopy() {
        return repos.site;
    }

    /** A file in the test's folder. */
    Path file(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content, StandardCharsets.UTF_8);
        return f;
    }

    /** A file in the test's folder that only its owner may read, as a secret's should be. */
    Path privateFile(String name, String content) throws IOException {
        Path f = file(name, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    /** {@code config.properties} in the test's folder, one line each. */
    Path configFile(String... lines) throws IOException {
        return file("config.properties", String.join("\n", lines) + "\n");
    }

    /** The {@code repo.path} line of {@link #workingCopy()}. */
    String repoLine() {
        return "repo.path=" + workingCopy().toString().replace("\\", "\\\\");
    }

    Config load(Map<String, String> env, Path config) throws ConfigException {
        return new ConfigLoader(env, warnings::add).load(config);
    }

    /** The problems that loading {@code config} fails with. */
    List<String> problems(Map<String, String> env, Path config) {
        return assertThrows(ConfigException.class, () -> load(env, config)).problems();
    }

    /** An environment that gives the webhook secret, {@link #SECRET}. */
    static Map<String, String> secretEnv() {
        return Map.of("PULLHOOK_SECRET", SECRET);
    }

    /** Exactly one problem names {@code key}, and it says {@code words}. */
    static void assertProblem(List<String> problems, String key, String words) {
        List<String> forKey = problems.stream().filter(p -> p.startsWith(key + ": ")).toList();
        assertEquals(1, forKey.size(), () -> "expected one problem for " + key + " in " + problems);
        assertTrue(forKey.get(0).contains(words), () -> "expected \"" + words + "\" in " + forKey.get(0));
    }
}
