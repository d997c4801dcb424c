package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The folders of a working tree that {@link TreeWatch} has an inotify watch on, by their index path: each
 * real folder that holds a tracked path, none known under two names, none on a network filesystem. Not
 * thread-safe, like the watch.
 */
final class WatchedFolders {
    /** Filesystems where another machine may change files without an event here. */
    private static final Set<String> REMOTE = Set.of("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph",
            "glusterfs", "afs", "lustre", "gpfs", "ocfs2", "gfs2", "davfs", "virtiofs");

    private final Path workTree;
    private final WatchService service;
    private final Map<String, WatchKey> watched = new HashMap<>();
    private final Map<WatchKey, String> folderOf = new HashMap<>();
    /** The filesystems (devices) of the watched folders, each checked once ({@link #checkDevice}). */
    private final Set<Object> devices = new HashSet<>();

    WatchedFolders(Path workTree, WatchService service) {
        this.workTree = workTree;
        this.service = service;
    }

    /** What kind of network filesystem {@code dir} is on (changes made elsewhere send no event), or null. */
    static String remoteFilesystem(Path dir) {
        try {
            String type = Files.getFileStore(dir).type().toLowerCase(Locale.ROOT);
            return REMOTE.contains(type) || type.startsWith("fuse")
                    ? "a " + type + " filesystem, where changes made elsewhere send no event" : null;
        } catch (IOException | RuntimeException e) {
            return "a filesystem that cannot be told (" + e.getMessage() + ")";
        }
    }

    /** The folder {@code key} watches, or null when it is not watched any more. */
    String folderOf(WatchKey key) {
        return folderOf.get(key);
    }

    /** Watches exactly {@code folders} (sorted: a parent before its children), each once. */
    void watchOnly(Set<String> folders) throws IOException {
        for (String folder : new ArrayList<>(watched.keySet())) {
            if (!folders.contains(folder)) {
                unwatch(folder);
            }
        }
        for (String folder : folders) {
            WatchKey k = watched.get(folder);
            if (k == null || !k.isValid()) {
                watch(folder);
            }
        }
    }

    /**
     * Watches one folder, if it is a real folder (not missing, not a link); a missing one is seen when its
     * parent reports it created.
     */
    void watch(String folder) throws IOException {
        Path dir = resolve(folder);
        if (dir == null) {
            throw new IOException("cannot watch the folder \"" + folder + "\": its name has no file name here");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        WatchKey old = watched.remove(folder);
        if (old != null) {
            folderOf.remove(old);
            old.cancel();
        }
        WatchKey key;
        try {
            key = dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
                    StandardWatchEventKinds.ENTRY_MODIFY);
        } catch (IOException e) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return;  // removed meanwhile: its parent reports that
            }
            throw new IOException("cannot watch " + dir + ": " + e.getMessage()
                    + " (inotify watch limit? sysctl fs.inotify.max_user_watches)", e);
        }
        checkDevice(folder, dir);
        String before = folderOf.put(key, folder);
        if (before != null && !before.equals(folder)) {
            // the same folder under another name (a link, a bind mount): events would carry one name only
            throw new IOException("cannot watch " + dir + ": it is also " + resolve(before));
        }
        watched.put(folder, key);
    }

    /** A folder on another filesystem than the top (a mount inside the working copy) must not be a network one. */
    private void checkDevice(String folder, Path dir) throws IOException {
        Object device = Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        if (devices.add(device) && !folder.isEmpty()) {
            String remote = remoteFilesystem(dir);
            if (remote != null) {
                throw new IOException("the folder " + folder + " is on " + remote);
            }
        }
    }

    /** Stops watching {@code path} and every folder under it. */
    void unwatchUnder(String path) {
        String prefix = path + "/";
        for (String folder : new ArrayList<>(watched.keySet())) {
            if (folder.equals(path) || folder.startsWith(prefix)) {
                unwatch(folder);
            }
        }
    }

    private void unwatch(String folder) {
        WatchKey key = watched.remove(folder);
        if (key != null) {
            folderOf.remove(key);
            key.cancel();
        }
    }

    /** A key that is no longer valid: its folder is not watched any more. */
    void forget(WatchKey key) {
        String folder = folderOf.remove(key);
        if (folder != null && watched.get(folder) == key) {
            watched.remove(folder);
        }
    }

    /** The folder on disk, or null when its name cannot be one here. */
    Path resolve(String folder) {
        try {
            return folder.isEmpty() ? workTree : workTree.resolve(folder);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /**
     * {@code top} and every folder under it that holds a tracked path of entries {@code from} to {@code to}
     * (all under {@code top}), with the folders between, sorted: a parent before its children.
     */
    static TreeSet<String> foldersOf(DirCache index, int from, int to, String top) {
        TreeSet<String> folders = new TreeSet<>();
        folders.add(top);
        String last = "";
        for (int i = from; i < to; i++) {
            String path = new String(index.getEntry(i).getRawPath(), StandardCharsets.UTF_8);
            int slash = path.lastIndexOf('/');
            if (slash < 0) {
                continue;
            }
            String folder = path.substring(0, slash);
            if (folder.equals(last)) {
                continue;
            }
            last = folder;
            while (folder.length() > top.length() && folders.add(folder)) {
                int up = folder.lastIndexOf('/');
                folder = up < 0 ? "" : folder.substring(0, up);
            }
        }
        return folders;
    }
}
