package dev.pullhook.webhook;

/**
 * The outcome of checking a request's credentials. {@code header} names the header that decided it
 * (or {@code none}); {@code reason} says why it failed, in words that never contain a header's value;
 * {@code nonce} is a verified manual proof's nonce, else null.
 */
public record AuthResult(boolean accepted, String header, String reason, String nonce) {
    static AuthResult accept(String header) {
        return new AuthResult(true, header, "ok", null);
    }

    /** A verified {@link ManualProof}; its nonce is for the caller, who accepts each nonce once. */
    static AuthResult acceptManual(String nonce) {
        return new AuthResult(true, ManualProof.HEADER, "ok", nonce);
    }

    static AuthResult reject(String header, String reason) {
        return new AuthResult(false, header, reason, null);
    }
}
