package dev.pullhook.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What each test class cost: one line per class in {@code target/test-logs/cpu.tsv} (class, wall ms, CPU ms of
 * the test JVM, CPU ms of the child processes it waited for: git, child daemons, nginx), from
 * {@code /proc/self/stat}. The JVM's figure includes whatever else it did meanwhile (JIT, GC), and forks run
 * side by side, so a class's figures are approximate; summed they show where the suite's time goes.
 * {@code sort -t$'\\t' -k3 -rn target/test-logs/cpu.tsv | head}.
 */
final class Cpu {
    private static final long TICK_MS = 10;  // USER_HZ is 100 on Linux

    private Cpu() {
    }

    /** {self, children} CPU in ms, or zeros where /proc is missing. */
    static long[] now() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
            return new long[] {(Long.parseLong(f[11]) + Long.parseLong(f[12])) * TICK_MS,
                    (Long.parseLong(f[13]) + Long.parseLong(f[14])) * TICK_MS};
        } catch (IOException | RuntimeException e) {
            return new long[2];
        }
    }

    static synchronized void record(String testClass, long startNanos, long[] start) {
        long[] end = now();
        String line = testClass + "\t" + (System.nanoTime() - startNanos) / 1_000_000 + "\t" + (end[0] - start[0])
                + "\t" + (end[1] - start[1]) + "\n";
        try {
            Path file = Path.of(System.getProperty("user.dir"), "target", "test-logs", "cpu.tsv");
            Files.createDirectories(file.getParent());
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // a ledger, not a test: nothing to fail
        }
    }
}
