package dev.pullhook.git;

import org.eclipse.jgit.errors.LockFailedException;

/** How the git layer words a failure of JGit's for a {@link GitException}: its causes' messages, and held locks. */
final class Failures {
    private Failures() {
    }

    /** The exception's message and its causes' (each once), for a log line or a JSON answer. */
    static String rootMessage(Throwable e) {
        String message = e.getMessage();
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t.getMessage() != null && (message == null || !message.contains(t.getMessage()))) {
                message = message == null ? t.getMessage() : message + ": " + t.getMessage();
            }
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }

    /** The root message, or which git lock file is held when a lock stopped the work. */
    static String lockAwareMessage(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LockFailedException lock) {
                return "a git lock file is held: " + lock.getFile() + ".lock (another git process is working,"
                        + " or one crashed and left it behind)";
            }
        }
        return rootMessage(e);
    }

    /** Whether a held git lock caused {@code e}. */
    static boolean lockHeld(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LockFailedException) {
                return true;
            }
        }
        return false;
    }
}
