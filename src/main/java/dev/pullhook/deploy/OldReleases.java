package dev.pullhook.deploy;

import dev.pullhook.git.GitException;
import dev.pullhook.git.ReleaseStore;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Removes the release folders an atomic deploy no longer needs: those beyond {@code deploy.keep.releases}
 * after a deploy (never {@code current}, never one whose tracked files were edited: that one is kept and
 * reported, every time, so an edit is refused but not lost), a deploy's own unfinished folder, and after a
 * crash the one the interrupted deploy left. Failures here are logged and never fail a deploy.
 */
final class OldReleases {
    private static final Logger log = LoggerFactory.getLogger(OldReleases.class);

    private final Releases releases;
    private final ReleaseStore store;
    private final int keep;
    /** {@code " site=<name>"} for a named site, else empty. */
    private final String label;

    OldReleases(Releases releases, ReleaseStore store, int keep, String label) {
        this.releases = releases;
        this.store = store;
        this.keep = keep;
        this.label = label;
    }

    /** After deploy {@code id} switched {@code current}: the oldest releases beyond {@link #keep} go. */
    void prune(long id) {
        try {
            List<Path> removed = releases.prune(keep, release -> edited(id, release));
            if (!removed.isEmpty()) {
                log.info("deploy id={}{} removed {} old releases (deploy.keep.releases={})", id, label,
                        removed.size(), keep);
            }
        } catch (IOException e) {
            log.warn("deploy id={}{} could not remove old releases: {}", id, label, e.toString());
        }
    }

    /** Whether a release must stay because its tracked files differ from its commit (or cannot be compared). */
    private boolean edited(long id, Path release) {
        String commit = releases.commitOf(release);
        try {
            List<String> edits = commit == null ? List.of()
                    : store.edits(ObjectId.fromString(commit), release, 10);
            if (edits.isEmpty()) {
                return false;
            }
            log.warn("deploy id={}{} keeping the old release {}: its tracked files were edited {}"
                    + " (releases are read-only; copy the edits into the repository, then remove it)",
                    id, label, release.getFileName(), edits);
            return true;
        } catch (GitException e) {
            log.warn("deploy id={}{} keeping the old release {}: {}", id, label, release.getFileName(), e.getMessage());
            return true;
        }
    }

    /** After a crash before the switch: the newest release, if newer than current, was never finished. */
    void removeUnfinished(long id) throws IOException {
        List<Path> all = releases.all();
        if (all.isEmpty()) {
            return;
        }
        Path current = releases.current().orElse(null);
        Path newest = all.get(all.size() - 1);
        if (!newest.equals(current) && (current == null || newest.compareTo(current) > 0)) {
            log.warn("deploy id={}{} removing the release {} that the interrupted deploy left unfinished", id,
                    label, newest.getFileName());
            remove(id, newest);
        }
    }

    /** Removes a release that was never switched in. */
    void remove(long id, Path release) {
        try {
            releases.remove(release);
        } catch (IOException e) {
            log.warn("deploy id={}{} could not remove the unfinished release {}: {}", id, label,
                    release.getFileName(), e.toString());
        }
    }
}
