package dev.pullhook.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Every test class's console, and so what the daemons in it log (slf4j-simple writes to {@code System.out},
 * looked up on every line), goes to {@code target/test-logs/<class>.log} instead of the build's output; a
 * failing test gets the last {@value #SHOWN_LINES} lines it logged attached to its failure (a suppressed
 * "log of this test"), so a green run prints nothing and a red one shows the failing case's log where the
 * failure is reported. Registered for every test by {@code META-INF/services} (JUnit's extension
 * autodetection, switched on in {@code junit-platform.properties}). Test classes run one at a time in a JVM
 * (forks give the parallelism), which is what makes swapping {@code System.out} safe.
 */
public final class TestLog implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {
    static final int SHOWN_LINES = 120;
    /** Of a test that logged more, only the end is read back. */
    private static final long MAX_READ = 4L << 20;
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(TestLog.class);

    /** One class's log file; counts what was written, so a test's part of it can be found again. */
    private static final class Held extends OutputStream {
        final PrintStream original = System.out;
        final Path file;
        final OutputStream out;
        long written;
        long testStart;
        final long startNanos = System.nanoTime();
        final long[] startCpu = Cpu.now();

        Held(Path file) throws IOException {
            this.file = file;
            Files.createDirectories(file.getParent());
            this.out = new FileOutputStream(file.toFile());
        }

        @Override
        public synchronized void write(int b) throws IOException {
            out.write(b);
            written++;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written += len;
        }

        synchronized void mark(String header) {
            try {
                byte[] line = ("==== " + header + " ====\n").getBytes(StandardCharsets.UTF_8);
                write(line, 0, line.length);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            testStart = written;
        }

        /** What was written since the current test began (or the class, before any test). */
        synchronized String sinceMark() {
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
                long from = Math.max(testStart, written - MAX_READ);
                byte[] bytes = new byte[(int) (written - from)];
                f.seek(from);
                f.readFully(bytes);
                return new String(bytes, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(cannot read " + file + ": " + e + ")";
            }
        }

        @Override
        public synchronized void close() throws IOException {
            out.close();
        }
    }

    /** The part of the log attached to a failure: a message, no stack trace of its own. */
    static final class LogOfThisTest extends Exception {
        LogOfThisTest(String message) {
            super(message, null, false, false);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        if (held(context) != null) {
            return;  // a @Nested class: its outer class's log goes on
        }
        String name = context.getRequiredTestClass().getName();
        Held held = new Held(Path.of(System.getProperty("user.dir"), "target", "test-logs", name + ".log"));
        context.getStore(NS).put("held", held);
        System.setOut(new PrintStream(held, true, StandardCharsets.UTF_8));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Held held = held(context);
        if (held != null) {
            System.out.flush();
            held.mark(context.getDisplayName() + " (" + context.getRequiredTestMethod().getName() + ")");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        Held held = context.getStore(NS).remove("held", Held.class);
        if (held != null) {
            System.out.flush();
            System.setOut(held.original);
            held.close();
            Cpu.record(context.getRequiredTestClass().getName(), held.startNanos, held.startCpu);
        }
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withLog(context, failure);
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withLog(context, failure);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withLog(context, failure);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withLog(context, failure);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
        throw withLog(context, failure);
    }

    /** {@code failure} with the end of the test's log as a suppressed exception (not for a skipped test). */
    private static Throwable withLog(ExtensionContext context, Throwable failure) {
        Held held = held(context);
        if (held == null || failure instanceof TestAbortedException) {
            return failure;
        }
        System.out.flush();
        List<String> lines = held.sinceMark().lines().toList();
        Path shown = Path.of(System.getProperty("user.dir")).relativize(held.file);
        String head = lines.isEmpty() ? "log of this test: nothing logged (" + shown + ")"
                : "log of this test (" + (lines.size() > SHOWN_LINES ? "last " + SHOWN_LINES + " of " : "")
                + lines.size() + " lines; the whole class's log: " + shown + "):\n";
        failure.addSuppressed(new LogOfThisTest(head + String.join("\n",
                lines.subList(Math.max(0, lines.size() - SHOWN_LINES), lines.size()))));
        return failure;
    }

    private static Held held(ExtensionContext context) {
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            Held h = c.getStore(NS).get("held", Held.class);
            if (h != null) {
                return h;
            }
        }
        return null;
    }
}
