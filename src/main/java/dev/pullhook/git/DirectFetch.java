package dev.pullhook.git;

import org.eclipse.jgit.errors.IncorrectObjectTypeException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.internal.storage.file.LockFile;  // internal: JGit has no public API to write FETCH_HEAD as git does
import org.eclipse.jgit.internal.storage.file.ObjectDirectory;  // internal: the only way to a pack inserter
import org.eclipse.jgit.internal.storage.file.PackInserter;  // internal: one pack per push, not a loose object per file
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
import org.eclipse.jgit.transport.TagOpt;
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
 * {@code git fetch} would leave them, once the copy has passed the caller's checks ({@link FetchCheck}). The protocol costs far more for a push of a few files: a negotiation,
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
     * Fetches {@code remoteRef} of {@code remote} into {@code trackingRef} of {@code local}, forced; with
     * {@link TagOpt#AUTO_FOLLOW} (git's default) also the remote's tags that point at objects the working
     * copy has once the branch is fetched, and that it has no tag of that name for, as {@code git fetch} does.
     *
     * @param source names the remote in {@code FETCH_HEAD}, as {@code git fetch} does (its URL)
     * @return the fetched tip, or null when this is not the way to fetch it (nothing was changed)
     * @throws NoSuchRef when the remote has no such branch
     */
    static ObjectId fetch(Repository remote, Repository local, String remoteRef, String trackingRef, String source,
                          TagOpt tagOpt, BooleanSupplier cancelled, Verification verify) throws IOException {
        if (!suitable(local) || tagOpt == TagOpt.FETCH_TAGS) {
            return null;
        }
        Ref ref = remote.exactRef(remoteRef);
        if (ref == null || ref.getObjectId() == null) {
            throw new NoSuchRef("the remote has no " + remoteRef + " to fetch");
        }
        ObjectId tip = ref.getObjectId();
        List<Ref> tags;
        try (ObjectReader from = remote.newObjectReader()) {
            DirectFetch copy = new DirectFetch(remote, local, from, cancelled);
            try {
                if (!copy.collect(tip)) {
                    return null;
                }
                tags = tagOpt == TagOpt.AUTO_FOLLOW ? copy.followTags() : List.of();
                if (!copy.withinLimits()) {
                    return null;
                }
            } catch (MissingObjectException e) {
                // the pack protocol would read the same repository and say only "remote: internal server error"
                File dir = remote.getDirectory();
                throw new IOException("the remote repository " + dir + " lacks the "
                        + String.valueOf(e.getMessage()).replaceFirst("^Missing ", "")
                        + ", which the push needs (is it damaged? git -C " + dir + " fsck)", e);
            } catch (IncorrectObjectTypeException e) {
                return null;  // the protocol reports it properly, if it is really a problem
            }
            copy.write();
        }
        verify.check(tip);  // before any ref moves: a refused push leaves the refs as they were
        moveRefs(local, remoteRef, trackingRef, tip, tags, source);
        return tip;
    }

    /** After the objects are in: the tracking ref, the followed tags that are new, and {@code FETCH_HEAD}. */
    private static void moveRefs(Repository local, String remoteRef, String trackingRef, ObjectId tip, List<Ref> tags,
                                 String source) throws IOException {
        updateTrackingRef(local, trackingRef, tip);
        List<String> fetchHead = new ArrayList<>();
        fetchHead.add(tip.name() + "\t\tbranch '" + shortName(remoteRef, Constants.R_HEADS) + "' of " + source);
        for (Ref tag : tags) {
            if (createTag(local, tag)) {
                fetchHead.add(tag.getObjectId().name() + "\tnot-for-merge\ttag '" + shortName(tag.getName(), Constants.R_TAGS)
                        + "' of " + source);
            }
        }
        writeFetchHead(local, fetchHead);
    }

    private static String shortName(String ref, String prefix) {
        return ref.startsWith(prefix) ? ref.substring(prefix.length()) : ref;
    }

    /**
     * The remote's tags to follow: a name the working copy has no tag for, pointing (through any tags of
     * tags) at an object the working copy has or is about to get; their tag objects are added to the copy.
     */
    private List<Ref> followTags() throws IOException {
        List<Ref> theirs = remote.getRefDatabase().getRefsByPrefix(Constants.R_TAGS);
        if (theirs.isEmpty()) {
            return List.of();
        }
        Set<String> ours = new HashSet<>();
        for (Ref tag : local.getRefDatabase().getRefsByPrefix(Constants.R_TAGS)) {
            ours.add(tag.getName());
        }
        List<Ref> follow = new ArrayList<>();
        for (Ref tag : theirs) {
            if (ours.contains(tag.getName()) || tag.getObjectId() == null) {
                continue;
            }
            Ref peeled = tag.isPeeled() ? tag : remote.getRefDatabase().peel(tag);
            ObjectId target = peeled.getPeeledObjectId() != null ? peeled.getPeeledObjectId() : peeled.getObjectId();
            if (!seen.contains(target) && !have.has(target)) {
                continue;  // points at history this fetch did not bring
            }
            follow.add(tag);
            // the tag objects on the way to the target (an annotated tag, or tags of tags)
            for (ObjectId id = tag.getObjectId(); !id.equals(target) && seen.add(id) && !have.has(id); ) {
                ObjectLoader loader = from.open(id);
                if (loader.getType() != Constants.OBJ_TAG) {
                    break;
                }
                add(id, Constants.OBJ_TAG, loader.getSize());
                id = org.eclipse.jgit.revwalk.RevTag.parse(loader.getCachedBytes()).getObject().copy();
            }
        }
        return follow;
    }

    /** Creates a followed tag; false if a tag of that name appeared meanwhile (git keeps it too). */
    private static boolean createTag(Repository local, Ref tag) throws IOException {
        RefUpdate update = local.updateRef(tag.getName());
        update.setNewObjectId(tag.getObjectId());
        update.setExpectedOldObjectId(ObjectId.zeroId());
        update.setRefLogMessage("fetch: storing head", false);
        RefUpdate.Result result = update.update();
        return result == RefUpdate.Result.NEW;
    }

    /** Not for shallow working copies (their history is cut on purpose) or partial clones (objects missing on purpose). */
    private static boolean suitable(Repository local) {
        return local.getObjectDatabase() instanceof ObjectDirectory
                && !new File(local.getDirectory(), Constants.SHALLOW).exists()
                && local.getConfig().getString("extensions", null, "partialclone") == null;
    }

    /**
     * Finds the objects to copy: new commits, then the new trees and blobs they reach. False if too many,
     * or the tip is not a commit (an annotated tag, say: parseCommit below would copy only what it peels to).
     */
    private boolean collect(ObjectId tip) throws IOException {
        List<ObjectId> trees = new ArrayList<>();
        return commits(tip, trees) && treesAndBlobs(trees);
    }

    /** The new commits from {@code tip} on, their root trees into {@code trees}; false as {@link #collect} says. */
    private boolean commits(ObjectId tip, List<ObjectId> trees) throws IOException {
        try (RevWalk walk = new RevWalk(from)) {
            walk.setRetainBody(false);
            if (walk.parseAny(tip).getType() != Constants.OBJ_COMMIT) {
                return false;
            }
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
        return true;
    }

    /** The new trees and blobs under {@code trees}; false when too many. */
    private boolean treesAndBlobs(List<ObjectId> trees) throws IOException {
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
        return withinLimits();
    }

    /** Whether what was found so far may be copied this way (else the protocol, which sends deltas). */
    private boolean withinLimits() {
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

    /** {@code FETCH_HEAD} as {@code git fetch} writes it: the branch, then the tags it followed. */
    private static void writeFetchHead(Repository local, List<String> lines) throws IOException {
        LockFile lock = new LockFile(new File(local.getDirectory(), Constants.FETCH_HEAD));
        if (!lock.lock()) {
            return;  // a git process is fetching right now; FETCH_HEAD is informational only
        }
        try {
            lock.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
            if (!lock.commit()) {
                lock.unlock();
            }
        } catch (IOException | RuntimeException e) {
            lock.unlock();
            throw e;
        }
    }

    /** Checks what was copied, before the refs move; throws to refuse it. */
    @FunctionalInterface
    interface Verification {
        void check(ObjectId tip) throws IOException;
    }

    /** The remote does not have the branch. */
    static final class NoSuchRef extends IOException {
        private static final long serialVersionUID = 1L;

        NoSuchRef(String message) {
            super(message);
        }
    }
}
