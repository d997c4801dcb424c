package dev.pullhook.testing;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the daemons log (slf4j-simple writes to {@code System.out}, looked up on every line) written to a
 * file instead of the console, for a test class to assert on: {@code target/test-logs/<name>.log}, kept
 * after the run for a look at a failure. Replaced on every run.
 */
public final class LogFile implements AutoCloseable {
    private final PrintStream original = System.out;
    private final Path file;
    private final PrintStream out;

    public LogFile(String name) {
        file = Path.of(System.getProperty("user.dir"), "target", "test-logs", name + ".log");
        try {
            Files.createDirectories(file.getParent());
            out = new PrintStream(new FileOutputStream(file.toFile()), true, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.setOut(out);
    }

    public Path path() {
        return file;
    }

    public String text() {
        out.flush();
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lines containing every one of {@code parts}. */
    public List<String> linesWith(String... parts) {
        return text().lines().filter(l -> {
            for (String p : parts) {
                if (!l.contains(p)) {
                    return false;
                }
            }
            return true;
        }).toList();
    }

    @Override
    public void close() {
        System.setOut(original);
        out.close();
    }
}
