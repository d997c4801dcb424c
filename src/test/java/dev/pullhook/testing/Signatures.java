package dev.pullhook.testing;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Computes signatures the way the git hosts do, for building real signed requests in tests. */
public final class Signatures {
    private Signatures() {
    }

    public static String hmacHex(String algorithm, String secret, byte[] body) {
        try {
            Mac mac = Mac.getInstance(algorithm);
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), algorithm));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code sha256=<hex>}, as in GitHub's X-Hub-Signature-256 and Bitbucket's X-Hub-Signature. */
    public static String sha256(String secret, byte[] body) {
        return "sha256=" + hmacHex("HmacSHA256", secret, body);
    }

    public static String sha256(String secret, String body) {
        return sha256(secret, body.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code sha1=<hex>}, GitHub's legacy X-Hub-Signature. */
    public static String sha1(String secret, byte[] body) {
        return "sha1=" + hmacHex("HmacSHA1", secret, body);
    }
}
