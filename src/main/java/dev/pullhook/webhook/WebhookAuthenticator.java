package dev.pullhook.webhook;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Decides whether a request proves knowledge of the secret, from its headers and raw body bytes, in the
 * formats git hosts send (see the README's table): an HMAC of the body (SHA-256, or legacy SHA-1), the
 * secret itself as a token (GitLab's classic one), or, with a signing key configured, the Standard
 * Webhooks signature GitLab's signing token sends; and for manual requests, pullhook's own
 * {@link ManualProof}. Every comparison is constant-time.
 *
 * <p>Fails closed: at least one credential header must be present and <em>every</em> credential header
 * present must verify. Hosts that send several (GitHub, Gitea, Forgejo) send the same digest in each, so a
 * request where they disagree was altered or forged. It knows nothing of payloads or git.
 */
public final class WebhookAuthenticator {
    /** The headers that carry credentials, in the order they are checked. */
    public static final List<String> HEADERS = List.of(
            "X-Hub-Signature-256", "X-Hub-Signature", "X-Gitea-Signature", "X-Forgejo-Signature",
            "X-Gogs-Signature", "X-Gitlab-Token");

    /** Standard Webhooks (GitLab's signing token): checked only when a signing key is configured. */
    static final String STANDARD_SIGNATURE = "webhook-signature";
    private static final HexFormat HEX = HexFormat.of();
    private final byte[] secret;
    /** The key of {@code webhook.signing.key} (the base64 part of {@code whsec_...}, decoded), or null. */
    private final byte[] signingKey;
    private final java.time.Clock clock;
    private final byte[] tokenKey = new byte[32];
    private final byte[] secretTokenDigest;
    // one initialised Mac per HTTP thread and key: Mac.getInstance + init cost more than the HMAC itself
    private final ThreadLocal<Mac> secretSha256;
    private final ThreadLocal<Mac> secretSha1;
    private final ThreadLocal<Mac> tokenSha256;

    public WebhookAuthenticator(byte[] secret) {
        this(secret, null);
    }

    /** @param signingKey the decoded Standard Webhooks key ({@code webhook.signing.key}), or null when none is set */
    public WebhookAuthenticator(byte[] secret, byte[] signingKey) {
        this(secret, signingKey, java.time.Clock.systemUTC());
    }

    /** With the clock that timestamps are checked against: for tests with published vectors. */
    WebhookAuthenticator(byte[] secret, byte[] signingKey, java.time.Clock clock) {
        this.clock = clock;
        if (secret.length == 0) {
            throw new IllegalArgumentException("empty secret");
        }
        this.secret = secret.clone();
        this.signingKey = signingKey == null ? null : signingKey.clone();
        new SecureRandom().nextBytes(tokenKey);
        this.secretTokenDigest = mac("HmacSHA256", tokenKey, this.secret);
        this.secretSha256 = ThreadLocal.withInitial(() -> newMac("HmacSHA256", this.secret));
        this.secretSha1 = ThreadLocal.withInitial(() -> newMac("HmacSHA1", this.secret));
        this.tokenSha256 = ThreadLocal.withInitial(() -> newMac("HmacSHA256", tokenKey));
    }

    /**
     * @param header looks up a request header by name, case-insensitively; null when absent
     * @param body   the raw request body, exactly as received
     */
    public AuthResult authenticate(Function<String, String> header, byte[] body) {
        return authenticateAll(name -> {
            String value = header.apply(name);
            return value == null ? List.of() : List.of(value);
        }, body);
    }

    /** The {@code X-Hub-Signature-256} value of {@code body} under the secret: for the daemon's own warm-up request. */
    public String signSha256(byte[] body) {
        return "sha256=" + HEX.formatHex(secretSha256.get().doFinal(body));
    }

    /**
     * Like {@link #authenticate(Function, byte[])}, seeing every value of a header: a credential header sent
     * more than once is refused, since only one of its values could otherwise be checked.
     *
     * @param headers all values of a request header by name, case-insensitively; empty when absent
     */
    public AuthResult authenticateAll(Function<String, List<String>> headers, byte[] body) {
        List<AuthResult> results = new ArrayList<>(2);
        for (String name : HEADERS) {
            List<String> values = headers.apply(name);
            if (values.size() > 1) {
                return AuthResult.reject(name, "header sent " + values.size() + " times");
            }
            if (values.size() == 1) {
                results.add(check(name, values.get(0).strip(), body));
            }
        }
        List<String> standard = headers.apply(STANDARD_SIGNATURE);
        if (signingKey != null) {
            if (standard.size() > 1) {
                return AuthResult.reject(STANDARD_SIGNATURE, "header sent " + standard.size() + " times");
            }
            if (standard.isEmpty() && !headers.apply("X-Gitlab-Token").isEmpty()) {
                return AuthResult.reject("X-Gitlab-Token", "webhook.signing.key is set: a GitLab delivery must be"
                        + " signed (webhook-signature), the secret token alone is not enough");
            }
            if (!standard.isEmpty()) {
                results.add(0, standard(headers, standard.get(0), body));
            }
        }
        if (results.isEmpty()) {
            return AuthResult.reject("none", "no signature or token header (expected one of "
                    + String.join(", ", HEADERS) + (signingKey == null ? "" : ", " + STANDARD_SIGNATURE) + ")");
        }
        for (AuthResult r : results) {
            if (!r.accepted()) {
                return r;
            }
        }
        return results.get(0);
    }

    /**
     * Standard Webhooks: {@code webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>} (several
     * space-separated, during a key rotation: one must match), with {@code webhook-id} and a
     * {@code webhook-timestamp} within {@link ManualProof#TOLERANCE} of this clock.
     */
    private AuthResult standard(Function<String, List<String>> headers, String signatures, byte[] body) {
        List<String> ids = headers.apply("webhook-id");
        List<String> times = headers.apply("webhook-timestamp");
        if (ids.size() != 1 || times.size() != 1 || ids.get(0).isBlank()) {
            return AuthResult.reject(STANDARD_SIGNATURE, "webhook-id and webhook-timestamp must come with it, once each");
        }
        long time;
        try {
            time = Long.parseLong(times.get(0).strip());
        } catch (NumberFormatException e) {
            return AuthResult.reject(STANDARD_SIGNATURE, "webhook-timestamp is not a number of seconds");
        }
        if (Math.abs(clock.instant().getEpochSecond() - time) > ManualProof.TOLERANCE.toSeconds()) {
            return AuthResult.reject(STANDARD_SIGNATURE, "webhook-timestamp is more than 5 minutes away from this"
                    + " clock (a replay, or a clock that is off)");
        }
        byte[] prefix = (ids.get(0).strip() + "." + time + ".").getBytes(StandardCharsets.UTF_8);
        byte[] signed = new byte[prefix.length + body.length];
        System.arraycopy(prefix, 0, signed, 0, prefix.length);
        System.arraycopy(body, 0, signed, prefix.length, body.length);
        byte[] expected = ManualProof.hmac(signingKey, signed);
        boolean any = false;
        boolean match = false;
        for (String part : signatures.strip().split("\\s+")) {
            if (!part.startsWith("v1,")) {
                continue;
            }
            any = true;
            try {
                match |= MessageDigest.isEqual(expected, java.util.Base64.getDecoder().decode(part.substring(3)));
            } catch (IllegalArgumentException e) {
                // not base64: cannot match
            }
        }
        if (!any) {
            return AuthResult.reject(STANDARD_SIGNATURE, "no v1,<signature> in it");
        }
        return match ? AuthResult.accept(STANDARD_SIGNATURE)
                : AuthResult.reject(STANDARD_SIGNATURE, "signature does not match (wrong webhook.signing.key, or the body was changed)");
    }

    /**
     * A manual request's {@link ManualProof}: its time within five minutes of this clock and its HMAC over
     * the method, path, time, nonce and body. The nonce is returned in the result for the caller, who
     * accepts each nonce once.
     */
    public AuthResult authenticateManual(Function<String, List<String>> headers, String method, String path, byte[] body) {
        List<String> values = headers.apply(ManualProof.HEADER);
        if (values.isEmpty()) {
            return AuthResult.reject(ManualProof.HEADER, "a manual request needs " + ManualProof.HEADER
                    + " (pullhook deploy, or see docs/hosts.md); a git host's signature is not accepted without its event header");
        }
        if (values.size() > 1) {
            return AuthResult.reject(ManualProof.HEADER, "header sent " + values.size() + " times");
        }
        ManualProof.Parsed proof = ManualProof.parse(values.get(0));
        if (proof == null) {
            return AuthResult.reject(ManualProof.HEADER, "malformed (expected t=<unix seconds>, n=<16-64 of"
                    + " A-Z a-z 0-9 _ ->, v1=<64 hex digits>)");
        }
        if (Math.abs(clock.instant().getEpochSecond() - proof.time()) > ManualProof.TOLERANCE.toSeconds()) {
            return AuthResult.reject(ManualProof.HEADER, "its time is more than 5 minutes away from this clock"
                    + " (a replay, or a clock that is off)");
        }
        byte[] expected = secretSha256.get().doFinal(ManualProof.message(method, path, proof.time(), proof.nonce(), body));
        return MessageDigest.isEqual(expected, proof.mac()) ? AuthResult.acceptManual(proof.nonce())
                : AuthResult.reject(ManualProof.HEADER, "signature does not match (wrong secret, or another method, path or body)");
    }

    private AuthResult check(String name, String value, byte[] body) {
        if (value.isEmpty()) {
            return AuthResult.reject(name, "header is empty (is a secret set on the webhook?)");
        }
        return switch (name) {
            case "X-Hub-Signature-256" -> prefixed(name, value, body, false);
            case "X-Hub-Signature" -> prefixed(name, value, body, true);
            case "X-Gitlab-Token" -> token(name, value);
            default -> hmac(name, value, "HmacSHA256", 64, body);
        };
    }

    /** {@code sha256=<hex>}; on {@code X-Hub-Signature} also {@code sha1=<hex>} or the plain secret (the tutorial's manual trigger). */
    private AuthResult prefixed(String name, String value, byte[] body, boolean legacyHeader) {
        int eq = value.indexOf('=');
        String algorithm = eq > 0 ? value.substring(0, eq).toLowerCase(Locale.ROOT) : "";
        String digest = eq > 0 ? value.substring(eq + 1) : "";
        if (algorithm.equals("sha256")) {
            return hmac(name, digest, "HmacSHA256", 64, body);
        }
        if (legacyHeader && algorithm.equals("sha1")) {
            return hmac(name, digest, "HmacSHA1", 40, body);
        }
        if (legacyHeader) {
            AuthResult asToken = token(name, value);
            if (asToken.accepted() || eq <= 0 || !algorithm.matches("(sha|md|hmac)[a-z0-9-]*")) {
                return asToken;
            }
        }
        return AuthResult.reject(name, eq > 0 ? "unsupported algorithm prefix (expected sha256=)"
                : "missing sha256= prefix");
    }

    private AuthResult hmac(String name, String hex, String algorithm, int hexLength, byte[] body) {
        if (hex.length() != hexLength) {
            return AuthResult.reject(name, "malformed signature (expected " + hexLength + " hex digits, got "
                    + hex.length() + " characters)");
        }
        byte[] given;
        try {
            given = HEX.parseHex(hex.toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return AuthResult.reject(name, "malformed signature (not hex)");
        }
        byte[] expected = (algorithm.equals("HmacSHA1") ? secretSha1 : secretSha256).get().doFinal(body);
        return MessageDigest.isEqual(expected, given) ? AuthResult.accept(name)
                : AuthResult.reject(name, "signature does not match the body (wrong secret, or the body was changed)");
    }

    /** Compares HMACs of both under a random key, so neither the content nor the length of the secret leaks through timing. */
    private AuthResult token(String name, String value) {
        byte[] given = tokenSha256.get().doFinal(value.getBytes(StandardCharsets.UTF_8));
        return MessageDigest.isEqual(secretTokenDigest, given) ? AuthResult.accept(name)
                : AuthResult.reject(name, "token does not match the secret");
    }

    private static byte[] mac(String algorithm, byte[] key, byte[] data) {
        return newMac(algorithm, key).doFinal(data);
    }

    private static Mac newMac(String algorithm, byte[] key) {
        try {
            Mac mac = Mac.getInstance(algorithm);
            mac.init(new SecretKeySpec(key, algorithm));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(algorithm + " is not available in this JVM", e);
        }
    }
}
