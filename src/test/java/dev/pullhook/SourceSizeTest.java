package dev.pullhook;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No source file of {@code src/main/java} grows past {@value #MAX_LINES} lines (comments included): a class
 * heading past 400 is asking to be split by what its parts do, as {@code Deployer} was into {@code DeployRun},
 * {@code PostDeploy} and {@code AtomicRelease}. Counts lines only; method length is left to review.
 */
class SourceSizeTest {
    static final int MAX_LINES = 420;

    @Test
    void noSourceFileIsLongerThanTheLimit() throws IOException {
        List<Path> sources;
        try (Stream<Path> all = Files.walk(DocsTest.MAIN_SOURCES)) {
            sources = all.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertTrue(sources.size() > 50, "only " + sources.size() + " sources found under " + DocsTest.MAIN_SOURCES);
        List<String> tooLong = new ArrayList<>();
        for (Path source : sources) {
            long lines = lines(source);
            if (lines > MAX_LINES) {
                tooLong.add(DocsTest.MAIN_SOURCES.relativize(source) + ": " + lines + " lines");
            }
        }
        assertEquals(List.of(), tooLong, "split these by what their parts do (at most " + MAX_LINES + " lines)");
    }

    private static long lines(Path source) throws IOException {
        try (Stream<String> lines = Files.lines(source)) {
            return lines.count();
        }
    }
}
