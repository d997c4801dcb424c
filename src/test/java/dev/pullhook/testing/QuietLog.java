package dev.pullhook.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * A test class's console kept quiet: what the daemons log (slf4j-simple writes to {@code System.out}, looked
 * up on every line) is held in memory and printed only for a test that failed, so a green run of hundreds
 * of hostile deploys prints nothing and a red one shows exactly the failing case's log.
 * Use with {@code @ExtendWith(QuietLog.class)}.
 */
public final class QuietLog implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(QuietLog.class);

    private static final class Held {
        final PrintStream original = System.out;
        final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Held held = new Held();
        context.getStore(NS).put("held", held);
        System.setOut(new PrintStream(held.buffer, true, StandardCharsets.UTF_8));
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Held held = held(context);
        if (held != null) {
            synchronized (held.buffer) {
                held.buffer.reset();
            }
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Held held = held(context);
        if (held != null && context.getExecutionException().isPresent()) {
            String text;
            synchronized (held.buffer) {
                text = held.buffer.toString(StandardCharsets.UTF_8);
            }
            held.original.println("---- log of failed test " + context.getDisplayName() + " ----");
            held.original.print(text);
            held.original.println("---- end of log ----");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Held held = held(context);
        if (held != null) {
            System.out.flush();
            System.setOut(held.original);
        }
    }

    private static Held held(ExtensionContext context) {
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            Held h = c.getStore(NS).get("held", Held.class);
            if (h != null) {
                return h;
            }
        }
        return null;
    }
}
