package dev.pullhook.webhook;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The signature and token checks, against GitHub's published test vector (providers.md section 3) and the
 * same inputs framed the way each other host frames them.
 */
class WebhookAuthenticatorTest {
    private static final String SECRET = "It's a Secret to Everybody";
    private static final byte[] BODY = "Hello, World!".getBytes(StandardCharsets.UTF_8);
    private static final String SHA256_HEX = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    private static final String SHA1_HEX = "01dc10d0c83e72ed246219cdd91669667fe2ca59";

    private final WebhookAuthenticator authenticator =
            new WebhookAuthenticator(SECRET.getBytes(StandardCharsets.UTF_8));

    /** Looks headers up case-insensitively, as the HTTP server does. */
    private AuthResult check(byte[] body, String... nameValuePairs) {
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i + 1 < nameValuePairs.length; i += 2) {
            headers.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return authenticator.authenticate(headers::get, body);
    }

    private AuthResult check(String... nameValuePairs) {
        return check(BODY, nameValuePairs);
    }

    private static void assertAccepted(AuthResult result, String header) {
        assertTrue(result.accepted(), () -> "expected accepted, got " + result);
        assertEquals(header, result.header());
    }

    /** Rejected, and the reason (which gets logged) shows neither the secret nor what the client sent. */
    private static void assertRejected(AuthResult result, String... sentValues) {
        assertFalse(result.accepted(), () -> "expected rejected, got " + result);
        assertFalse(result.reason() == null || result.reason().isBlank(), "a rejection has a reason");
        assertFalse(result.reason().contains(SECRET), () -> "reason shows the secret: " + result.reason());
        for (String sent : sentValues) {
            if (sent.strip().length() >= 8) {
                assertFalse(result.reason().contains(sent.strip()),
                        () -> "reason shows the header value: " + result.reason());
            }
        }
    }

    @Test
    void githubPublishedVectorIsAcceptedOnXHubSignature256() {
        assertAccepted(check("X-Hub-Signature-256", "sha256=" + SHA256_HEX), "X-Hub-Signature-256");
    }

    @Test
    void bitbucketSha256OnXHubSignatureIsAccepted() {
        assertAccepted(check("X-Hub-Signature", "sha256=" + SHA256_HEX), "X-Hub-Signature");
    }

    @Test
    void legacyGithubSha1OnXHubSignatureIsAccepted() {
        assertAccepted(check("X-Hub-Signature", "sha1=" + SHA1_HEX), "X-Hub-Signature");
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"})
    void bareHexSignatureOfGiteaForgejoAndGogsIsAccepted(String header) {
        assertAccepted(check(header, SHA256_HEX), header);
    }

    @Test
    void gitlabTokenEqualToTheSecretIsAccepted() {
        assertAccepted(check("X-Gitlab-Token", SECRET), "X-Gitlab-Token");
    }

    @Test
    void plainSecretOnXHubSignatureIsAcceptedAsTheTutorialsManualTrigger() {
        assertAccepted(check("X-Hub-Signature", SECRET), "X-Hub-Signature");
    }

    @Test
    void headerNamesAreMatchedWhateverTheirCase() {
        assertAccepted(check("x-hub-signature-256", "sha256=" + SHA256_HEX), "X-Hub-Signature-256");
    }

    @Test
    void upperCaseHexIsAccepted() {
        String upper = SHA256_HEX.toUpperCase(Locale.ROOT);
        assertAccepted(check("X-Hub-Signature-256", "sha256=" + upper), "X-Hub-Signature-256");
        assertAccepted(check("X-Gitea-Signature", upper), "X-Gitea-Signature");
        assertAccepted(check("X-Hub-Signature", "sha1=" + SHA1_HEX.toUpperCase(Locale.ROOT)), "X-Hub-Signature");
    }

    @Test
    void giteaRequestWithEveryHeaderValidIsAccepted() {
        AuthResult result = check(
                "X-Gitea-Signature", SHA256_HEX,
                "X-Hub-Signature-256", "sha256=" + SHA256_HEX,
                "X-Hub-Signature", "sha1=" + SHA1_HEX);
        assertTrue(result.accepted(), result::toString);
    }

    @Test
    void forgejoRequestWithEveryHeaderValidIsAccepted() {
        AuthResult result = check(
                "X-Forgejo-Signature", SHA256_HEX,
                "X-Gitea-Signature", SHA256_HEX,
                "X-Hub-Signature-256", "sha256=" + SHA256_HEX,
                "X-Hub-Signature", "sha1=" + SHA1_HEX);
        assertTrue(result.accepted(), result::toString);
    }

    @Test
    void emptyBodyWithItsSignatureIsAccepted() {
        String sig = dev.pullhook.testing.Signatures.sha256(SECRET, new byte[0]);
        assertAccepted(check(new byte[0], "X-Hub-Signature-256", sig), "X-Hub-Signature-256");
    }

    @Test
    void rejectsRequestWithoutSignatureHeader() {
        AuthResult result = check(BODY, "Content-Type", "application/json", "X-GitHub-Event", "push");
        assertRejected(result);
        assertEquals("none", result.header());
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Hub-Signature", "X-Gitea-Signature", "X-Forgejo-Signature",
            "X-Gogs-Signature", "X-Gitlab-Token"})
    void rejectsEmptyHeader(String header) {
        assertRejected(check(header, ""));
        assertRejected(check(header, "   "));
    }

