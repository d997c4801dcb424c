package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * The first look of {@link LocalChanges}: one {@code lstat} per index entry, compared with what the index
 * recorded (type, executable bit, size, times), as git's index refresh compares them. Names the entries
 * that may differ, for the content walk to decide ({@link ContentWalk}), and among them the files whose
 * stat data alone moved.
 */
final class StatPass {
    private StatPass() {
    }

    /**
     * Index entries whose file on disk may differ: anything but a regular file with the recorded
     * executable bit, size and modification time under real folders, and every entry that the index
     * itself marks as needing a look (smudged by a racy write, conflicted, submodules, symbolic links).
     * Errs towards doubt: the full walk decides. A big index is split in two halves, one of them looked at
     * on the common pool: lstat is most of the time, and a 2-core server does two at once.
     */
    static Scan statDiffers(Repository r, KeptIndex kept, DirCache index, Instant indexTime)
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
    static Scan statDiffers(Repository r, KeptIndex kept, DirCache index, Instant indexTime, Set<String> paths) {
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
    record Scan(Set<String> doubtful, Map<String, KeptIndex.Refresh> stale) {
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
}
