package dev.pullhook.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The git hosts' payload shapes in {@code src/test/resources/payloads/} (see its README), as raw bytes. */
public final class Fixtures {
    private Fixtures() {
    }

    /** {@code payload("github/push.json")}: the file's bytes exactly, ready to be signed. */
    public static byte[] payload(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/payloads/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
