package dev.pullhook.webhook;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Finding each host's delivery id, and making whatever a client sends safe to put in a log line. */
class DeliveryIdTest {

    private static String idFrom(String... nameValuePairs) {
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i + 1 < nameValuePairs.length; i += 2) {
            headers.put(nameValuePairs[i], nameValuePairs[i + 1]);
        }
        return DeliveryId.from(headers::get);
    }

    /** Each row: the host's delivery-id header and value, and the event header the same host sends with it. */
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
            "X-Request-UUID,      {3f1c2e4a-9b7d-4c1e-8a2f-1d2c3b4a5e6f}, X-Event-Key,     repo:push",          // Bitbucket Cloud
            "X-Request-Id,        0f5d2b1a-7c3e-4d9f-b2a1-3e4f5a6b7c8d,   X-Event-Key,     repo:refs_changed",  // Bitbucket DC
            "X-GitHub-Delivery,   72d3162e-cc78-11e3-81ab-4c9367dc0958,   X-GitHub-Event,  push",               // GitHub
            "Idempotency-Key,     f5e5f430-f57b-4e6e-9fac-d9128cd7232f,   X-Gitlab-Event,  Push Hook",          // GitLab 17.4+
            "X-Gitlab-Event-UUID, 13792a34-cac6-4fda-95a8-c58e00a3954e,   X-Gitlab-Event,  Push Hook",          // GitLab 14.8+
            "X-Gitea-Delivery,    f6266f16-1bf3-46a5-9ea4-602e06ead473,   X-Gitea-Event,   push",               // Gitea
            "X-Forgejo-Delivery,  a1b2c3d4-1bf3-46a5-9ea4-602e06ead473,   X-Forgejo-Event, push",               // Forgejo
            "X-Gogs-Delivery,     b2c3d4e5-1bf3-46a5-9ea4-602e06ead473,   X-Gogs-Event,    push",               // Gogs
    })
    void picksTheDeliveryIdFromEachHostsHeader(String header, String id, String eventHeader, String event) {
        assertEquals(id, idFrom(header, id, eventHeader, event, "Content-Type", "application/json"));
    }

    @Test
    void requestIdSetByAProxyIsNotTakenForABitbucketDeliveryId() {
        assertNull(idFrom("X-Request-Id", "proxy-request-1", "X-GitHub-Event", "push"));
        assertEquals("gh-1", idFrom("X-Request-Id", "proxy-request-1", "X-GitHub-Delivery", "gh-1"));
    }

    @Test
    void headerNamesAreMatchedWhateverTheirCase() {
        assertEquals("abc-123", idFrom("x-github-delivery", "abc-123"));
    }

    @Test
    void isNullWhenTheRequestCarriesNoDeliveryId() {
        assertNull(idFrom("Content-Type", "application/json", "X-GitHub-Event", "push"));
    }

    @Test
    void blankHeaderCountsAsAbsent() {
        assertNull(idFrom("X-GitHub-Delivery", "   "));
        assertEquals("abc-123", idFrom("X-Request-UUID", "", "X-GitHub-Delivery", "abc-123"));
    }

    @Test
    void prefersGitlabsRetryStableIdempotencyKeyOverThePerEventUuid() {
        assertEquals("retry-stable", idFrom("X-Gitlab-Event-UUID", "per-event", "Idempotency-Key", "retry-stable"));
    }

    @Test
    void giteaSendingItsOwnAndGithubsHeaderGivesTheSameId() {
        String id = "f6266f16-1bf3-46a5-9ea4-602e06ead473";
        assertEquals(id, idFrom("X-Gitea-Delivery", id, "X-GitHub-Delivery", id));
    }

    @Test
    void stripsSurroundingWhitespace() {
        assertEquals("abc-123", idFrom("X-GitHub-Delivery", "  abc-123\t"));
    }

    @Test
    void replacesControlCharactersSoALogLineCannotBeForged() {
        String id = idFrom("X-GitHub-Delivery", "abc\r\n2026-01-01 [main] INFO fake line\u0000\u001b[31m");
        assertTrue(id.chars().allMatch(c -> c >= 0x20 && c < 0x7f), id);
        assertTrue(id.startsWith("abc__"), id);
        assertTrue(!id.contains(" ") && !id.contains("[") && !id.contains("\u001b"), id);
    }

    @Test
    void replacesCharactersOutsideAPlainIdAlphabet() {
        assertEquals("a_b_c_d__e", idFrom("X-GitHub-Delivery", "a b\"c=dé\\e"));
    }

    @Test
    void keepsTheCharactersRealIdsUse() {
        String id = "{673a6070-3421-46c9-9d48-90745f7bfe8e}_v1.2:X";
        assertEquals(id, idFrom("X-Request-UUID", id));
    }

    @Test
    void cutsALongValueTo80Characters() {
        String id = idFrom("X-GitHub-Delivery", "x".repeat(10_000));
        assertEquals("x".repeat(80), id);
    }
}
