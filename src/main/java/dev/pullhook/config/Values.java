package dev.pullhook.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Typed access to the raw values of one site's or the server's keys: a value that is missing or not of its
 * type records a problem naming the key (with {@code prefix}, e.g. {@code site.blog.}) instead of throwing.
 */
record Values(String prefix, Map<String, String> raw, List<String> problems) {
    String string(String key) {
        String value = raw.get(key);
        if (value == null) {
            problems.add(prefix + key + ": must not be empty");
        }
        return value;
    }

    boolean bool(String key) {
        String value = string(key);
        if (value == null) {
            return false;
        }
        if ("true".equalsIgnoreCase(value)) {
            return true;
        }
        if (!"false".equalsIgnoreCase(value)) {
            problems.add(prefix + key + ": \"" + value + "\" is not true or false");
        }
        return false;
    }

    <E extends Enum<E>> E choice(String key, Class<E> type) {
        String value = string(key);
        if (value == null) {
            return type.getEnumConstants()[0];
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            String name = e.name().toLowerCase(Locale.ROOT);
            if (name.equals(value.toLowerCase(Locale.ROOT))) {
                return e;
            }
            names.add(name);
        }
        problems.add(prefix + key + ": \"" + value + "\" is not one of " + String.join(", ", names));
        return type.getEnumConstants()[0];
    }

    long number(String key, long min, long max) {
        String value = raw.get(key);
        if (value == null) {
            problems.add(prefix + key + ": must not be empty");
            return min;
        }
        try {
            long n = Long.parseLong(value);
            if (n < min || n > max) {
                problems.add(prefix + key + ": " + n + " is out of range (" + min + " to " + max + ")");
            }
            return n;
        } catch (NumberFormatException e) {
            problems.add(prefix + key + ": \"" + value + "\" is not a whole number");
            return min;
        }
    }
}
