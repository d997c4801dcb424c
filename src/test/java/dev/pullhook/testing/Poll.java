package dev.pullhook.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Waits for something that happens in the background (a deploy, a log line). Only ever a generous upper
 * bound for waiting, never an assertion about speed: the machine is noisy.
 */
public final class Poll {
    public static final Duration PATIENCE = Duration.ofSeconds(30);

    private Poll() {
    }

    /** Returns as soon as {@code condition} holds; fails the test if it still does not after 30 s. */
    public static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("still waiting after " + PATIENCE.toSeconds() + " s for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted while waiting for: " + what);
            }
        }
    }
}
