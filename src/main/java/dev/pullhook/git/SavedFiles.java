package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheBuilder;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Untracked files, links and folders that a reset is about to replace ({@link InTheWay}), saved in the
 * repository itself before they are removed: one commit whose tree holds them at their own paths (a link
 * as a link, the executable bit kept), on {@code refs/pullhook/saved/<yyyyMMdd-HHmmss>}. Nothing is
 * followed, nothing is written outside git's own object store and refs, and getting a file back is plain
 * git: {@code git checkout refs/pullhook/saved/<time> -- <path>}. What git cannot hold (a socket, a
 * device, a nested repository, more than {@link #MAX_BYTES}) refuses the deploy instead, before any change.
 */
final class SavedFiles {
    static final String PREFIX = "refs/pullhook/saved/";
    /** Saving more than this in the object store is refused: move it away by hand. */
    static final long MAX_BYTES = 256L << 20;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

    private SavedFiles() {
    }

    /** One thing to save: its path, mode and content. */
    private record Item(String path, FileMode mode, Path file, long size) {
    }

    /**
     * Checks that every path can be saved (before anything changes); the list of files it will save.
     *
     * @throws ResetPlan.Refused naming the path and what to do, when one cannot be
     */
    static List<String> check(Path workTree, List<String> paths) throws IOException, ResetPlan.Refused {
        List<Item> items = collect(workTree, paths);
        List<String> out = new ArrayList<>();
        items.forEach(i -> out.add(i.path()));
        return out;
    }

    /**
     * Saves {@code paths} as a commit on a new {@code refs/pullhook/saved/...} ref, then removes them from the
     * working tree (without following any link). Returns the ref's name.
     */
    static String saveAndRemove(Repository r, ObjectId head, ObjectId target, List<String> paths, Instant now)
            throws IOException, ResetPlan.Refused {
        Path workTree = r.getWorkTree().toPath();
        List<Item> items = collect(workTree, paths);
        String ref;
        try (ObjectInserter ins = r.newObjectInserter()) {
            DirCache tree = DirCache.newInCore();
            DirCacheBuilder builder = tree.builder();
            for (Item item : items) {
                DirCacheEntry e = new DirCacheEntry(item.path());
                e.setFileMode(item.mode());
                if (item.mode() == FileMode.SYMLINK) {
                    byte[] link = Files.readSymbolicLink(item.file()).toString().getBytes(StandardCharsets.UTF_8);
                    e.setObjectId(ins.insert(Constants.OBJ_BLOB, link));
                } else {
                    try (InputStream in = Files.newInputStream(item.file(), LinkOption.NOFOLLOW_LINKS)) {
                        e.setObjectId(ins.insert(Constants.OBJ_BLOB, item.size(), in));
                    }
                }
                builder.add(e);
            }
            builder.finish();
            CommitBuilder c = new CommitBuilder();
            c.setTreeId(tree.writeTree(ins));
            if (head != null) {
                c.setParentId(head);
            }
            PersonIdent who = new PersonIdent("pullhook", "pullhook@localhost");
            c.setAuthor(who);
            c.setCommitter(who);
            c.setMessage("pullhook: untracked files in the way of " + target.abbreviate(7).name() + ", saved at "
                    + now + "\n\n" + String.join("\n", paths) + "\n");
            ObjectId commit = ins.insert(c);
            ins.flush();
            ref = newRef(r, commit, now);
        }
        for (String path : paths) {
            NoFollow.removeTree(workTree.resolve(path));
        }
        return ref;
    }

    private static String newRef(Repository r, ObjectId commit, Instant now) throws IOException {
        String base = PREFIX + TIME.format(now);
        String name = base;
        for (int i = 2; r.exactRef(name) != null; i++) {
            name = base + "-" + i;
        }
        RefUpdate u = r.updateRef(name);
        u.setNewObjectId(commit);
        u.setExpectedOldObjectId(ObjectId.zeroId());
        u.setRefLogMessage("pullhook: untracked files in the way", false);
        RefUpdate.Result result = u.update();
        if (result != RefUpdate.Result.NEW) {
            throw new IOException("cannot create " + name + ": " + result);
        }
        return name;
    }

    private static List<Item> collect(Path workTree, List<String> paths) throws IOException, ResetPlan.Refused {
        List<Item> items = new ArrayList<>();
        long[] bytes = {0};
        for (String path : paths) {
            collect(workTree, path, items, bytes);
        }
        if (bytes[0] > MAX_BYTES) {
            throw new ResetPlan.Refused("untracked files in the way of the push hold " + (bytes[0] >> 20)
                    + " MiB (" + String.join(", ", paths) + "); pullhook saves what it replaces in git, up to "
                    + (MAX_BYTES >> 20) + " MiB: move them out of the working copy and deploy again; nothing was changed");
        }
        return items;
    }

    private static void collect(Path workTree, String path, List<Item> items, long[] bytes)
            throws IOException, ResetPlan.Refused {
        Path file = workTree.resolve(path);
        FileStat stat = FileStat.of(file);
        if (stat == null) {
            return;
        }
        String name = file.getFileName().toString();
        if (name.equals(Constants.DOT_GIT) || !validName(path)) {
            throw new ResetPlan.Refused("the untracked " + stat.kind() + " \"" + path + "\" is in the way of the push"
                    + " and git cannot store it (" + (name.equals(Constants.DOT_GIT) ? "a nested repository"
                    : "its name") + "); move it out of the working copy and deploy again; nothing was changed");
        }
        if (stat.isDirectory()) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(file)) {
                for (Path child : children) {
                    collect(workTree, path + "/" + child.getFileName(), items, bytes);
                }
            }
        } else if (stat.isSymlink()) {
            items.add(new Item(path, FileMode.SYMLINK, file, 0));
        } else if (stat.isFile()) {
            bytes[0] += stat.size();
            items.add(new Item(path, stat.executable() ? FileMode.EXECUTABLE_FILE : FileMode.REGULAR_FILE, file,
                    stat.size()));
        } else {
            throw new ResetPlan.Refused("the untracked " + stat.kind() + " \"" + path + "\" is in the way of the push"
                    + " and git cannot store it; remove it and deploy again; nothing was changed");
        }
    }

    private static boolean validName(String path) {
        try {
            new DirCacheEntry(path);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
