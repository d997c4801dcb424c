package dev.pullhook.deploy;

import dev.pullhook.config.Secret;
import dev.pullhook.git.Redactor;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Masks credentials in text that pullhook keeps or logs but did not write itself ({@code deploy.command}
 * output, a failed deploy's error): every registered secret, wherever it appears, becomes {@code ****}, and
 * so does the user info of a URL ({@code https://bot:token@host} becomes {@code https://****@host}).
 * Register each credential of the config ({@link dev.pullhook.config.SiteConfig#secrets()}). It catches the
 * ordinary leak (an {@code echo}, a verbose tool); it does not pretend to catch a secret that a command
 * encodes (base64, hex) or splits across lines. Thread-safe.
 */
public final class SecretRedactor {
    public static final String MASK = "****";
    /** What is left of a URL's user info at the end of a line that was cut before its {@code @}. */
    private static final Pattern CUT_USERINFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)[^/@\\s]*$");

    /** Longest first, so that a secret that contains another is masked whole. */
    private volatile List<String> secrets = List.of();

    /** Adds a secret to mask; null or blank ones are ignored. */
    public synchronized SecretRedactor register(Secret secret) {
        if (secret == null) {
            return this;
        }
        String value = new String(secret.bytes(), StandardCharsets.UTF_8);
        if (value.isBlank() || secrets.contains(value)) {
            return this;
        }
        List<String> next = new ArrayList<>(secrets);
        next.add(value);
        next.sort(Comparator.comparingInt(String::length).reversed());
        secrets = List.copyOf(next);
        return this;
    }

    /** Registers every one of {@code all}. */
    public SecretRedactor registerAll(List<Secret> all) {
        all.forEach(this::register);
        return this;
    }

    /** {@code text} with every registered secret and every URL's user info masked. */
    public String redact(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String s : secrets) {
            out = out.replace(s, MASK);
        }
        return Redactor.redact(out);
    }

    /** The length of the longest secret: how far past a cut a line must be kept so no part of one survives it. */
    int longest() {
        List<String> s = secrets;
        return s.isEmpty() ? 0 : s.get(0).length();
    }

    /**
     * One line of output, masked, then cut to {@code maxChars} (with {@code ...} when it was longer, or when
     * {@code dropped} says characters past {@code raw} were already thrown away). Masking comes first, so a
     * secret across the cut leaves no prefix; {@code raw} must hold at least {@code maxChars + longest()}
     * characters of the line when it is that long. A URL cut before its {@code @} loses what follows its
     * {@code ://}.
     */
    String redactLine(CharSequence raw, int maxChars, boolean dropped) {
        String masked = redact(raw.toString());
        if (masked.length() <= maxChars && !dropped) {
            return masked;
        }
        int end = Math.min(maxChars, masked.length());
        if (end > 0 && end < masked.length() && Character.isHighSurrogate(masked.charAt(end - 1))) {
            end--;  // never half a character
        }
        String cut = masked.substring(0, end);
        return CUT_USERINFO.matcher(cut).replaceFirst("$1" + MASK) + "...";
    }
}
