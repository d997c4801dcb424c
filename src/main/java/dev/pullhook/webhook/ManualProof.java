package dev.pullhook.webhook;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The proof a manual request carries ({@code POST /rollback}, and {@code POST /pull-repo} without a git
 * host's event header): {@code X-Pullhook-Auth: t=<unix seconds>, n=<nonce>, v1=<hex>}, where the hex is
 * the HMAC-SHA256, under the webhook secret, of
 * <pre>pullhook-v1\n&lt;METHOD&gt;\n&lt;path&gt;\n&lt;t&gt;\n&lt;nonce&gt;\n&lt;hex SHA-256 of the body&gt;</pre>
 * A git host's signature covers the body alone, so a captured delivery can never stand in for one; the
 * time must be within {@link #TOLERANCE} of the daemon's clock and a nonce is accepted once, so a captured
 * manual request cannot be sent again either. The same shape as the command line's, or a shell's:
 * <pre>
 * t=$(date +%s); n=$(openssl rand -hex 16)
 * v=$(printf 'pullhook-v1\nPOST\n/pull-repo\n%s\n%s\n%s' "$t" "$n" "$(printf '' | sha256sum | cut -d' ' -f1)" \
 *     | openssl dgst -sha256 -hmac "$(cat /etc/pullhook/secret)" -r | cut -d' ' -f1)
 * curl -X POST -H "X-Pullhook-Auth: t=$t, n=$n, v1=$v" https://deploy.example.com/pull-repo
 * </pre>
 */
public final class ManualProof {
    public static final String HEADER = "X-Pullhook-Auth";
    /** How far the request's time may be from the daemon's clock, either way. */
    public static final Duration TOLERANCE = Duration.ofMinutes(5);
    private static final Pattern FORMAT = Pattern.compile(
            "t=(\\d{1,12})\\s*,\\s*n=([A-Za-z0-9_-]{16,64})\\s*,\\s*v1=([0-9A-Fa-f]{64})");
    private static final HexFormat HEX = HexFormat.of();

    private ManualProof() {
    }

    /** A header value in the proof's format. */
    record Parsed(long time, String nonce, byte[] mac) {
    }

    /** The parsed value, or null when it is not in the proof's format. */
    static Parsed parse(String value) {
        Matcher m = FORMAT.matcher(value.strip());
        if (!m.matches()) {
            return null;
        }
        return new Parsed(Long.parseLong(m.group(1)), m.group(2), HEX.parseHex(m.group(3).toLowerCase(java.util.Locale.ROOT)));
    }

    /** What the HMAC covers. */
    static byte[] message(String method, String path, long time, String nonce, byte[] body) {
        return ("pullhook-v1\n" + method + "\n" + path + "\n" + time + "\n" + nonce + "\n" + HEX.formatHex(sha256(body)))
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A fresh proof for a request: the header's value. */
    public static String header(byte[] secret, String method, String path, byte[] body, long unixSeconds) {
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        String nonce = HEX.formatHex(random);
        return "t=" + unixSeconds + ", n=" + nonce + ", v1=" + HEX.formatHex(hmac(secret,
                message(method, path, unixSeconds, nonce, body)));
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    private static byte[] sha256(byte[] body) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(body);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
