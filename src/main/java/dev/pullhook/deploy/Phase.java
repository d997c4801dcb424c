package dev.pullhook.deploy;

import dev.pullhook.git.GitException;

import java.util.Locale;

/**
 * The step a deploy is in, and the one it failed in: {@code phase=fetch} in log lines, and in the crash
 * marker the step the process died in ({@link CrashMarker}). In the order a deploy takes them.
 */
public enum Phase {
    /** the working copy is opened */
    OPEN,
    /** the working copy has the configured branch checked out, and the target's files can be written */
    CHECK,
    /** dead git locks are removed, live ones waited for */
    LOCK,
    /** a poll asks the remote's tip without fetching */
    LS_REMOTE,
    FETCH,
    /** a rollback's target is looked up */
    ROLLBACK,
    /** the deploy ran past {@code deploy.timeout.seconds} before changing anything */
    TIMEOUT,
    /** edits of tracked files are stashed, refused or dropped; local commits and files in the way are kept */
    LOCAL_CHANGES,
    /** edits of tracked files are saved as a stash entry */
    STASH,
    /** local commits and untracked files in the way are kept on a ref */
    BACKUP,
    RESET,
    /** {@code deploy.clean} */
    CLEAN,
    /** {@code deploy.submodules} */
    SUBMODULES,
    /** {@code deploy.command} */
    COMMAND,
    /** {@code deploy.check.command} and {@code deploy.check.url} */
    HEALTH_CHECK,
    /** a failed health check puts the commit deployed before back ({@code deploy.rollback.on.failure}) */
    RESTORE,
    /** {@code deploy.mode=atomic}: the commit is written into a new release folder */
    RELEASE,
    /** {@code deploy.mode=atomic}: {@code current} is switched to the new release */
    SWITCH;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The phase written as {@code text}, or null when it names none. */
    static Phase parse(String text) {
        for (Phase p : values()) {
            if (p.toString().equals(text)) {
                return p;
            }
        }
        return null;
    }

    /** The phase of a failure the git layer reports. */
    static Phase of(GitException.Phase phase) {
        return valueOf(phase.name());
    }

    /**
     * Whether a crash in this phase leaves the tracked files half written by the reset (the user's edits
     * were stashed before it began), rather than possibly the user's own edits.
     */
    boolean afterReset() {
        return this == RESET || this == CLEAN || this == SUBMODULES || this == COMMAND || this == HEALTH_CHECK
                || this == RESTORE;
    }
}
