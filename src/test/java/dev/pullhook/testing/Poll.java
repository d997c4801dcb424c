package dev.pullhook.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Waits for something that happens in the background (a deploy, a log line, a process). Only ever a generous
 * upper bound for waiting, never an assertion about speed: the machine is noisy. The one place in the tests
 * that pauses: every other wait is on an event or through here.
 */
public final class Poll {
    public static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final long INTERVAL_MS = 20;

    private Poll() {
    }

    /** Returns as soon as {@code condition} holds; fails the test if it still does not after 30 s. */
    public static void until(String what, BooleanSupplier condition) {
        until(PATIENCE, () -> what, condition);
    }

    /** Returns as soon as {@code condition} holds; fails the test if it still does not after {@code patience}. */
    public static void until(Duration patience, String what, BooleanSupplier condition) {
        until(patience, () -> what, condition);
    }

    /**
     * Returns as soon as {@code condition} holds; fails the test with {@code what} (asked for then, so it can
     * show the state it ended in) if it still does not after {@code patience}.
     */
    public static void until(Duration patience, Supplier<String> what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("still waiting after " + patience.toSeconds() + " s for: " + what.get());
            }
            pause();
        }
    }

    /**
     * Like {@link #until(Duration, Supplier, BooleanSupplier)}, but returns false instead of failing: for a
     * wait whose end the caller checks itself.
     */
    public static boolean within(Duration patience, BooleanSupplier condition) {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            pause();
        }
        return true;
    }

    private static void pause() {
        try {
            Thread.sleep(INTERVAL_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted while waiting");
        }
    }
}
