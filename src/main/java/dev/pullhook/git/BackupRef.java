package dev.pullhook.git;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Keeps the commits a deploy would leave behind: when HEAD holds commits that neither the target nor the
 * remote-tracking branch contain (local commits, or a branch that was force-pushed away), a new ref
 * {@code refs/pullhook/backup/<time>} points at HEAD. It only ever creates a ref.
 */
final class BackupRef {
    private static final String PREFIX = "refs/pullhook/backup/";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    private BackupRef() {
    }

    /**
     * @param trackingRef the remote-tracking branch ({@code refs/remotes/<remote>/<branch>}): a rollback goes
     *                    back from commits it still has, which need no backup
     * @return the new ref's name, or null when nothing needed keeping
     */
    static String unlessContainedIn(Repository r, String trackingRef, ObjectId tip, Instant now)
            throws IOException, GitException {
        try (RevWalk walk = new RevWalk(r)) {
            ObjectId head = r.resolve(Constants.HEAD);
            if (head == null || head.equals(tip)) {
                return null;
            }
            RevCommit headCommit = walk.parseCommit(head);
            if (walk.isMergedInto(headCommit, walk.parseCommit(tip))) {
                return null;
            }
            // a rollback goes back from a commit the remote branch still has: nothing to keep
            Ref tracking = r.exactRef(trackingRef);
            if (tracking != null && tracking.getObjectId() != null) {
                walk.reset();
                if (walk.isMergedInto(walk.parseCommit(head), walk.parseCommit(tracking.getObjectId()))) {
                    return null;
                }
            }
            String base = PREFIX + TIME.format(now);
            String name = base;
            for (int i = 2; r.exactRef(name) != null && i < 100; i++) {
                name = base + "-" + i;
            }
            RefUpdate update = r.updateRef(name);
            update.setNewObjectId(head);
            update.setExpectedOldObjectId(ObjectId.zeroId());
            update.setRefLogMessage("pullhook: backup before deploy", false);
            RefUpdate.Result result = update.update(walk);
            if (result != RefUpdate.Result.NEW) {
                throw new GitException(GitException.Phase.BACKUP, "cannot create " + name + ": " + result, null);
            }
            return name;
        }
    }
}
