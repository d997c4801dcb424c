package dev.pullhook;

import dev.pullhook.cli.Cli;

import java.util.Locale;

/**
 * Entry point: sets the JVM-wide properties that must be in place before anything else runs, then hands the
 * command line to {@link Cli} and exits with its status (the daemon keeps running on its own threads after
 * a 0). Exit status 2 means a usage, configuration or file-permission error (systemd's
 * {@code RestartPreventExitStatus=2} then avoids a restart loop), 1 a command that failed.
 */
public final class Main {
    static final String LAUNCH_MECHANISM = "jdk.lang.Process.launchMechanism";

    private Main() {
    }

    public static void main(String[] args) {
        avoidJmxInJetty();
        spawnWithoutHelper();
        int status = Cli.run(args, System.getenv(), Cli.Install.DEBIAN);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** {@link Cli#run} with this process's environment and the Debian install's paths (what tests call). */
    static int run(String[] args) {
        return Cli.run(args, System.getenv(), Cli.Install.DEBIAN);
    }

    /**
     * Jetty pads some shared counters to a cache line, and finds how many object references fit in one by
     * asking the platform MBean server whether references are compressed. That one question starts JMX
     * (about 360 classes, 3 MiB of resident memory, a noticeable part of the start-up), which nothing else
     * in pullhook uses. The answer is known here: 4-byte references (16 a 64-byte line) below a 32 GB heap,
     * where the JVM compresses them by default, else 8. An explicit {@code -D} setting wins.
     */
    static void avoidJmxInJetty() {
        String key = "org.eclipse.jetty.util.referencesPerCacheLine";
        if (System.getProperty(key) == null) {
            System.setProperty(key, Runtime.getRuntime().maxMemory() < (32L << 30) ? "16" : "8");
        }
    }

    /**
     * Starts child processes ({@code deploy.command}) with {@code fork} and {@code exec}, not through the JDK's
     * {@code lib/jspawnhelper}. On Linux the JDK's default (POSIX_SPAWN) runs that helper from the JDK's folder
     * for every child, and the helper refuses a JVM of another version: once apt has upgraded the JDK under a
     * running daemon, every deploy.command failed with "Failed to exec spawn helper" until a restart. FORK runs
     * nothing from the JDK's folder and is supported by every JDK from 17 on (VFORK, the other choice, is
     * deprecated since 21 and prints a warning). An explicit {@code -D} setting wins; it must be set before
     * the first process starts, which is why it is here.
     */
    static void spawnWithoutHelper() {
        if (System.getProperty(LAUNCH_MECHANISM) == null
                && System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
            System.setProperty(LAUNCH_MECHANISM, "FORK");
        }
    }
}
