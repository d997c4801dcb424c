package dev.pullhook.git;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The tree watch of one working copy ({@code deploy.watch}): none until asked for, opened by the first
 * check after that, and given up for good, with one log line saying why, where the working tree cannot be
 * watched reliably (INFO: a setting of this machine) or when the watch fails (WARN). Given up, every check
 * looks at each tracked file. Not thread-safe: used under the index lock of {@link OpenRepository}.
 */
final class TreeWatchSlot implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TreeWatch.class);
    private static final String OFF = "tree watch off path={} reason=\"{}\": every deploy looks at each tracked file";

    private final Path workTree;
    private TreeWatch watch;
    private boolean wanted;
    private boolean givenUp;

    TreeWatchSlot(Path workTree) {
        this.workTree = workTree;
    }

    void want() {
        wanted = true;
    }

    /** The watch, opened on first use; null when not asked for, or given up. */
    TreeWatch get(Path gitDir) {
        if (watch != null || !wanted || givenUp) {
            return watch;
        }
        String why = TreeWatch.unsupported(workTree);
        if (why == null) {
            try {
                watch = TreeWatch.open(workTree, gitDir);
                return watch;
            } catch (IOException | RuntimeException e) {
                why = "cannot watch: " + (e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }
        log.info(OFF, workTree, why);
        givenUp = true;
        return null;
    }

    /** After a check: a watch that failed during it is given up. */
    void giveUpIfFailed() {
        if (watch != null && watch.failure() != null) {
            log.warn(OFF, workTree, watch.failure());
            close();
            givenUp = true;
        }
    }

    /** The next check looks at every file (after a failure, when the index in memory is dropped). */
    void invalidate() {
        if (watch != null) {
            watch.invalidate();
        }
    }

    /** Whether the next check takes the watch's word. */
    boolean answersNext() {
        return watch != null && watch.answersNext();
    }

    @Override
    public void close() {
        if (watch != null) {
            watch.close();
            watch = null;
        }
    }
}
