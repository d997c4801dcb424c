package dev.pullhook.git;

import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.internal.storage.file.LockFile;
import org.eclipse.jgit.internal.storage.file.ObjectDirectory;
import org.eclipse.jgit.internal.storage.file.PackInserter;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectDatabase;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.CanonicalTreeParser;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * A fetch of one branch from a repository on this machine without the pack protocol: the objects of the
 * new commits that the working copy lacks are looked up in the remote's object store, written into one new
 * pack of the working copy, and then the remote-tracking ref is moved (and {@code FETCH_HEAD} written), as
 * {@code git fetch} would leave them. The protocol costs far more for a push of a few files: a negotiation,
 * a pack written by one side and parsed and indexed again by the other (and, for {@code git fetch}, two
 * processes). The walk trusts what git's own fetch trusts: a commit or tree the working copy has comes
 * with everything it reaches, so only the trees along changed paths are read.
 * <p>
 * It declines (returns null; the caller then fetches with the protocol) whenever the protocol is the
 * better tool: a push of many objects or bytes (the protocol sends deltas, this copies whole objects), a
 * shallow or partial working copy, a tip that is not a commit, an object the remote cannot read.
 */
final class DirectFetch {
    /** At most this many new objects (a push of a few commits touching a few hundred files). */
    static final int MAX_OBJECTS = 2_000;
    /** At most this many bytes of new objects, uncompressed. */
    static final long MAX_BYTES = 16L << 20;

    private final Repository remote;
    private final Repository local;
    private final ObjectReader from;
    private final ObjectDatabase have;
    private final BooleanSupplier cancelled;
    private final Set<ObjectId> seen = new HashSet<>();
    private final List<ObjectId> ids = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private long bytes;

    private DirectFetch(Repository remote, Repository local, ObjectReader from, BooleanSupplier cancelled) {
        this.remote = remote;
        this.local = local;
        this.from = from;
        this.have = local.getObjectDatabase();
        this.cancelled = cancelled;
    }

    /**
     * Fetches {@code remoteRef} of {@code remote} into {@code trackingRef} of {@code local}, forced.
     *
     * @param source names the remote in {@code FETCH_HEAD}, as {@code git fetch} does (its URL)
     * @return the fetched tip, or null when this is not the way to fetch it (nothing was changed)
     * @throws NoSuchRef when the remote has no such branch
     */
    static ObjectId fetch(Repository remote, Repository local, String remoteRef, String trackingRef, String source,
                          BooleanSupplier cancelled) throws IOException {
        if (!suitable(local)) {
            return null;
        }
        Ref ref = remote.exactRef(remoteRef);
        if (ref == null || ref.getObjectId() == null) {
            throw new NoSuchRef("the remote has no " + remoteRef + " to fetch");
        }
        ObjectId tip = ref.getObjectId();
        try (ObjectReader from = remote.newObjectReader()) {
            DirectFetch copy = new DirectFetch(remote, local, from, cancelled);
            try {
                if (!copy.collect(tip)) {
                    return null;
                }
            } catch (MissingObjectException | IncorrectObjectTypeException e) {
                return null;  // the protocol reports it properly, if it is really a problem
            }
            copy.write();
        }
        updateTrackingRef(local, trackingRef, tip);
        writeFetchHead(local, tip, remoteRef, source);
        return tip;
    }

    /** Not for shallow working copies (their history is cut on purpose) or partial clones (objects missing on purpose). */
    private static boolean suitable(Repository local) {
        return local.getObjectDatabase() instanceof ObjectDirectory
                && !new File(local.getDirectory(), Constants.SHALLOW).exists()
                && local.getConfig().getString("extensions", null, "partialclone") == null;
    }

    /** Finds the objects to copy: new commits, then the new trees and blobs they reach. False if too many. */
    private boolean collect(ObjectId tip) throws IOException {
        List<ObjectId> trees = new ArrayList<>();
        try (RevWalk walk = new RevWalk(from)) {
            walk.setRetainBody(false);
            Deque<ObjectId> todo = new ArrayDeque<>();
            todo.push(tip);
            while (!todo.isEmpty()) {
                ObjectId id = todo.pop();
                if (!seen.add(id) || have.has(id)) {
                    continue;
                }
                RevCommit commit = walk.parseCommit(id);  // not a commit: IncorrectObjectTypeException
                if (!add(commit.copy(), Constants.OBJ_COMMIT, 0)) {
                    return false;
                }
                trees.add(commit.getTree().copy());
                for (RevCommit parent : commit.getParents()) {
                    todo.push(parent.copy());
                }
            }
        }
        CanonicalTreeParser parser = new CanonicalTreeParser();
        Deque<ObjectId> todo = new ArrayDeque<>(trees);
        while (!todo.isEmpty()) {
            ObjectId tree = todo.pop();
            if (!seen.add(tree) || have.has(tree)) {
                continue;
            }
            if (!add(tree, Constants.OBJ_TREE, 0)) {
                return false;
            }
            for (parser.reset(from, tree); !parser.eof(); parser.next()) {
                int type = parser.getEntryFileMode().getObjectType();
                if (type == Constants.OBJ_TREE) {
                    todo.push(parser.getEntryObjectId());
                } else if (type == Constants.OBJ_BLOB) {
                    ObjectId blob = parser.getEntryObjectId();
                    if (seen.add(blob) && !have.has(blob)
                            && !add(blob, Constants.OBJ_BLOB, from.getObjectSize(blob, Constants.OBJ_BLOB))) {
                        return false;
                    }
                }
                // a submodule's commit (gitlink) is not in this repository
            }
        }
        return true;
    }

