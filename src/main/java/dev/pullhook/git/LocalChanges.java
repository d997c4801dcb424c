package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.CoreConfig;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.CanonicalTreeParser;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;
import org.eclipse.jgit.treewalk.filter.AndTreeFilter;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;
import org.eclipse.jgit.treewalk.filter.PathFilterGroup;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Finds the tracked files whose content differs from HEAD: edited or deleted on disk, staged, or in
 * conflict. Like {@code git status --untracked-files=no}, and as git's own index refresh does it: first
 * HEAD is compared with the index (trees skipped whole when their ids match; not at all when the kept index
 * is known to hold HEAD's tree), and every index entry's
 * {@code lstat} with what the index recorded (type, executable bit, size, time). Only the paths that this
 * leaves in doubt (usually none) go through JGit's full walk of HEAD, the index and the working tree,
 * which reads files, applies filters and decides; for the files it finds unchanged, the next reset records
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
        Scan scan = onDisk == null ? statDiffers(r, kept, index, indexTime) : statDiffers(r, kept, index, indexTime, onDisk);
        doubtful.addAll(scan.doubtful());
        if (doubtful.isEmpty()) {
            return new TreeSet<>();
        }
        TreeSet<String> changed = staged.isEmpty() && doubtful.equals(scan.stale().keySet()) && contentIsBlob(r, kept)
                ? compareContent(r, index, scan.stale()) : null;
        if (changed == null) {
            changed = walk(r, index, head, doubtful);
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

    /**
     * Index entries whose file on disk may differ: anything but a regular file with the recorded
     * executable bit, size and modification time under real folders, and every entry that the index
     * itself marks as needing a look (smudged by a racy write, conflicted, submodules, symbolic links).
     * Errs towards doubt: the full walk decides. A big index is split in two halves, one of them looked at
     * on the common pool: lstat is most of the time, and a 2-core server does two at once.
     */
    private static Scan statDiffers(Repository r, KeptIndex kept, DirCache index, Instant indexTime)
            throws IOException {
        Path workTree = r.getWorkTree().toPath();
        boolean fileMode = r.getConfig().get(WorkingTreeOptions.KEY).isFileMode();
        int n = index.getEntryCount();
        if (n < PARALLEL_FROM || Runtime.getRuntime().availableProcessors() < 2) {
            return new StatScan(workTree, fileMode, kept, indexTime).scan(index, 0, n);
        }
        int half = n / 2;
        ForkJoinTask<Scan> second = ForkJoinPool.commonPool()
                .submit(() -> new StatScan(workTree, fileMode, kept, indexTime).scan(index, half, n));
        Scan first = new StatScan(workTree, fileMode, kept, indexTime).scan(index, 0, half);
        try {
            Scan other = second.get();
            first.doubtful().addAll(other.doubtful());
            first.stale().putAll(other.stale());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while checking the working tree");
        } catch (ExecutionException e) {
            throw new IOException("cannot check the working tree: " + e.getCause(), e.getCause());
        }
        return first;
    }

    /** The stat pass over the entries at or under {@code paths} only (what a {@link TreeWatch} reported). */
    private static Scan statDiffers(Repository r, KeptIndex kept, DirCache index, Instant indexTime, Set<String> paths) {
        StatScan pass = new StatScan(r.getWorkTree().toPath(), r.getConfig().get(WorkingTreeOptions.KEY).isFileMode(),
                kept, indexTime);
        Scan scan = new Scan(new HashSet<>(), new HashMap<>());
        for (String path : paths) {
            EntryRange self = EntryRange.of(index, path);
            pass.scan(scan, index, self.from(), self.to());
            EntryRange under = EntryRange.within(index, path);
            pass.scan(scan, index, under.from(), under.to());
        }
        return scan;
    }

    /**
     * What the stat pass found: the paths in doubt, and among them the regular files whose only difference
     * is their size or time, or a smudged entry (with their content id in the index and the stat data seen).
     */
    private record Scan(Set<String> doubtful, Map<String, KeptIndex.Refresh> stale) {
    }

    /** Index entries from this many on are checked in two halves. */
    private static final int PARALLEL_FROM = 4_000;

    /** One pass of lstat over a range of index entries; remembers which folders are real ones. */
    private static final class StatScan {
        private final Path workTree;
        private final boolean fileMode;
        private final KeptIndex kept;
        /** When the index file was last written: an entry not older than that is compared by content (racy git). */
        private final Instant indexTime;
        private final Map<String, Boolean> realFolders = new HashMap<>();
        private String lastFolder = "";
        private boolean lastFolderReal = true;

        StatScan(Path workTree, boolean fileMode, KeptIndex kept, Instant indexTime) {
            this.workTree = workTree;
            this.fileMode = fileMode;
            this.kept = kept;
            this.indexTime = indexTime;
        }

        Scan scan(DirCache index, int from, int to) {
            Scan scan = new Scan(new HashSet<>(), new HashMap<>());
            scan(scan, index, from, to);
            return scan;
        }

        void scan(Scan scan, DirCache index, int from, int to) {
            for (int i = from; i < to; i++) {
                DirCacheEntry e = index.getEntry(i);
                if (e.isAssumeValid() && e.getStage() == DirCacheEntry.STAGE_0) {
                    continue;  // git does not look at these either
                }
                String path = pathOf(e);
                boolean matches = statMatches(e, path, scan.stale());
                if (!inRealFolder(path)) {
                    scan.doubtful().add(path);
                    scan.stale().remove(path);
                } else if (!matches) {
                    scan.doubtful().add(path);
                }
            }
        }

        /**
         * The entry's path. {@link DirCacheEntry#getPathString()} decodes through a {@code CharsetDecoder},
         * a third of this pass's own time under C1; the String constructor has a fast path for ASCII. Not
         * valid UTF-8: JGit's own decoding, which the full walk's path filter matches.
         */
        private static String pathOf(DirCacheEntry e) {
            String path = new String(e.getRawPath(), StandardCharsets.UTF_8);
            return path.indexOf('\uFFFD') < 0 ? path : e.getPathString();
        }

        /**
         * Whether the file's lstat matches the entry. When it is a regular file of the recorded type and
         * executable bit whose size or time differ, or the entry is smudged, notes what was seen in {@code stale}.
         */
        private boolean statMatches(DirCacheEntry e, String path, Map<String, KeptIndex.Refresh> stale) {
            int mode = e.getRawMode();
            if (mode == FileMode.GITLINK.getBits() && e.getStage() == DirCacheEntry.STAGE_0) {
                return true;  // a submodule's own work is never a local change: git stash and reset --hard leave it
            }
            if (e.getStage() != DirCacheEntry.STAGE_0 || e.isUpdateNeeded() || e.isSkipWorkTree()
                    || e.isIntentToAdd() || (mode != FileMode.REGULAR_FILE.getBits()
                    && mode != FileMode.EXECUTABLE_FILE.getBits())) {
                return false;
            }
            FileStat a = FileStat.of(workTree.resolve(path));
            if (a == null || !a.isFile()) {
                return false;
            }
            if (fileMode && a.executable() != (mode == FileMode.EXECUTABLE_FILE.getBits())) {
                return false;
            }
            if (!e.isSmudged() && e.getLength() == (int) a.size() && sameTimes(e, a, kept.stat(path))) {
                return true;
            }
            stale.put(path, new KeptIndex.Refresh(e.getObjectId(), a));
            return false;
        }

        /**
         * Whether the times say the file is as the index recorded it, as strictly as git asks: the same
         * modification time (to the nanosecond where the index has them), the same change time (any write,
         * chmod, rename or {@code touch -r} moves it; JGit keeps it to the millisecond, and the full value
         * with the inode is kept in memory for files this daemon saw), and not "racily clean" (written no
         * earlier than the index itself, when an edit in the same tick would leave every time unchanged).
         */
        private boolean sameTimes(DirCacheEntry e, FileStat a, FileStat known) {
            Instant recorded = e.getLastModifiedInstant();
            // racy git: a file not older than the index may have changed in the same tick; an index written
            // with whole seconds (git built without USE_NSEC) is compared by the second, as git does
            if (recorded.getNano() == 0 ? recorded.getEpochSecond() >= indexTime.getEpochSecond()
                    : !recorded.isBefore(indexTime)) {
                return false;
            }
            // an index written without nanoseconds (git built without USE_NSEC) records whole seconds
            boolean sameTime = recorded.equals(a.mtime())
                    || (recorded.getNano() == 0 && recorded.getEpochSecond() == a.mtime().getEpochSecond());
            if (!sameTime) {
                return false;
            }
            if (known != null) {
                return known.ino() == a.ino() && known.ctime().equals(a.ctime()) && known.mtime().equals(a.mtime());
            }
            long ctime = e.getCreationTime();
            if (ctime == 0) {
                return false;  // written by JGit without a change time: only the content can tell
            }
            return ctime == a.ctimeMillis() || (ctime % 1000 == 0 && ctime / 1000 == a.ctime().getEpochSecond());
        }

        /** False when a folder on the path is missing, a file, or a symbolic link (lstat follows those). */
        private boolean inRealFolder(String path) {
            int slash = path.lastIndexOf('/');
            if (slash < 0) {
                return true;
            }
            // entries are sorted by path: most share the folder of the one before
            if (slash == lastFolder.length() && path.startsWith(lastFolder)) {
                return lastFolderReal;
            }
            lastFolder = path.substring(0, slash);
            lastFolderReal = isRealFolder(lastFolder);
            return lastFolderReal;
        }

        private boolean isRealFolder(String folder) {
            Boolean real = realFolders.get(folder);
            if (real == null) {
                int slash = folder.lastIndexOf('/');
                real = (slash < 0 || isRealFolder(folder.substring(0, slash)))
                        && Files.isDirectory(workTree.resolve(folder), LinkOption.NOFOLLOW_LINKS);
                realFolders.put(folder, real);
            }
            return real;
        }
    }

    /**
     * JGit's walk of HEAD, the index and the working tree over {@code paths}: it reads files and decides.
     * The index it walks is a copy of the entries of those paths (and of every .gitattributes), the files
     * among them marked "smudged": the stat pass already doubted their stat data (a change time or inode JGit
     * does not look at, or a racy time), so JGit must read the content, never take the index's word for
     * it; yet the file must be hashed against its index entry, as git's {@code text=auto} conversion
     * depends on whether the indexed blob holds CRLF.
     */
    private static TreeSet<String> walk(Repository r, DirCache index, ObjectId head, Set<String> paths)
            throws IOException {
        TreeSet<String> changed = new TreeSet<>();
        try (ObjectReader reader = r.newObjectReader(); TreeWalk walk = new TreeWalk(r, reader)) {
            walk.setOperationType(TreeWalk.OperationType.CHECKIN_OP);  // content is hashed as git add would
            int headIdx = head == null ? walk.addTree(new EmptyTreeIterator()) : walk.addTree(head);
            int indexIdx = walk.addTree(new DirCacheIterator(doubtedCopy(index, paths)));
            FileTreeIterator files = new FileTreeIterator(r);
            int treeIdx = walk.addTree(files);
            files.setDirCacheIterator(walk, indexIdx);
            walk.setRecursive(true);
            walk.setFilter(AndTreeFilter.create(PathFilterGroup.createFromStrings(paths),
                    new Tracked(headIdx, indexIdx)));
            while (walk.next()) {
                DirCacheIterator inIndex = walk.getTree(indexIdx, DirCacheIterator.class);
                WorkingTreeIterator onDisk = walk.getTree(treeIdx, WorkingTreeIterator.class);
                DirCacheEntry entry = inIndex == null ? null : inIndex.getDirCacheEntry();
                boolean gitlink = entry != null && entry.getFileMode() == FileMode.GITLINK;
                boolean differs = entry == null                       // only in HEAD: a staged deletion
                        || entry.getStage() != DirCacheEntry.STAGE_0  // in conflict
                        || !walk.getObjectId(headIdx).equals(entry.getObjectId())   // staged
                        || walk.getFileMode(headIdx) != entry.getFileMode()
                        || (!gitlink && onDisk == null)               // deleted on disk
                        || (!gitlink && onDisk.isModified(entry, true, reader));
                if (differs) {
                    changed.add(walk.getPathString());
                }
            }
            for (int i = 0; i < index.getEntryCount(); i++) {
                // a conflict's higher stages may not line up with the walk's entries: name them all
                if (index.getEntry(i).getStage() != DirCacheEntry.STAGE_0) {
                    changed.add(index.getEntry(i).getPathString());
                }
            }
        }
        return changed;
    }

    /** The entries of {@code paths} (files smudged) and of every .gitattributes, in an index of their own. */
    private static DirCache doubtedCopy(DirCache index, Set<String> paths) {
        java.util.TreeMap<Integer, Boolean> picked = new java.util.TreeMap<>();  // position -> doubted
        for (String path : paths) {
            EntryRange range = EntryRange.of(index, path);
            for (int i = range.from(); i < range.to(); i++) {
                picked.put(i, true);
            }
        }
        byte[] attributes = Constants.DOT_GIT_ATTRIBUTES.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < index.getEntryCount(); i++) {
            byte[] raw = index.getEntry(i).getRawPath();
            int at = raw.length - attributes.length;
            if (at >= 0 && (at == 0 || raw[at - 1] == '/')
                    && java.util.Arrays.equals(raw, at, raw.length, attributes, 0, attributes.length)) {
                picked.putIfAbsent(i, false);
            }
        }
        DirCache copy = DirCache.newInCore();
        org.eclipse.jgit.dircache.DirCacheBuilder builder = copy.builder();
        picked.forEach((i, doubted) -> {
            DirCacheEntry c = new DirCacheEntry(index.getEntry(i));
            if (doubted && (c.getFileMode() == FileMode.REGULAR_FILE || c.getFileMode() == FileMode.EXECUTABLE_FILE)) {
                c.setLength(0);  // a non-empty blob recorded with length 0 is "smudged": JGit reads the file
            }
            builder.add(c);
        });
        builder.finish();
        return copy;
    }

    /** The index file's modification time: entries not older than it are compared by content. */
    private static Instant indexTime(Repository r) {
        try {
            return Files.getLastModifiedTime(r.getIndexFile().toPath()).toInstant();
        } catch (IOException e) {
            return Instant.MAX;  // no index on disk: nothing it records can be trusted by its times
        }
    }

    /** Keeps only paths the index or HEAD knows, so untracked folders are never entered. */
    private static final class Tracked extends StatelessFilter {
        private final int headIdx;
        private final int indexIdx;

        Tracked(int headIdx, int indexIdx) {
            this.headIdx = headIdx;
            this.indexIdx = indexIdx;
        }

        @Override
        public boolean include(TreeWalk walk) {
            return walk.getTree(indexIdx, DirCacheIterator.class) != null || walk.getRawMode(headIdx) != 0;
        }

    }
}
