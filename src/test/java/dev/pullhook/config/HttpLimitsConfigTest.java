package dev.pullhook.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.pullhook.config.ConfigFixture.assertProblem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code server.*} limits ({@link HttpLimits}): their defaults, and the problems that name each key. */
class HttpLimitsConfigTest extends ConfigFixture {
    private static Config load(String... keyValues) throws ConfigException {
        Map<String, String> values = new HashMap<>();
        values.put("repo.path", repos.site.toString());
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            values.put(keyValues[i], keyValues[i + 1]);
        }
        return new ConfigLoader(Map.of("PULLHOOK_SECRET", "a-secret-long-enough-0123456789"), w -> { }).fromMap(values);
    }

    private static List<String> problems(String... keyValues) {
        return assertThrows(ConfigException.class, () -> load(keyValues)).problems();
    }

    @Test
    void defaultsAreTheDocumentedOnes() throws Exception {
        HttpLimits limits = load().limits();
        assertEquals(1024, limits.connectionsMax());
        assertEquals(Duration.ofSeconds(10), limits.headerTimeout());
        assertEquals(Duration.ofSeconds(10), limits.idleTimeout());
        assertEquals(1024, limits.bodyMinBytesPerSecond());
        assertEquals(16L * 1024 * 1024, limits.bodyBudgetBytes());
    }

    @Test
    void everyLimitIsReadAndLoggedWithItsKey() throws Exception {
        Config config = load("server.connections.max", "300", "server.header.timeout.seconds", "5",
                "server.idle.timeout.seconds", "20", "server.body.min.bytes.per.second", "0",
                "server.body.budget.bytes", "6000000");
        assertEquals(new HttpLimits(300, Duration.ofSeconds(5), Duration.ofSeconds(20), 0, 6_000_000), config.limits());
        assertTrue(config.toString().contains("server.connections.max=300 server.header.timeout.seconds=5"
                + " server.idle.timeout.seconds=20 server.body.min.bytes.per.second=0 server.body.budget.bytes=6000000"),
                config.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"server.connections.max=15", "server.connections.max=100001", "server.header.timeout.seconds=0",
            "server.idle.timeout.seconds=3601", "server.body.min.bytes.per.second=-1", "server.body.budget.bytes=1023"})
    void limitOutsideItsRangeIsAProblemNamingTheKey(String keyValue) {
        String[] kv = keyValue.split("=");
        assertProblem(problems(kv[0], kv[1]), kv[0], "out of range");
    }

    @Test
    void limitThatIsNotANumberIsAProblemNamingTheKey() {
        assertProblem(problems("server.idle.timeout.seconds", "10s"), "server.idle.timeout.seconds",
                "\"10s\" is not a whole number");
    }

    @Test
    void budgetSmallerThanTheLargestBodyIsAProblem() {
        assertProblem(problems("webhook.max.body.bytes", "2000000", "server.body.budget.bytes", "1999999"),
                "server.body.budget.bytes", "less than webhook.max.body.bytes (2000000)");
    }

    @Test
    void budgetOverHalfTheHeapIsAProblemSayingToRaiseTheHeap() {
        long tooMuch = Runtime.getRuntime().maxMemory() / 2 + 1;
        assertProblem(problems("server.body.budget.bytes", Long.toString(tooMuch)), "server.body.budget.bytes",
                "more than half the Java heap");
    }

    @Test
    void perClientCapAboveTheOverallCapIsAProblem() {
        assertProblem(problems("server.connections.max", "20", "server.connections.per.client", "21"),
                "server.connections.per.client", "more than server.connections.max (20)");
    }

    @Test
    void warmUpIsOnByDefaultAndOffWithServerWarmupFalse() throws Exception {
        assertTrue(load().warmUp());
        Config off = load("server.warmup", "false");
        assertFalse(off.warmUp());
        assertTrue(off.toString().contains(" server.warmup=false "), off::toString);
        Config fromEnv = new ConfigLoader(Map.of("PULLHOOK_SECRET", "a-secret-long-enough-0123456789",
                "PULLHOOK_SERVER_WARMUP", "FALSE"), w -> { }).fromMap(Map.of("repo.path", repos.site.toString()));
        assertFalse(fromEnv.warmUp(), "PULLHOOK_SERVER_WARMUP");
        assertProblem(problems("server.warmup", "off"), "server.warmup", "\"off\" is not true or false");
    }
}
