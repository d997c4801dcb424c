package dev.pullhook.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One plain TCP connection to the daemon for requests that {@code java.net.http.HttpClient} refuses to
 * build: lying or missing headers, odd methods and versions, raw paths, hand-made chunked bodies, bytes sent
 * slowly. It writes exactly the bytes it is given and reads one HTTP/1.x response with a read timeout, so a
 * server that never answers fails the test instead of hanging it. It interprets nothing for the server.
 */
public final class RawHttp implements AutoCloseable {
    /** Longest wait for any single read. Generous: only a server that never answers should hit it. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_HEAD = 64 * 1024;
    private static final int MAX_BODY = 1024 * 1024;

    /** One response: status code, the raw head (status line and headers), headers (lower-case names, first value) and body. */
    public record Response(int status, String head, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = socket.getInputStream();
    }

    /** Connects to 127.0.0.1:{@code port}. */
    public static RawHttp connect(int port) {
        return connect(port, READ_TIMEOUT);
    }

    /** Connects to 127.0.0.1:{@code port}; a read that waits longer than {@code readTimeout} fails. */
    public static RawHttp connect(int port, Duration readTimeout) {
        return connectFrom(null, port, readTimeout);
    }

    /**
     * Connects from the loopback address {@code local} (e.g. 127.0.0.2: another client, as the server sees
     * it) to 127.0.0.1:{@code port}; null lets the system choose.
     */
    public static RawHttp connectFrom(String local, int port, Duration readTimeout) {
        Socket s = new Socket();
        try {
            if (local != null) {
                s.bind(new InetSocketAddress(local, 0));
            }
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout((int) readTimeout.toMillis());
            s.setTcpNoDelay(true);
            return new RawHttp(s);
        } catch (IOException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw new UncheckedIOException("cannot connect to 127.0.0.1:" + port, e);
        }
    }

    /** Sends {@code request} on a new connection and reads one response ({@code head} = it was a HEAD request). */
    public static Response exchange(int port, byte[] request, boolean head) {
        try (RawHttp c = connect(port)) {
            c.send(request);
            return c.read(head);
        }
    }

    /** {@link #exchange(int, byte[], boolean)} for a request written as ISO-8859-1 text. */
    public static Response exchange(int port, String request) {
        return exchange(port, latin1(request), request.startsWith("HEAD "));
    }

    public static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    public void send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void send(String text) {
        send(latin1(text));
    }

    /** Sends {@code bytes}, returning false instead of failing if the server has closed the connection. */
    public boolean trySend(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Says "no more bytes" (TCP half-close): the server sees the end of the stream but can still answer. */
    public void shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads one response; {@code head}: the request was HEAD, so there is no body whatever the headers say. */
    public Response read(boolean head) {
        try {
            String headText = readHead();
            int firstSpace = headText.indexOf(' ');
            if (!headText.startsWith("HTTP/1.") || firstSpace < 0 || headText.length() < firstSpace + 4) {
                throw new IOException("not an HTTP/1.x response: " + headText);
            }
            int status = Integer.parseInt(headText.substring(firstSpace + 1, firstSpace + 4));
            Map<String, String> headers = new LinkedHashMap<>();
            String[] lines = headText.split("\r\n");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.putIfAbsent(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
                            lines[i].substring(colon + 1).strip());
                }
            }
            byte[] body;
            String length = headers.get("content-length");
            if (head || status == 204 || status == 304 || status / 100 == 1) {
                body = new byte[0];
            } else if (length != null) {
                body = in.readNBytes(Math.min(Integer.parseInt(length), MAX_BODY));
            } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                body = readChunked();
            } else {
                body = in.readNBytes(MAX_BODY);
            }
            return new Response(status, headText, headers, new String(body, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether the server has closed its side (reads the end of the stream within {@code wait}); consumes bytes. */
    public boolean closedByServer(Duration wait) {
        try {
            socket.setSoTimeout((int) wait.toMillis());
            byte[] sink = new byte[8192];
            long deadline = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < deadline) {
                if (in.read(sink) < 0) {
                    return true;
                }
            }
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;  // reset by the server
        }
    }

    private String readHead() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int last4 = 0;
        while (last4 != 0x0d0a0d0a) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed after " + buf.size() + " bytes of response head: "
                        + buf.toString(StandardCharsets.ISO_8859_1));
            }
            buf.write(b);
            if (buf.size() > MAX_HEAD) {
                throw new IOException("response head longer than " + MAX_HEAD + " bytes");
            }
            last4 = (last4 << 8) | b;  // the last four bytes read; CR LF CR LF ends the head
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (body.size() <= MAX_BODY) {
            String sizeLine = readLine();
            int semi = sizeLine.indexOf(';');
            int size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).strip(), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers
                }
                break;
            }
            body.write(in.readNBytes(size));
            readLine();
        }
        return body.toByteArray();
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (b != '\r') {
                line.write(b);
            }
            if (line.size() > MAX_HEAD) {
                throw new IOException("line too long");
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
