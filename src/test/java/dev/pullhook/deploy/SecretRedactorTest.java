package dev.pullhook.deploy;

import dev.pullhook.config.Secret;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Masking of registered secrets and URL user info, and cutting a line without leaving part of a secret. */
class SecretRedactorTest {
    private final SecretRedactor redactor = new SecretRedactor()
            .register(new Secret("s3cret-token", "test"))
            .register(new Secret("s3cret-token-longer", "test"))
            .register(new Secret("  ", "blank, ignored"))
            .register(null);

    @Test
    void masksEverySecretWhereverItAppearsTheLongerOneWhole() {
        assertEquals("a=**** b=****, ****", redactor.redact("a=s3cret-token b=s3cret-token-longer, s3cret-token"));
        assertEquals("nothing to hide", redactor.redact("nothing to hide"));
    }

    @Test
    void masksTheUserInfoOfAUrl() {
        assertEquals("fetch https://****@git.example.com/site.git failed",
                redactor.redact("fetch https://bot:hunter2@git.example.com/site.git failed"));
        assertEquals("https://****@host", redactor.redact("https://bot:s3cret-token@host"));
    }

    @Test
    void aSecretAcrossTheCutIsMaskedBeforeTheLineIsCut() {
        String raw = "x".repeat(8) + "s3cret-token-longer";
        assertEquals("xxxxxxxx**...", redactor.redactLine(raw, 10, false));
        assertEquals("xxxxxxxx****", redactor.redactLine("xxxxxxxxs3cret-token", 12, false));
    }

    @Test
    void aUrlCutBeforeItsAtSignLosesItsUserInfo() {
        // what was read of a line whose rest was thrown away: the @ never came
        assertEquals("see https://****...", redactor.redactLine("see https://bot:hunter2", 18, true));
        assertEquals("see https://****@h...", redactor.redactLine("see https://bot:hunter2@host/x", 18, false));
        assertEquals("short...", redactor.redactLine("short", 10, true));
    }

    @Test
    void neverCutsACharacterInHalf() {
        String raw = "ab\uD83D\uDE00cd";  // an emoji is two chars
        assertEquals("ab...", redactor.redactLine(raw, 3, false));
    }
}
