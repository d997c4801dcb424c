package dev.pullhook.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks the addresses and CIDR ranges of {@code webhook.allow.from} and {@code server.trusted.proxies} as the
 * HTTP layer's matcher (Jetty's {@code InetAddressSet}) will read it, without that library: a literal
 * IPv4 or IPv6 address, optionally {@code /bits} with no bits set past the prefix. Never a host name, so
 * validating never asks DNS.
 */
final class IpRange {
    private static final Pattern FORM = Pattern.compile("([0-9A-Fa-f:.]+)(?:/(\\d{1,3}))?");

    private IpRange() {
    }

    /** @throws IllegalArgumentException when {@code pattern} is not an address or CIDR range */
    static void check(String pattern) {
        Matcher m = FORM.matcher(pattern);
        if (!m.matches() || (m.group(1).indexOf(':') < 0 && !m.group(1).matches("[0-9.]+"))) {
            throw new IllegalArgumentException(pattern);
        }
        byte[] address;
        try {
            address = InetAddress.getByName(m.group(1)).getAddress();
        } catch (UnknownHostException | RuntimeException e) {
            throw new IllegalArgumentException(pattern, e);
        }
        if (m.group(2) == null) {
            return;
        }
        int bits = Integer.parseInt(m.group(2));
        if (bits > address.length * 8) {
            throw new IllegalArgumentException(pattern);
        }
        for (int i = 0; i < address.length * 8; i++) {
            boolean set = (address[i / 8] & (0x80 >> (i % 8))) != 0;
            if (i >= bits && set) {
                throw new IllegalArgumentException(pattern);  // Jetty refuses a range with host bits set
            }
        }
    }

    /** A comma-separated list of addresses and ranges ({@code key}'s value); each bad one is a problem. */
    static List<String> list(String key, String value, List<String> problems) {
        List<String> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        for (String part : value.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                check(p);
                out.add(p);
            } catch (IllegalArgumentException e) {
                problems.add(key + ": \"" + p + "\" is not an IP address or CIDR range");
            }
        }
        return List.copyOf(out);
    }
}
