package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Which tracked paths may have changed on disk since the last look, so that the local-changes check looks
 * at those only instead of every tracked file, as git's fsmonitor does. Linux inotify, through Java's
 * {@link WatchService}: one watch on each folder that holds tracked files (untracked folders such as
 * uploads or caches are not watched; a change there cannot touch a tracked file).
 * <p>
 * Events are read only when asked, on the asking thread. Before it answers, a cookie file is created in a
 * watched folder of its own ({@code .git/pullhook-watch}) and its event awaited: inotify delivers events
 * in order, so every change made before the question has then been read. Anything uncertain makes the
 * next answer "everything" ({@code null}), and the caller then looks at every entry after
 * {@link #restart}: an overflow of the event queue, a cookie that does not come back in time, the working
 * tree's top folder gone, a name that cannot be mapped to an index path. A folder created or moved in is
 * watched from then on, and every tracked path under it counts as changed.
 * <p>
 * What inotify does not see, this cannot either: writes through a shared memory mapping, and changes made
 * by another machine on a network filesystem ({@link #unsupported} keeps the watch off there).
 * Not thread-safe: used under the index lock of {@link OpenRepository}.
 */
final class TreeWatch implements Closeable {
    /** The folder in the git directory where cookies are written. */
    static final String COOKIES = "pullhook-watch";
    private static final long COOKIE_WAIT_MS = 2_000;

    private final Path workTree;
    private final Path cookieDir;
    private final WatchService service;
    private final WatchKey cookieKey;
    private final WatchedFolders folders;
    private final Set<String> dirty = new HashSet<>();
    private boolean everything = true;
    private String failure;
    private long cookies;

    private TreeWatch(Path workTree, Path cookieDir, WatchService service, WatchKey cookieKey) {
        this.workTree = workTree;
        this.cookieDir = cookieDir;
        this.service = service;
        this.cookieKey = cookieKey;
        this.folders = new WatchedFolders(workTree, service);
    }

    /**
     * Why the working tree cannot be watched reliably, or null when it can: a network filesystem, or a
     * JVM whose file names are not UTF-8 (so a name in an event may not be the index's).
     */
    static String unsupported(Path workTree) {
        String names = WorkingCopy.fileNamesNotUtf8();
        if (names != null) {
            return "file names are decoded as " + names + ", not UTF-8 (run java with LANG=C.UTF-8, as the systemd unit does)";
        }
        String remote = WatchedFolders.remoteFilesystem(workTree);
        return remote == null ? null : "the working copy is on " + remote;
    }

    /** Starts watching the cookie folder; the working tree's folders are watched by the first {@link #restart}. */
    static TreeWatch open(Path workTree, Path gitDir) throws IOException {
        Path cookieDir = gitDir.resolve(COOKIES);
        Files.createDirectories(cookieDir);
        try (DirectoryStream<Path> old = Files.newDirectoryStream(cookieDir)) {
            for (Path p : old) {
                Files.deleteIfExists(p);  // left by a process that died
            }
        }
        WatchService service = workTree.getFileSystem().newWatchService();
        try {
            WatchKey cookieKey = cookieDir.register(service, StandardWatchEventKinds.ENTRY_CREATE);
            return new TreeWatch(workTree, cookieDir, service, cookieKey);
        } catch (IOException | RuntimeException e) {
            service.close();
            throw e;
        }
    }

    /** Makes the next {@link #changes} answer "everything". */
    void invalidate() {
        everything = true;
    }

    /**
     * Watches every folder that holds a tracked path of {@code index} and forgets what was seen. Call it
     * right before looking at every entry: a change from now on is reported by the next {@link #changes}.
     *
     * When a folder cannot be watched (inotify's watch limit, say), {@link #failure} tells why: give the
     * watch up.
     */
    void restart(DirCache index) {
        try {
            rewatch(index);
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    private void rewatch(DirCache index) throws IOException {
        WatchKey key;
        while ((key = poll(0)) != null) {
            key.pollEvents();
            if (!key.reset()) {
                folders.forget(key);
            }
        }
        folders.watchOnly(WatchedFolders.foldersOf(index, 0, index.getEntryCount(), ""));
        dirty.clear();
        everything = false;
    }

    /**
     * The paths (files or folders, relative to the working tree) that may have changed since the last
     * {@link #restart} or {@code changes}, or null for everything (then call {@link #restart}).
     *
     * @param index the index as it is now: a created folder is watched when it holds tracked paths
     */
    Set<String> changes(DirCache index) {
        if (everything || failure != null) {
            return null;
        }
        try {
            return collect(index);
        } catch (IOException | RuntimeException e) {
            fail(e);
            return null;
        }
    }

    /** Whether the next {@link #changes} may answer with paths (not "everything"), as far as known now. */
    boolean answersNext() {
        return !everything && failure == null;
    }

    /** Why the watch cannot go on (then it answers "everything" for good), or null. */
    String failure() {
        return failure;
    }

    private void fail(Exception e) {
        everything = true;
        if (e instanceof java.io.InterruptedIOException) {
            return;  // a deploy cancelled at shutdown: the flag is set again, nothing is wrong with the watch
        }
        // a FileSystemException's message is just the path
        failure = e.getMessage() == null || e instanceof java.nio.file.FileSystemException
                ? e.toString().replace("java.nio.file.", "") : e.getMessage();
    }

    private Set<String> collect(DirCache index) throws IOException {
        String name = "cookie-" + ProcessHandle.current().pid() + "-" + (++cookies);
        Path cookie = cookieDir.resolve(name);
        Files.createFile(cookie);
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(COOKIE_WAIT_MS);
            boolean seen = false;
            while (!seen) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                WatchKey key = left > 0 ? poll(left) : null;
                if (key == null) {
                    everything = true;  // not back in time: what else was missed is unknown
                    break;
                }
                seen = read(key, index, name);
            }
            WatchKey key;
            while ((key = poll(0)) != null) {
                read(key, index, null);
            }
        } finally {
            Files.deleteIfExists(cookie);
        }
        if (everything) {
            return null;
        }
        Set<String> out = new TreeSet<>(dirty);
        dirty.clear();
        return out;
    }

    /** Reads one signalled key's events; true when among them is the creation of {@code cookie}. */
    private boolean read(WatchKey key, DirCache index, String cookie) throws IOException {
        List<WatchEvent<?>> events = key.pollEvents();
        boolean valid = key.reset();
        if (key == cookieKey) {
            return cookieSeen(events, valid, cookie);
        }
        String folder = folders.folderOf(key);
        if (folder == null) {
            return false;  // unwatched meanwhile; its events are about the old place, known changed already
        }
        for (WatchEvent<?> e : events) {
            if (e.kind() == StandardWatchEventKinds.OVERFLOW) {
                everything = true;
                continue;
            }
            String path = mapped(folder.isEmpty() ? e.context().toString() : folder + "/" + e.context());
            if (path == null) {
                everything = true;
                continue;
            }
            dirty.add(path);
            if (e.kind() == StandardWatchEventKinds.ENTRY_DELETE) {
                folders.unwatchUnder(path);  // deleted, or moved away: a watch would keep reporting the old names
            } else if (e.kind() == StandardWatchEventKinds.ENTRY_CREATE) {
                watchNew(path, index);
            }
        }
        if (!valid) {
            folders.forget(key);
            if (folder.isEmpty()) {
                everything = true;  // the working tree's top folder itself
            } else {
                dirty.add(folder);
            }
        }
        return false;
    }

    /** The cookie folder's events: whether {@code cookie} was created among them. */
    private boolean cookieSeen(List<WatchEvent<?>> events, boolean valid, String cookie) throws IOException {
        boolean seen = false;
        for (WatchEvent<?> e : events) {
            if (e.kind() == StandardWatchEventKinds.OVERFLOW) {
                everything = true;
            } else if (cookie != null && cookie.equals(e.context().toString())) {
                seen = true;
            }
        }
        if (!valid) {
            throw new IOException(cookieDir + " went away");
        }
        return seen;
    }

    /** A folder created or moved in: watch it and its tracked folders, if it holds tracked paths. */
    private void watchNew(String path, DirCache index) throws IOException {
        Path dir = folders.resolve(path);
        if (dir == null || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        EntryRange within = EntryRange.within(index, path);
        if (within.isEmpty()) {
            return;
        }
        folders.unwatchUnder(path);
        for (String folder : WatchedFolders.foldersOf(index, within.from(), within.to(), path)) {  // path itself first
            folders.watch(folder);
        }
    }

    /**
     * The index path an event's name stands for: itself when it maps exactly; else (a name that is not
     * UTF-8) its nearest folder that does (every tracked path under it then counts as changed); null when
     * not even that. File names are decoded as UTF-8 ({@link #unsupported}).
     */
    private String mapped(String path) {
        String p = path;
        while (p.indexOf('\uFFFD') >= 0) {
            int slash = p.lastIndexOf('/');
            if (slash < 0) {
                return null;
            }
            p = p.substring(0, slash);
        }
        return p;
    }

    private WatchKey poll(long ms) throws IOException {
        try {
            return ms <= 0 ? service.poll() : service.poll(ms, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            everything = true;
            throw new java.io.InterruptedIOException("interrupted while reading file events");
        } catch (ClosedWatchServiceException e) {
            throw new IOException("the file watch was closed", e);
        }
    }

    @Override
    public void close() {
        try {
            service.close();
        } catch (IOException e) {
            // nothing is watched any more either way
        }
    }
}
