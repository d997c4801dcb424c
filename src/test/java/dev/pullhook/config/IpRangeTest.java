package dev.pullhook.config;

import org.eclipse.jetty.util.InetAddressSet;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** config checks addresses without Jetty, and must accept exactly what the HTTP layer's Jetty matcher accepts. */
class IpRangeTest {
    private static final List<String> ACCEPTED = List.of("127.0.0.1", "::1", "10.0.0.0/8", "192.0.2.1/32",
            "0.0.0.0/0", "2001:db8::/32", "::/0", "fe80::1", "::ffff:192.0.2.1", "192.0.2.0/24");
    private static final List<String> REFUSED = List.of("10.0.0.1/8", "192.0.2.0/33", "2001:db8::1/32", "::1/129",
            "1.2.3.4.5", "256.1.1.1", "2001:db8:::1", "10.0.0.0/", "/8", "10.0.0.0-10.0.0.9", "localhost",
            "example.com", "cafe", "1.2.3.4 ", "");

    @Test
    void acceptsAddressesAndRangesJettyAccepts() {
        for (String p : ACCEPTED) {
            assertDoesNotThrow(() -> IpRange.check(p), p);
            assertDoesNotThrow(() -> new InetAddressSet().add(p), p);
        }
    }

    @Test
    void refusesWhatIsNotAnAddressOrRangeWithoutAskingDns() {
        for (String p : REFUSED) {
            assertThrows(IllegalArgumentException.class, () -> IpRange.check(p), p);
        }
    }

    @Test
    void refusesRangesWithHostBitsAsJettyDoes() {
        for (String p : List.of("10.0.0.1/8", "192.0.2.0/33", "2001:db8::1/32", "::1/129")) {
            assertThrows(IllegalArgumentException.class, () -> new InetAddressSet().add(p), p);
        }
    }
}
