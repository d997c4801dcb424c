package dev.pullhook.config;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The webhook secret. Holds the bytes and where they came from; its {@link #toString()} never shows
 * them, so a secret can be put in a log line or a record by mistake without leaking.
 */
public final class Secret {
    private final byte[] value;
    private final String source;

    public Secret(String value, String source) {
        this.value = value.getBytes(StandardCharsets.UTF_8);
        this.source = source;
    }

    /** A copy of the secret's UTF-8 bytes. */
    public byte[] bytes() {
        return Arrays.copyOf(value, value.length);
    }

    /** Where it came from, e.g. {@code file /etc/pullhook/secret}; safe to log. */
    public String source() {
        return source;
    }

    public int length() {
        return value.length;
    }

    @Override
    public String toString() {
        return "****";
    }
}
