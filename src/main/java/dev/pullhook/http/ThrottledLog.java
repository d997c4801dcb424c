package dev.pullhook.http;

import org.slf4j.Logger;

import java.util.HashMap;
import java.util.Map;

/**
 * Warnings about abusive clients, at most one line per kind and interval, so that an attack neither fills
 * the disk nor trips journald's rate limit; the next line says how many were left out.
 */
final class ThrottledLog {
    private final Logger log;
    private final long everyMs;
    /** kind -> {when last logged (ms), how many left out since} */
    private final Map<String, long[]> kinds = new HashMap<>();

    ThrottledLog(Logger log, long everyMs) {
        this.log = log;
        this.everyMs = everyMs;
    }

    /** Logs {@code format} (SLF4J placeholders) unless a line of the same {@code kind} was logged within the interval. */
    void warn(String kind, String format, Object... args) {
        long now = System.currentTimeMillis();
        long leftOut;
        synchronized (kinds) {
            long[] k = kinds.computeIfAbsent(kind, x -> new long[]{now - everyMs - 1, 0});
            if (now - k[0] <= everyMs) {
                k[1]++;
                return;
            }
            leftOut = k[1];
            k[0] = now;
            k[1] = 0;
        }
        log.warn(leftOut == 0 ? format : format + " (and " + leftOut + " more like it since the last such line)", args);
    }
}
