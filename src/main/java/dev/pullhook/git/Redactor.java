package dev.pullhook.git;

import java.util.regex.Pattern;

/** Removes credentials from URLs in text before it is logged or shown: {@code https://bot:token@host} → {@code https://****@host}. */
public final class Redactor {
    private static final Pattern USERINFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)[^/@\\s]+@");

    private Redactor() {
    }

    public static String redact(String text) {
        if (text == null) {
            return null;
        }
        return USERINFO.matcher(text).replaceAll("$1****@");
    }
}
