package dev.pullhook.hostile;

import dev.pullhook.testing.HostileSite.Answer;
import org.eclipse.jgit.lib.ObjectId;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** What the hostile suites assert about a deploy's JSON answer (never about log lines). */
final class Verdict {
    private Verdict() {
    }

    /** 500 {@code {"status":"failed","error":"..."}} with a reason. */
    static void refused(Answer a, String what) {
        if (!a.failed() || a.error().isBlank()) {
            fail(what + ": the deploy must be refused (500, status failed, a reason); it answered " + a);
        }
    }

    /** 200 {@code {"status":"deployed"}} to {@code to}. */
    static void deployed(Answer a, ObjectId to, String what) {
        assertTrue(a.deployed(), () -> what + ": the deploy must succeed; it answered " + a);
        assertEquals(to.name(), a.to(), () -> what + ": deployed another commit: " + a);
    }

    /** The error names the object (full 40-hex id) and one of git's fsck rule ids (as a whole word). */
    static void namesObjectAndRule(Answer a, ObjectId object, String what, String... rules) {
        String error = a.error();
        boolean id = error.contains(object.name());
        boolean rule = Arrays.stream(rules).anyMatch(r -> Pattern.compile("\\b" + Pattern.quote(r) + "\\b").matcher(error).find());
        if (!id || !rule) {
            fail(what + ": the error must name the object " + object.name() + (id ? " (it does)" : " (it does not)")
                    + " and git's fsck rule " + String.join(" or ", rules) + (rule ? " (it does)" : " (it does not)")
                    + "; error was: " + error);
        }
    }

    /** The error contains one of {@code forms} (ways of writing one path or id). */
    static void namesOneOf(Answer a, String what, String whatIsNamed, List<String> forms) {
        String error = a.error();
        if (forms.stream().noneMatch(error::contains)) {
            fail(what + ": the error must name " + whatIsNamed + " (as one of " + forms + "); error was: " + error);
        }
    }

    /** The error contains every one of {@code parts}. */
    static void mentions(Answer a, String what, String... parts) {
        for (String p : parts) {
            if (!a.error().contains(p)) {
                fail(what + ": the error must mention \"" + p + "\"; error was: " + a.error() + " (answer " + a + ")");
            }
        }
    }
}
