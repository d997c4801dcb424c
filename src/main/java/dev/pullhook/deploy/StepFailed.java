package dev.pullhook.deploy;

/** A deploy step that failed for a reason of pullhook's own (not JGit's), in the phase it names. */
final class StepFailed extends Exception {
    private static final long serialVersionUID = 1L;
    final Phase phase;

    StepFailed(Phase phase, String message) {
        super(message, null, false, false);
        this.phase = phase;
    }
}