    @Test
    void rejectsGiteaRequestWithEmptyHeadersAsSentWhenTheHookHasNoSecret() {
        assertRejected(check("X-Gitea-Signature", "", "X-Hub-Signature-256", "", "X-Hub-Signature", ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Hub-Signature"})
    void rejectsUnsupportedAlgorithmPrefix(String header) {
        String sha512 = "sha512=" + SHA256_HEX + SHA256_HEX;
        String md5 = "md5=" + SHA256_HEX.substring(0, 32);
        assertRejected(check(header, sha512), sha512);
        assertRejected(check(header, md5), md5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Hub-Signature"})
    void rejectsSignatureWithoutPrefix(String header) {
        assertRejected(check(header, SHA256_HEX), SHA256_HEX);
    }

    @Test
    void rejectsSha1OnTheSha256OnlyHeader() {
        assertRejected(check("X-Hub-Signature-256", "sha1=" + SHA1_HEX), SHA1_HEX);
    }

    @Test
    void rejectsPlainSecretOnXHubSignature256() {
        assertRejected(check("X-Hub-Signature-256", SECRET), SECRET);
    }

    @Test
    void rejectsPrefixedSignatureOnTheBareHexHeaders() {
        assertRejected(check("X-Gitea-Signature", "sha256=" + SHA256_HEX), SHA256_HEX);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Hub-Signature", "X-Gitea-Signature"})
    void rejectsTruncatedSignature(String header) {
        String hex = SHA256_HEX.substring(0, 63);
        String value = header.startsWith("X-Hub") ? "sha256=" + hex : hex;
        assertRejected(check(header, value), value);
        String half = header.startsWith("X-Hub") ? "sha256=" + SHA256_HEX.substring(0, 32) : SHA256_HEX.substring(0, 32);
        assertRejected(check(header, half), half);
    }

    @Test
    void rejectsTruncatedSha1Signature() {
        String value = "sha1=" + SHA1_HEX.substring(0, 39);
        assertRejected(check("X-Hub-Signature", value), value);
    }

    @Test
    void rejectsSignatureWithTooManyDigits() {
        String value = "sha256=" + SHA256_HEX + "00";
        assertRejected(check("X-Hub-Signature-256", value), value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Gitea-Signature"})
    void rejectsNonHexSignatureOfTheRightLength(String header) {
        String notHex = "g" + SHA256_HEX.substring(1);
        String value = header.startsWith("X-Hub") ? "sha256=" + notHex : notHex;
        assertRejected(check(header, value), value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"X-Hub-Signature-256", "X-Hub-Signature"})
    void rejectsDoubledPrefix(String header) {
        String value = "sha256=sha256=" + SHA256_HEX;
        assertRejected(check(header, value), value);
    }

    @Test
    void rejectsSignatureOfADifferentBody() {
        String value = "sha256=" + SHA256_HEX;
        assertRejected(check("Goodbye, World!".getBytes(StandardCharsets.UTF_8), "X-Hub-Signature-256", value), value);
        assertRejected(check(new byte[0], "X-Hub-Signature-256", value), value);
    }

    @Test
    void rejectsBodyWithOneByteChanged() {
        byte[] changed = BODY.clone();
        changed[changed.length - 1] = '?';
        assertRejected(check(changed, "X-Hub-Signature-256", "sha256=" + SHA256_HEX));
        assertRejected(check(changed, "X-Gitea-Signature", SHA256_HEX));
        assertRejected(check(changed, "X-Hub-Signature", "sha1=" + SHA1_HEX));
    }

    @Test
    void rejectsSignatureMadeWithAnotherSecret() {
        String value = dev.pullhook.testing.Signatures.sha256("not the secret at all", BODY);
        assertRejected(check("X-Hub-Signature-256", value), value);
    }

    @Test
    void rejectsWrongToken() {
        assertRejected(check("X-Gitlab-Token", "wrong-token-value"), "wrong-token-value");
        assertRejected(check("X-Gitlab-Token", SECRET + "x"), SECRET + "x");
        assertRejected(check("X-Gitlab-Token", SECRET.substring(0, SECRET.length() - 1)));
        assertRejected(check("X-Hub-Signature", "wrong-token-value"), "wrong-token-value");
    }

    @Test
    void rejectsTokenThatIsTheSignatureNotTheSecret() {
        assertRejected(check("X-Gitlab-Token", "sha256=" + SHA256_HEX), SHA256_HEX);
    }

    @Test
    void rejectsWhenOneValidHeaderIsContradictedByAnInvalidOne() {
        String bad = "0".repeat(64);
        assertRejected(check("X-Hub-Signature-256", "sha256=" + SHA256_HEX, "X-Gitea-Signature", bad), bad);
        assertRejected(check("X-Hub-Signature-256", "sha256=" + bad, "X-Gitea-Signature", SHA256_HEX), bad);
        assertRejected(check("X-Hub-Signature-256", "sha256=" + SHA256_HEX, "X-Hub-Signature", "sha1=" + "0".repeat(40)));
        assertRejected(check("X-Gitea-Signature", SHA256_HEX, "X-Gitlab-Token", "wrong-token-value"), "wrong-token-value");
    }

    @Test
    void rejectionNamesTheHeaderThatFailed() {
        AuthResult result = check("X-Hub-Signature-256", "sha256=" + SHA256_HEX, "X-Gitea-Signature", "0".repeat(64));
        assertEquals("X-Gitea-Signature", result.header());
    }

    @Test
    void refusesAnEmptySecret() {
        assertThrows(IllegalArgumentException.class, () -> new WebhookAuthenticator(new byte[0]));
    }

    // Standard Webhooks' published test vector (standard-webhooks spec, also GitLab's signing token format)
    private static final byte[] SW_KEY = java.util.Base64.getDecoder().decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    private static final String SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static final long SW_TIME = 1614265330L;
    private static final byte[] SW_BODY = "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8);
    private static final String SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private static AuthResult standard(long now, byte[] body, String... nameValuePairs) {
        WebhookAuthenticator a = new WebhookAuthenticator(SECRET.getBytes(StandardCharsets.UTF_8), SW_KEY,
                java.time.Clock.fixed(java.time.Instant.ofEpochSecond(now), java.time.ZoneOffset.UTC));
        Map<String, java.util.List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i + 1 < nameValuePairs.length; i += 2) {
            headers.computeIfAbsent(nameValuePairs[i], k -> new java.util.ArrayList<>()).add(nameValuePairs[i + 1]);
        }
        return a.authenticateAll(name -> headers.getOrDefault(name, java.util.List.of()), body);
    }

    @Test
    void standardWebhooksVectorIsAccepted() {
        assertAccepted(standard(SW_TIME, SW_BODY, "webhook-id", SW_ID, "webhook-timestamp", Long.toString(SW_TIME),
                "webhook-signature", SW_SIGNATURE), "webhook-signature");
    }

    @Test
    void standardWebhooksAcceptsOneMatchingSignatureAmongSeveral() {
        String wrong = "v1," + java.util.Base64.getEncoder().encodeToString(new byte[32]);
        assertAccepted(standard(SW_TIME + 299, SW_BODY, "webhook-id", SW_ID, "webhook-timestamp", Long.toString(SW_TIME),
                "webhook-signature", wrong + " v1a,ignored " + SW_SIGNATURE), "webhook-signature");
    }

    @Test
    void standardWebhooksRefusesAnOldOrFutureTimestampAChangedBodyOrId() {
        String[] good = {"webhook-id", SW_ID, "webhook-timestamp", Long.toString(SW_TIME), "webhook-signature", SW_SIGNATURE};
        assertFalse(standard(SW_TIME + 301, SW_BODY, good).accepted(), "more than 5 minutes later");
        assertFalse(standard(SW_TIME - 301, SW_BODY, good).accepted(), "more than 5 minutes earlier");
        assertFalse(standard(SW_TIME, "{\"test\": 2432232315}".getBytes(StandardCharsets.UTF_8), good).accepted());
        assertFalse(standard(SW_TIME, SW_BODY, "webhook-id", SW_ID + "x", "webhook-timestamp", Long.toString(SW_TIME),
                "webhook-signature", SW_SIGNATURE).accepted());
        assertFalse(standard(SW_TIME, SW_BODY, "webhook-timestamp", Long.toString(SW_TIME),
                "webhook-signature", SW_SIGNATURE).accepted(), "no webhook-id");
        assertFalse(standard(SW_TIME, SW_BODY, "webhook-id", SW_ID, "webhook-timestamp", Long.toString(SW_TIME),
                "webhook-signature", SW_SIGNATURE, "webhook-signature", SW_SIGNATURE).accepted(), "header twice");
    }

    @Test
    void withASigningKeyTheGitlabTokenAloneIsRefused() {
        AuthResult r = standard(SW_TIME, SW_BODY, "X-Gitlab-Token", SECRET);
        assertFalse(r.accepted());
        assertEquals("X-Gitlab-Token", r.header());
        assertFalse(r.reason().contains(SECRET));
    }

    private static final String MANUAL_VECTOR = "4b712ed211939e4f8df3f8fd9d2792cf252dc66568f1dde5588f7752f3cc6ca3";

    // the manual proof, against a value computed independently by the shell (printf | openssl dgst)
    @Test
    void manualProofComputedByOpensslIsAccepted() {
        // t=1700000000 n=0123456789abcdef0123456789abcdef, path /pull-repo, empty body:
        // printf 'pullhook-v1\nPOST\n/pull-repo\n1700000000\n0123456789abcdef0123456789abcdef\n%s' \
        //   "$(printf '' | sha256sum | cut -d' ' -f1)" | openssl dgst -sha256 -hmac "It's a Secret to Everybody" -r
        String header = "t=1700000000, n=0123456789abcdef0123456789abcdef, v1=" + MANUAL_VECTOR;
        WebhookAuthenticator a = new WebhookAuthenticator(SECRET.getBytes(StandardCharsets.UTF_8), null,
                java.time.Clock.fixed(java.time.Instant.ofEpochSecond(1700000100L), java.time.ZoneOffset.UTC));
        AuthResult ok = a.authenticateManual(n -> n.equalsIgnoreCase("X-Pullhook-Auth") ? java.util.List.of(header)
                : java.util.List.of(), "POST", "/pull-repo", new byte[0]);
        assertTrue(ok.accepted(), ok::toString);
        assertEquals("0123456789abcdef0123456789abcdef", ok.nonce());
        AuthResult otherPath = a.authenticateManual(n -> n.equalsIgnoreCase("X-Pullhook-Auth") ? java.util.List.of(header)
                : java.util.List.of(), "POST", "/rollback", new byte[0]);
        assertFalse(otherPath.accepted(), "a proof for /pull-repo does not open /rollback");
    }
}
