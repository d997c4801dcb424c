package dev.pullhook;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices that the Java runtime the daemon runs on was replaced on disk (an {@code apt upgrade} of the JDK
 * writes its files in place) and says once, as a WARN, what to do: restart. Until then the daemon runs the
 * old JVM from memory, deploy.command still starts ({@link Main#spawnWithoutHelper}), but a class or native
 * library not loaded yet would now come from the new version, and the class-data archive no longer fits.
 * It compares a few files' identity (inode, size, modification time) with what they were at start: the
 * runtime's {@code release} file, {@code lib/modules}, {@code lib/server/libjvm.so} and
 * {@code lib/jspawnhelper}, each a stat call, after every deploy and every minute.
 */
final class JavaRuntimeWatch implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JavaRuntimeWatch.class);
    static final List<String> FILES = List.of("release", "lib/modules", "lib/server/libjvm.so", "lib/jspawnhelper");

    private final Path home;
    private final Map<String, Object> atStart;
    private ScheduledExecutorService timer;
    private boolean warned;

    /** Remembers what {@code home}'s files are now. */
    JavaRuntimeWatch(Path home) {
        this.home = home;
        this.atStart = stamps();
    }

    /** The runtime this JVM runs on ({@code java.home}). */
    static JavaRuntimeWatch ofThisJvm() {
        return new JavaRuntimeWatch(Path.of(System.getProperty("java.home")));
    }

    /** Also checks every {@code periodSeconds}, on a daemon thread of its own. */
    synchronized JavaRuntimeWatch every(long periodSeconds) {
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "java-runtime-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, periodSeconds, periodSeconds, TimeUnit.SECONDS);
        return this;
    }

    /**
     * Compares the files with what they were at start, and logs the WARN the first time one differs.
     *
     * @return the first changed file (relative to the runtime's folder), or null when none changed
     */
    synchronized String check() {
        Map<String, Object> now = stamps();
        for (String file : FILES) {
            if (!Objects.equals(atStart.get(file), now.get(file))) {
                if (!warned) {
                    warned = true;
                    log.warn("the Java runtime under {} changed on disk since start ({} was replaced; a JDK update?):"
                            + " restart pullhook to run on the new one (systemctl restart pullhook)", home, file);
                }
                return file;
            }
        }
        return null;
    }

    private Map<String, Object> stamps() {
        Map<String, Object> stamps = new LinkedHashMap<>();
        for (String file : FILES) {
            try {
                BasicFileAttributes a = Files.readAttributes(home.resolve(file), BasicFileAttributes.class);
                stamps.put(file, List.of(String.valueOf(a.fileKey()), a.size(), a.lastModifiedTime().toMillis()));
            } catch (IOException e) {
                stamps.put(file, "missing");
            }
        }
        return stamps;
    }

    @Override
    public synchronized void close() {
        if (timer != null) {
            timer.shutdownNow();
        }
    }
}
