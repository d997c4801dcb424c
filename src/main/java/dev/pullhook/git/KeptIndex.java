package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The index as this daemon last read or wrote it, kept between deploys, and which tree it is known to hold.
 * {@link DirCache#read()} parses the file again only when it changed on disk (size, time, inode), so a
 * deploy that follows our own write neither parses nor SHA-1-checks it (4.8 MB for 50,000 files). Knowing
 * the tree spares the local-changes check its walk of HEAD against the index (every folder of HEAD is
 * read when the index has no cache-tree, as after any JGit write). That knowledge belongs to the entries it
 * was learnt from: a re-read replaces every entry object, so any change of the file on disk (git add,
 * git rm --cached, a stash, JGit's own reset) drops it. Not thread-safe: {@link OpenRepository} guards it.
 */
final class KeptIndex {
    private DirCache index;
    /** The tree whose files the stage-0 entries are, exactly (paths, ids, modes); null when unknown. */
    private ObjectId tree;
    private DirCacheEntry treeFirst;
    private int treeCount;
    /** Files the last check found unchanged but with new stat data, for the next index write. */
    private final Map<String, Refresh> refreshes = new HashMap<>();
    /**
     * The full stat data (inode and change time to the nanosecond, which the index does not keep) of files
     * this daemon wrote or found unchanged since the index was last read from disk: a file whose inode or
     * change time moved may have been replaced or rewritten with its old size and time ({@code cp -p}).
     */
    private final Map<String, FileStat> stats = new HashMap<>();
    /** Whether a tracked path is a .gitattributes file, for the entries as now in memory; null: not known. */
    private Boolean attributes;
    /** Whether the last {@link #read} parsed the file: first read, or changed on disk by someone else. */
    private boolean reread;

    /** A file's content is {@code id}, as the index says, but its stat data are now these. */
    record Refresh(ObjectId id, FileStat stat) {
        long length() {
            return stat.size();
        }

        Instant modified() {
            return stat.mtime();
        }
    }

    /** The index, read again only if it changed on disk; a re-read forgets which tree it holds. */
    DirCache read(Repository r) throws IOException {
        if (index == null) {
            index = r.readDirCache();
            reread = true;
        } else {
            int count = index.getEntryCount();
            DirCacheEntry first = count == 0 ? null : index.getEntry(0);
            index.read();
            // a re-read builds new entry objects
            reread = index.getEntryCount() != count || (count > 0 && index.getEntry(0) != first);
        }
        if (reread) {
            attributes = null;
            stats.clear();  // the stat data in the file are someone else's now
        }
        if (tree != null && !sameEntries()) {
            tree = null;
        }
        return index;
    }

    /**
     * Whether the last {@link #read} parsed the file (the first read, or a write by someone else: git add,
     * a stash, JGit's general reset), rather than keeping the entries as this daemon last wrote them.
     */
    boolean reread() {
        return reread;
    }

    /** The tree the index's entries are known to equal, or null; valid until the next {@link #read}. */
    ObjectId knownTree() {
        return tree != null && sameEntries() ? tree : null;
    }

    /**
     * Records that the stage-0 entries of the index as now in memory are exactly {@code tree}'s files
     * (null: not known). Whoever edits the entries in memory must call this afterwards.
     */
    void holds(ObjectId tree) {
        attributes = null;  // called after every edit in memory
        if (tree == null || index == null || index.getEntryCount() == 0) {
            this.tree = null;
            return;
        }
        this.tree = tree.copy();
        this.treeFirst = index.getEntry(0);
        this.treeCount = index.getEntryCount();
    }

    /** Drops everything: the next {@link #read} parses the file. */
    void forget() {
        index = null;
        stats.clear();
        attributes = null;
        tree = null;
        treeFirst = null;
        refreshes.clear();
    }

    /** Whether any tracked path is a {@code .gitattributes} file (which may change how a file is hashed). */
    boolean tracksAttributes() {
        if (attributes == null) {
            byte[] name = Constants.DOT_GIT_ATTRIBUTES.getBytes(StandardCharsets.US_ASCII);
            boolean found = false;
            for (int i = 0; i < index.getEntryCount() && !found; i++) {
                byte[] path = index.getEntry(i).getRawPath();
                int at = path.length - name.length;
                found = at >= 0 && (at == 0 || path[at - 1] == '/')
                        && Arrays.equals(path, at, path.length, name, 0, name.length);
            }
            attributes = found;
        }
        return attributes;
    }

    /** Notes that {@code path}'s content was found as the index says, with these stat data ({@link #takeRefreshes}). */
    void refreshed(String path, Refresh refresh) {
        refreshes.put(path, refresh);
        stats.put(path, refresh.stat());
    }

    /** Notes the stat data of a file this daemon has just written, or null to forget them. */
    void wrote(String path, FileStat stat) {
        if (stat == null) {
            stats.remove(path);
        } else {
            stats.put(path, stat);
        }
    }

    /** The full stat data this daemon last saw for {@code path} with the content the index records, or null. */
    FileStat stat(String path) {
        return stats.get(path);
    }

    /**
     * What the last local-changes check learnt of files whose stat data moved but not their content, for
     * whoever writes the index next; forgotten by the next check.
     */
    Map<String, Refresh> takeRefreshes() {
        Map<String, Refresh> taken = Map.copyOf(refreshes);
        refreshes.clear();
        return taken;
    }

    private boolean sameEntries() {
        // a re-read builds new entry objects; an edit in memory is reported through holds()
        return index != null && index.getEntryCount() == treeCount && treeCount > 0 && index.getEntry(0) == treeFirst;
    }
}
