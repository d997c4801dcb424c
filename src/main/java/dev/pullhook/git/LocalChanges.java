package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.CoreConfig;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.CanonicalTreeParser;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Finds the tracked files whose content differs from HEAD: edited or deleted on disk, staged, or in
 * conflict. Like {@code git status --untracked-files=no}, and as git's own index refresh does it: first
 * HEAD is compared with the index (trees skipped whole when their ids match; not at all when the kept index
 * is known to hold HEAD's tree), and every index entry's
 * {@code lstat} with what the index recorded (type, executable bit, size, time: {@link StatPass}). Only the
 * paths that this leaves in doubt (usually none) go through JGit's full walk of HEAD, the index and the
 * working tree, which reads files, applies filters and decides ({@link ContentWalk}), or, where nothing
 * transforms a file's bytes, a hash of the files; for the files found unchanged, the next reset records
 * the stat data seen in the index ({@link KeptIndex#takeRefreshes}), as git's refresh does. Untracked
 * folders (uploads, caches, node_modules) are never entered, and no folder is listed.
 */
final class LocalChanges {
    private LocalChanges() {
    }

    /**
     * @param kept  the index kept by the caller (read again here only if it changed on disk); told which tree
     *              it holds when the walk of HEAD against it finds no difference
     * @param watch what changed on disk since the last look, or null: then every entry is looked at
     */
    static TreeSet<String> find(Repository r, KeptIndex kept, TreeWatch watch) throws IOException {
        DirCache index = kept.read(r);
        // only entries as this daemon left them may be skipped: after a re-read (git add, a stash, a general
        // reset) the stat data in the index are someone else's
        Set<String> onDisk = watch == null || kept.reread() ? null : watch.changes(index);
        if (watch != null && onDisk == null) {
            watch.restart(index);  // before the full look: a change during it is reported next time
        }
        TreeSet<String> changed = find(r, kept, index, onDisk);
        if (watch != null && !changed.isEmpty()) {
            watch.invalidate();  // still there next time unless a reset removes them (refused, a dry check)
        }
        return changed;
    }

    private static TreeSet<String> find(Repository r, KeptIndex kept, DirCache index, Set<String> onDisk)
            throws IOException {
        kept.takeRefreshes();  // what an earlier check learnt: this one looks again
        ObjectId head = r.resolve(Constants.HEAD + "^{tree}");
        Set<String> staged;
        if (head != null && head.equals(kept.knownTree())) {
            staged = Set.of();  // these very entries were found or written equal to HEAD
        } else {
            staged = stagedPaths(r, head, index);
            if (staged.isEmpty()) {
                kept.holds(head);
            }
        }
        Set<String> doubtful = new HashSet<>(staged);
        Instant indexTime = indexTime(r);
        StatPass.Scan scan = onDisk == null ? StatPass.statDiffers(r, kept, index, indexTime)
                : StatPass.statDiffers(r, kept, index, indexTime, onDisk);
        doubtful.addAll(scan.doubtful());
        if (doubtful.isEmpty()) {
            return new TreeSet<>();
        }
        TreeSet<String> changed = staged.isEmpty() && doubtful.equals(scan.stale().keySet()) && contentIsBlob(r, kept)
                ? compareContent(r, index, scan.stale()) : null;
        if (changed == null) {
            changed = ContentWalk.walk(r, index, head, doubtful);
        }
        TreeSet<String> found = changed;
        // the content of these is as recorded and only their stat data moved (files copied without their
        // times, touched, restored from a backup; or written a moment before the index): the next reset
        // records the stat data taken before the walk read them, as git's refresh does, or every deploy
        // would read these files again
        scan.stale().forEach((path, s) -> {
            if (!found.contains(path)) {
                kept.refreshed(path, s);
            }
        });
        return changed;
    }

    /**
     * Whether a file's bytes are its blob, as nothing transforms them on the way: {@code core.autocrlf}
     * false, and no attributes anywhere (no {@code .gitattributes} tracked or at the top of the working
     * tree, no {@code info/attributes}, no {@code core.attributesFile}), so no eol conversion and no filter.
     */
    private static boolean contentIsBlob(Repository r, KeptIndex kept) {
        return r.getConfig().get(WorkingTreeOptions.KEY).getAutoCRLF() == CoreConfig.AutoCRLF.FALSE
                && r.getConfig().get(CoreConfig.KEY).getAttributesFile() == null
                && !kept.tracksAttributes()
                && !Files.exists(r.getWorkTree().toPath().resolve(Constants.DOT_GIT_ATTRIBUTES), LinkOption.NOFOLLOW_LINKS)
                && !Files.exists(r.getDirectory().toPath().resolve(Constants.INFO_ATTRIBUTES), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The stat pass's stale files (regular files of the recorded type whose size or time moved, or whose
     * entry is smudged) decided by their content: a different size, or the blob id of the bytes on disk
     * against the index's. What JGit's walk decides for them, without its set-up (it lists every folder on
     * the way: 2-4 ms for the three files a deploy wrote a moment before its index, which the next check
     * must read). Only where {@link #contentIsBlob}. Null when a file moved while it was read: the walk
     * decides then.
     */
    private static TreeSet<String> compareContent(Repository r, DirCache index, Map<String, KeptIndex.Refresh> stale) {
        Path workTree = r.getWorkTree().toPath();
        TreeSet<String> changed = new TreeSet<>();
        for (Map.Entry<String, KeptIndex.Refresh> e : stale.entrySet()) {
            DirCacheEntry entry = index.getEntry(e.getKey());
            KeptIndex.Refresh seen = e.getValue();
            if (entry == null) {
                return null;
            }
            if (!entry.isSmudged() && entry.getLength() != seen.length()) {
                changed.add(e.getKey());
                continue;
            }
            Path file = workTree.resolve(e.getKey());
            ObjectId id = blobOf(file, seen.length());
            if (id == null || !unchangedSince(file, seen)) {
                return null;  // written while read
            }
            if (!id.equals(entry.getObjectId())) {
                changed.add(e.getKey());
            }
        }
        return changed;
    }

    /**
     * The blob id of {@code file}'s bytes as they are ({@code git hash-object} without filters), or null
     * when it cannot be read or does not hold exactly {@code size} bytes.
     */
    static ObjectId blobOf(Path file, long size) {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            ObjectId id = new ObjectInserter.Formatter().idFor(Constants.OBJ_BLOB, size, in);
            return in.read() == -1 ? id : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Whether {@code file}'s stat data are still the ones {@code seen} recorded. */
    private static boolean unchangedSince(Path file, KeptIndex.Refresh seen) {
        return seen.stat().sameAs(FileStat.of(file));
    }

    /** Paths where the index differs from HEAD: staged edits, additions and deletions. */
    private static Set<String> stagedPaths(Repository r, ObjectId head, DirCache index) throws IOException {
        Set<String> staged = new HashSet<>();
        try (TreeWalk walk = new TreeWalk(r)) {
            walk.addTree(head == null ? new EmptyTreeIterator() : new CanonicalTreeParser(null, walk.getObjectReader(), head));
            walk.addTree(new DirCacheIterator(index));
            walk.setFilter(TreeFilter.ANY_DIFF);
            walk.setRecursive(true);
            while (walk.next()) {
                staged.add(walk.getPathString());
            }
        }
        return staged;
    }

    /** The index file's modification time: entries not older than it are compared by content. */
    private static Instant indexTime(Repository r) {
        try {
            return Files.getLastModifiedTime(r.getIndexFile().toPath()).toInstant();
        } catch (IOException e) {
            return Instant.MAX;  // no index on disk: nothing it records can be trusted by its times
        }
    }

}
