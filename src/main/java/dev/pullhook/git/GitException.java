package dev.pullhook.git;

/**
 * The one exception that leaves the git package: what failed ({@link Phase}) and why, in words fit for
 * a log line and a JSON answer. Messages never contain credentials (URLs are redacted).
 */
public final class GitException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The step of a deploy that failed. */
    public enum Phase { OPEN, CHECK, LOCK, FETCH, STASH, BACKUP, RESET, CLEAN, SUBMODULES }

    private final Phase phase;

    public GitException(Phase phase, String message, Throwable cause) {
        // one log line per failure: JGit's messages can span several lines (e.g. SSH authentication)
        super(message == null ? null : Redactor.redact(message).replaceAll("\\s*[\\r\\n]+\\s*", " / "), cause);
        this.phase = phase;
    }

    public Phase phase() {
        return phase;
    }
}
