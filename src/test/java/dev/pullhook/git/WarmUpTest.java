package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The start-up warm-up ({@link WorkingCopy#warmUp}) and the deploy it rehearses ({@link DeployRehearsal}), on
 * real repositories: it runs through, removes its scratch folder, and leaves every file of the working copy
 * (the index included) and of its remote as it was, even when the remote has a commit to fetch.
 */
class WarmUpTest {
    @TempDir
    Path tmp;

    @Test
    void warmUpChangesNothingInTheWorkingCopyOrTheRemote() {
        TestRepos repos = TestRepos.create(tmp.resolve("repos"));
        try {
            repos.pushNewCommit();  // a commit the working copy has not fetched: the warm-up must not fetch it
            Map<String, String> site = files(repos.site);
            Map<String, String> origin = files(repos.origin);
            Path scratch = tmp.resolve("state").resolve("warm-up");
            try (WorkingCopy wc = new WorkingCopy(repos.site, "origin", TestRepos.BRANCH, Duration.ofSeconds(30),
                    GitAuth.NONE)) {
                assertNull(wc.warmUp(scratch), "the warm-up reports no problem");
            }
            assertEquals(site, files(repos.site), "the working copy's files, .git included");
            assertEquals(origin, files(repos.origin), "the remote's files");
            assertFalse(Files.exists(scratch), "the scratch folder is removed");
        } finally {
            repos.close();
        }
    }

    @Test
    void rehearsalRunsForLocalAndNetworkRemotesAndLeavesNothingBehind() throws Exception {
        for (boolean localRemote : new boolean[] {true, false}) {
            Path scratch = tmp.resolve("warm-up-" + localRemote);
            DeployRehearsal.run(scratch, localRemote);
            assertFalse(Files.exists(scratch), "scratch folder left behind (localRemote=" + localRemote + ")");
        }
    }

    @Test
    void rehearsalClearsWhatAnInterruptedOneLeftBehind() throws Exception {
        Path scratch = tmp.resolve("warm-up");
        Files.createDirectories(scratch.resolve("site/.git"));
        Files.writeString(scratch.resolve("site/.git/index.lock"), "left by a killed daemon");
        Files.writeString(scratch.resolve("site/index.html"), "half written");
        DeployRehearsal.run(scratch, true);
        assertFalse(Files.exists(scratch));
    }

    /** Every regular file under {@code root}: relative path to size, modification time and SHA-256. */
    private static Map<String, String> files(Path root) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                byte[] bytes = Files.readAllBytes(p);
                out.put(root.relativize(p).toString(), bytes.length + " " + Files.getLastModifiedTime(p) + " "
                        + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }
}