    private boolean add(ObjectId id, int type, long size) throws InterruptedIOException {
        if (cancelled.getAsBoolean()) {
            throw new InterruptedIOException("fetch cancelled");
        }
        ids.add(id);
        types.add(type);
        bytes += size;
        return ids.size() <= MAX_OBJECTS && bytes <= MAX_BYTES;
    }

    /** Writes the objects found into one new pack of the working copy (none if there are none). */
    private void write() throws IOException {
        if (ids.isEmpty()) {
            return;
        }
        try (ObjectInserter inserter = ((ObjectDirectory) have).newPackInserter()) {
            ((PackInserter) inserter).checkExisting(false);  // collect() asked already
            for (int i = 0; i < ids.size(); i++) {
                if (cancelled.getAsBoolean()) {
                    throw new InterruptedIOException("fetch cancelled");  // the unfinished pack is dropped
                }
                ObjectId id = ids.get(i);
                int type = types.get(i);
                ObjectLoader loader = from.open(id, type);
                ObjectId written = loader.isLarge()
                        ? inserter.insert(type, loader.getSize(), loader.openStream())
                        : inserter.insert(type, loader.getCachedBytes());
                if (!written.equals(id)) {
                    throw new IOException("object " + id.name() + " of " + remote.getDirectory()
                            + " is damaged: its content hashes to " + written.name());
                }
            }
            inserter.flush();
        }
    }

    /**
     * Moves the remote-tracking ref, forced when it must be (a branch pushed backwards is followed), with
     * the reflog entry git's fetch writes ("fetch: fast-forward", "fetch: forced-update").
     */
    private static void updateTrackingRef(Repository local, String trackingRef, ObjectId tip) throws IOException {
        RefUpdate.Result result;
        try (RevWalk walk = new RevWalk(local)) {
            result = refUpdate(local, trackingRef, tip, false).update(walk);
            if (result == RefUpdate.Result.REJECTED) {  // not a fast-forward
                result = refUpdate(local, trackingRef, tip, true).update(walk);
            }
        }
        switch (result) {
            case NEW, FAST_FORWARD, FORCED, NO_CHANGE -> {
            }
            case LOCK_FAILURE -> throw new IOException("cannot update " + trackingRef + ": its lock file "
                    + trackingRef + ".lock is held (another git process is working, or one crashed)");
            default -> throw new IOException("cannot update " + trackingRef + ": " + result);
        }
    }

    private static RefUpdate refUpdate(Repository local, String trackingRef, ObjectId tip, boolean force)
            throws IOException {
        RefUpdate update = local.updateRef(trackingRef);
        update.setNewObjectId(tip);
        update.setForceUpdate(force);
        update.setRefLogMessage("fetch", true);
        return update;
    }

    /** {@code FETCH_HEAD} as {@code git fetch} writes it for one branch. */
    private static void writeFetchHead(Repository local, ObjectId tip, String remoteRef, String source)
            throws IOException {
        String branch = remoteRef.startsWith(Constants.R_HEADS) ? remoteRef.substring(Constants.R_HEADS.length()) : remoteRef;
        LockFile lock = new LockFile(new File(local.getDirectory(), Constants.FETCH_HEAD));
        if (!lock.lock()) {
            return;  // a git process is fetching right now; FETCH_HEAD is informational only
        }
        try {
            lock.write((tip.name() + "\t\tbranch '" + branch + "' of " + source + "\n").getBytes(StandardCharsets.UTF_8));
            if (!lock.commit()) {
                lock.unlock();
            }
        } catch (IOException | RuntimeException e) {
            lock.unlock();
            throw e;
        }
    }

    /** The remote does not have the branch. */
    static final class NoSuchRef extends IOException {
        private static final long serialVersionUID = 1L;

        NoSuchRef(String message) {
            super(message);
        }
    }
}
