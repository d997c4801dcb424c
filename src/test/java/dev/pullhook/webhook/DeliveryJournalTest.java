package dev.pullhook.webhook;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The deliveries journal of an earlier pullhook still reads, every outcome there has been, and is kept as written. */
class DeliveryJournalTest {
    private static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    /** Lines as pullhook 0.1.0 (main at a407b78) writes them: at, outcome, deploy, host, event, key. */
    private static final List<String> WRITTEN = List.of(
            line(1, "received", 0, "github", "push", "github/a"),
            line(2, "pong", 0, "github", "ping", "github/b"),
            line(3, "ignored", 0, "gitlab", "Push Hook", "gitlab/c"),
            line(4, "up-to-date", 0, "bitbucket-cloud", "repo:push", "bitbucket-cloud/d"),
            line(5, "queued", 7, "gitea", "push", "gitea/e"),
            line(6, "deployed", 8, "forgejo", "push", "forgejo/f"),
            line(7, "failed", 9, "bitbucket-dc", "repo:refs_changed", "bitbucket-dc/g"),
            line(8, "received", 0, "manual", "manual", "nonce/h"));

    @TempDir
    Path dir;

    private static String line(int minutesAgo, String outcome, long deploy, String host, String event, String key) {
        return NOW.minus(Duration.ofMinutes(60 - minutesAgo)).toEpochMilli() + "\t" + outcome + "\t" + deploy + "\t"
                + host + "\t" + event + "\t" + key;
    }

    @Test
    void anEarlierJournalReadsBackAsWritten() throws Exception {
        Path journal = dir.resolve("deliveries");
        Files.writeString(journal, String.join("\n", WRITTEN) + "\n", StandardCharsets.UTF_8);
        RecentDeliveries deliveries = new RecentDeliveries(100, Duration.ofDays(7), Clock.fixed(NOW, ZoneOffset.UTC), journal);
        List<String> outcomes = new ArrayList<>();
        for (RecentDeliveries.Entry e : deliveries.recent(100)) {
            outcomes.add(0, e.host() + " " + e.outcome() + " " + e.deployId());
        }
        assertEquals(List.of("github received 0", "github pong 0", "gitlab ignored 0", "bitbucket-cloud up-to-date 0",
                "gitea queued 7", "forgejo deployed 8", "bitbucket-dc failed 9"), outcomes);
        // read, then compacted: written back line for line
        assertEquals(WRITTEN, Files.readAllLines(journal, StandardCharsets.UTF_8));
        // a failed delivery may come again; a deployed one is a duplicate; the nonce was used
        assertNull(deliveries.claim("bitbucket-dc/g", Host.BITBUCKET_DC, "repo:refs_changed"));
        assertNotNull(deliveries.claim("forgejo/f", Host.FORGEJO, "push"));
        assertNotNull(deliveries.claim("nonce/h", Host.MANUAL, "manual"));
    }
}
