package dev.pullhook.http;

/**
 * The short JSON answers, Jackson's to write: {@code status} first, then at most one field. A job's answer is
 * {@link JobAnswer}, {@code /status} {@link SiteStatus}; everything else the routes say is one of these:
 * {@code {"status":"ok"}} of {@code /health}, a ping's {@code pong}, a delivery {@code ignored} (its
 * {@code reason}), a {@code duplicate} (when the {@code first} came), a push {@code up-to-date} (the
 * {@code head}), and every error, the routes' and Jetty's own ({@link JsonErrorHandler}):
 * {@code {"status":"not found","error":"..."}}. Scripts and hosts read them ({@code AnswerTest} pins them).
 */
sealed interface Answer {
    Plain OK = new Plain("ok");
    Plain PONG = new Plain("pong");

    String status();

    /** Only a status: {@code ok}, {@code pong}. */
    record Plain(String status) implements Answer {
    }

    /** A delivery that asks for no deploy (another branch, not a push): why. */
    record Ignored(String status, String reason) implements Answer {
        Ignored(String reason) {
            this("ignored", reason);
        }
    }

    /** A delivery seen before: when it first came. */
    record Duplicate(String status, String first) implements Answer {
        Duplicate(String first) {
            this("duplicate", first);
        }
    }

    /** A push of the commit deployed already. */
    record UpToDate(String status, String head) implements Answer {
        UpToDate(String head) {
            this("up-to-date", head);
        }
    }

    /** An error: its status code as a word, and what went wrong (the word again when nothing more is known). */
    record Problem(String status, String error) implements Answer {
    }

    /** The error answer of an HTTP status code. */
    static Problem error(int code, String message) {
        String word = switch (code) {
            case 400 -> "bad request";
            case 403 -> "forbidden";
            case 404 -> "not found";
            case 405 -> "method not allowed";
            case 413 -> "too large";
            case 414, 431 -> "too long";
            case 503 -> "unavailable";
            default -> "error";
        };
        return new Problem(word, message == null || message.isBlank() ? word : message);
    }
}
