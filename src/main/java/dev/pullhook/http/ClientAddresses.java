package dev.pullhook.http;

import org.eclipse.jetty.util.InetAddressSet;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Who the client is, and whether it may call a site: the TCP peer, or behind a trusted proxy the
 * right-most untrusted X-Forwarded-For hop ({@code server.trusted.proxies}); and each site's
 * {@code webhook.allow.from}. Address text is only ever parsed as a literal, never looked up in DNS.
 */
final class ClientAddresses {
    private static final Pattern IPV4 = Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6 = Pattern.compile("\\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*]?");

    private final InetAddressSet trustedProxies = new InetAddressSet();
    private final Map<String, InetAddressSet> allowFrom = new HashMap<>();

    ClientAddresses(List<String> trustedProxies) {
        trustedProxies.forEach(this.trustedProxies::add);
    }

    /** Sets the addresses allowed to call {@code site}; without this call anyone may. */
    void allow(String site, List<String> cidrs) {
        if (!cidrs.isEmpty()) {
            InetAddressSet set = new InetAddressSet();
            cidrs.forEach(set::add);
            allowFrom.put(site, set);
        }
    }

    /**
     * The client's address: the TCP {@code peer}, unless the peer is a trusted proxy; then
     * {@code forwardedFor} is read right to left and the first address that is not a trusted proxy wins
     * (the left-most entries are whatever the client wrote, so they are never believed).
     */
    String client(String peer, String forwardedFor) {
        if (forwardedFor == null || !isTrustedProxy(parse(peer))) {
            return peer;
        }
        String[] hops = forwardedFor.split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].strip();
            if (hop.isEmpty()) {
                continue;
            }
            InetAddress address = parse(hop);
            if (address == null) {
                return peer;  // garbage in the header: don't guess
            }
            if (!isTrustedProxy(address)) {
                return hop;
            }
        }
        return peer;
    }

    boolean isTrustedProxy(InetAddress address) {
        return address != null && trustedProxies.test(address);
    }

    /** True when {@code client} may call {@code site} ({@code webhook.allow.from}). */
    boolean allowed(String site, String client) {
        InetAddressSet allow = allowFrom.get(site);
        if (allow == null) {
            return true;
        }
        InetAddress address = parse(client);
        return address != null && allow.test(address);
    }

    /**
     * The address of a literal, or null; never asks DNS: IPv4 only with valid octets, IPv6 only in
     * brackets, which {@link InetAddress#getByName} takes as a literal or refuses.
     */
    static InetAddress parse(String literal) {
        if (literal == null || literal.length() > 47) {
            return null;
        }
        String s = literal.replace("[", "").replace("]", "");
        try {
            if (IPV4.matcher(s).matches()) {
                return InetAddress.getByName(s);
            }
            if (IPV6.matcher(literal).matches() && s.matches("[0-9A-Fa-f:.]+")) {
                return InetAddress.getByName("[" + s + "]");
            }
        } catch (UnknownHostException e) {
            return null;
        }
        return null;
    }
}
