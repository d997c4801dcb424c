package dev.pullhook.webhook;

/**
 * The outcome of checking a request's credentials. {@code header} names the header that decided it
 * (or {@code none}); {@code reason} says why it failed, in words that never contain a header's value.
 */
public record AuthResult(boolean accepted, String header, String reason) {
    static AuthResult accept(String header) {
        return new AuthResult(true, header, "ok");
    }

    static AuthResult reject(String header, String reason) {
        return new AuthResult(false, header, reason);
    }
}
