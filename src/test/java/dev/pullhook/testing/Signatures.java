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

    /**
     * The value of {@code X-Pullhook-Auth} for a manual request, computed here from its documented definition
     * (not with the daemon's code): {@code t=<time>, n=<nonce>, v1=<hex HMAC-SHA256 of
     * "pullhook-v1\n<method>\n<path>\n<t>\n<nonce>\n<hex SHA-256 of the body>">}.
     */
    public static String manual(String secret, String method, String path, byte[] body, long unixSeconds, String nonce) {
        String bodyHash;
        try {
            bodyHash = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        String message = "pullhook-v1\n" + method + "\n" + path + "\n" + unixSeconds + "\n" + nonce + "\n" + bodyHash;
        return "t=" + unixSeconds + ", n=" + nonce + ", v1="
                + hmacHex("HmacSHA256", secret, message.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #manual} for now, with a fresh random nonce. */
    public static String manual(String secret, String path, byte[] body) {
        return manual(secret, "POST", path, body, System.currentTimeMillis() / 1000, freshNonce());
    }

    public static String freshNonce() {
        byte[] random = new byte[16];
        new java.security.SecureRandom().nextBytes(random);
        return HexFormat.of().formatHex(random);
    }

    /** The names of the git hosts' event headers: a request without one is a manual request. */
    public static final java.util.List<String> EVENT_HEADERS = java.util.List.of("X-GitHub-Event", "X-Event-Key",
            "X-Gitlab-Event", "X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event");

    /** True when the headers (name, value, name, value...) name a git host's event. */
    public static boolean hasEventHeader(String... headers) {
        for (int i = 0; i + 1 < headers.length; i += 2) {
            String name = headers[i];
            if (EVENT_HEADERS.stream().anyMatch(name::equalsIgnoreCase)) {
                return true;
            }
        }
        return false;
    }

    /** {@code sha1=<hex>}, GitHub's legacy X-Hub-Signature. */
    public static String sha1(String secret, byte[] body) {
        return "sha1=" + hmacHex("HmacSHA1", secret, body);
    }
}
