package dev.pullhook.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How deploys treat the working copy and what runs around them (the {@code deploy.*} and {@code state.dir}
 * keys). Validated by {@link ConfigLoader}.
 *
 * @param localChanges   what happens to edits of tracked files ({@code deploy.local.changes})
 * @param clean          remove untracked, non-ignored files after the reset ({@code deploy.clean})
 * @param lockStale      a git lock file older than this was left by a crashed process ({@code deploy.lock.stale.seconds})
 * @param lockWait       how long a deploy waits for a fresh lock to go away ({@code deploy.lock.wait.seconds})
 * @param timeout        a deploy's git work taking longer fails ({@code deploy.timeout.seconds})
 * @param onStart        deploy at start when the working copy is behind ({@code deploy.on.start})
 * @param poll           how often the remote is checked for a moved tip; zero = never ({@code deploy.poll.seconds})
 * @param command        run after a successful reset through {@code /bin/sh -c}, or null ({@code deploy.command})
 * @param commandTimeout the command's process group is killed after this ({@code deploy.command.timeout.seconds})
 * @param submodules     update submodules recursively after the reset ({@code deploy.submodules})
 * @param watch          find local changes through inotify instead of looking at every file ({@code deploy.watch})
 * @param stateDir       where deploy history and the crash marker are kept ({@code state.dir})
 * @param check          the health check after the command ({@code deploy.check.*})
 * @param rollbackOnFailure in-place: a failed health check restores the commit deployed before
 *                       ({@code deploy.rollback.on.failure})
 * @param mode           {@code deploy.mode}: reset {@code repo.path} in place, or build release folders
 * @param keepReleases   atomic: how many release folders are kept ({@code deploy.keep.releases})
 */
public record DeployOptions(LocalChanges localChanges, boolean clean, Duration lockStale, Duration lockWait,
                            Duration timeout, boolean onStart, Duration poll, String command,
                            Duration commandTimeout, boolean submodules, boolean watch, Path stateDir,
                            CheckOptions check, boolean rollbackOnFailure, Mode mode, int keepReleases) {

    /** {@code deploy.mode}. */
    public enum Mode {
        /** reset the working copy at {@code repo.path} (the default) */
        IN_PLACE,
        /** check each commit out into {@code releases/<time>-<sha>/} and switch the {@code current} link */
        ATOMIC;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** {@code deploy.local.changes}. */
    public enum LocalChanges {
        /** save edits of tracked files as a git stash entry, then reset */
        STASH,
        /** drop them, as the tutorial's {@code git reset --hard} does */
        DISCARD,
        /** fail the deploy and touch nothing */
        REFUSE
    }

    /** The same options with {@code stateDir}. */
    public DeployOptions withStateDir(Path stateDir) {
        return new DeployOptions(localChanges, clean, lockStale, lockWait, timeout, onStart, poll, command,
                commandTimeout, submodules, watch, stateDir, check, rollbackOnFailure, mode, keepReleases);
    }

    @Override
    public String toString() {
        return "deploy.local.changes=" + localChanges.name().toLowerCase(java.util.Locale.ROOT)
                + " deploy.clean=" + clean
                + " deploy.lock.stale.seconds=" + lockStale.toSeconds()
                + " deploy.lock.wait.seconds=" + lockWait.toSeconds()
                + " deploy.timeout.seconds=" + timeout.toSeconds()
                + " deploy.on.start=" + onStart
                + " deploy.poll.seconds=" + poll.toSeconds()
                + " deploy.command=" + (command == null ? "(none)" : "\"" + command + "\"")
                + " deploy.command.timeout.seconds=" + commandTimeout.toSeconds()
                + " deploy.submodules=" + submodules
                + " deploy.watch=" + watch
                + " state.dir=\"" + stateDir + "\""
                + " " + check
                + " deploy.rollback.on.failure=" + rollbackOnFailure
                + " deploy.mode=" + mode
                + " deploy.keep.releases=" + keepReleases;
    }
}
