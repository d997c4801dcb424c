package dev.pullhook.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Loopback ports for servers a test starts itself (nginx, sshd, a child daemon). */
public final class Ports {
    private Ports() {
    }

    /** A port on 127.0.0.1 that was free a moment ago. */
    public static int free() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when something accepts connections on 127.0.0.1:{@code port}. */
    public static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * True when every byte sent to {@code port} on this machine has been read by the server listening there:
     * no connection to it holds unsent bytes (the client's send queue) or unread ones (the server's receive
     * queue), as the kernel tells in {@code /proc/net/tcp} and {@code tcp6}. What a test waits for when it
     * must know the server has taken in what a client sent (a body held in memory, a request dispatched)
     * before it goes on, instead of pausing for a while. Linux only, as pullhook.
     */
    public static boolean allRead(int port) {
        try {
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                Path file = Path.of(table);
                if (!Files.exists(file)) {
                    continue;
                }
                for (String line : Files.readAllLines(file)) {
                    String[] f = line.strip().split("\\s+");
                    if (f.length < 5 || !f[0].endsWith(":")) {
                        continue;  // the heading
                    }
                    int local = portOf(f[1]);
                    int remote = portOf(f[2]);
                    String[] queues = f[4].split(":");
                    boolean server = local == port;
                    boolean client = remote == port;
                    // the server's side: unread bytes in its receive queue; the client's: unsent in its send queue
                    if ((server && Long.parseLong(queues[1], 16) > 0) || (client && Long.parseLong(queues[0], 16) > 0)) {
                        return false;
                    }
                }
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int portOf(String address) {
        return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
    }
}
