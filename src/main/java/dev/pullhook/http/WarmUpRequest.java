package dev.pullhook.http;

import dev.pullhook.webhook.WebhookReceiver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** The signed ping the daemon sends itself once it listens ({@link HttpApi#warmUp}, which has its measured gain). */
final class WarmUpRequest {
    private static final Logger log = LoggerFactory.getLogger(WarmUpRequest.class);
    /** {@code -Dpullhook.http.warmup=false} leaves the ping out: for bench/tricks.sh, which measures it. */
    static final boolean ENABLED = !"false".equals(System.getProperty("pullhook.http.warmup"));
    private static final int TIMEOUT_MS = 5_000;
    private static final byte[] BODY = "{\"zen\":\"pullhook warm-up\",\"hook_id\":0}".getBytes(StandardCharsets.UTF_8);

    private WarmUpRequest() {
    }

    /** Where to reach a server bound to {@code host}: loopback for a wildcard address, else that address. */
    static InetAddress target(String host) {
        try {
            InetAddress bound = InetAddress.getByName(host);
            return bound.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : bound;
        } catch (UnknownHostException e) {
            return InetAddress.getLoopbackAddress();
        }
    }

    /** Sends the ping to {@code site}'s webhook path and reads the answer; a failure is only logged. */
    static void send(InetAddress address, int port, SiteEndpoint site) {
        long t0 = System.nanoTime();
        String host = address.getHostAddress().contains(":") ? "[" + address.getHostAddress() + "]" : address.getHostAddress();
        String head = "POST " + site.config().webhookPath() + " HTTP/1.1\r\n"
                + "Host: " + host + ":" + port + "\r\n"
                + "Content-Type: application/json\r\n"
                + "X-GitHub-Event: ping\r\n"
                + "X-GitHub-Delivery: " + WebhookReceiver.WARM_UP_DELIVERY + "\r\n"
                + "X-Hub-Signature-256: " + site.receiver().warmUpSignature(BODY) + "\r\n"
                + "Content-Length: " + BODY.length + "\r\n"
                + "Connection: close\r\n\r\n";
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(BODY);
            byte[] answer = socket.getInputStream().readNBytes(4096);
            String status = new String(answer, 0, Math.min(answer.length, 12), StandardCharsets.US_ASCII).strip();
            log.info("http warm-up answered \"{}\" ms={}", status, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        } catch (IOException e) {
            log.info("http warm-up failed ({}); only the first webhook is slower", e.toString());
        }
    }
}
