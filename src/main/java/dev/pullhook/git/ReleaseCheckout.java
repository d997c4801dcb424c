package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCacheCheckout;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A commit's tree written into a fresh release folder of an atomic deploy, from the shared bare repository
 * (no second clone, no index, no {@code .git} in the folder): the reset's own plan from nothing
 * ({@link ResetPlan}: names, duplicate entries, modes, attributes and link targets checked before anything
 * is written) and its own writer ({@link TreeSwitch.Folders}: folders created one by one and never
 * followed, files through a temporary file). Links are made, not followed; a submodule is an empty folder.
 */
final class ReleaseCheckout {
    private ReleaseCheckout() {
    }

    /** Writes {@code commit}'s tree into {@code release}, which must be an empty folder; returns the paths written. */
    static int write(Repository store, ObjectId commit, Path release) throws IOException, ResetPlan.Refused {
        if (!Files.isDirectory(release, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(release + " is not a folder");
        }
        try (var entries = Files.list(release)) {
            if (entries.findAny().isPresent()) {
                throw new IOException(release + " is not empty");
            }
        }
        // the same object database, seen with the release as its work tree: filters run there, as git runs them
        try (Repository view = new FileRepositoryBuilder().setGitDir(store.getDirectory())
                .setWorkTree(release.toFile()).setIndexFile(release.resolveSibling("." + release.getFileName()
                        + ".index").toFile()).setMustExist(true).build()) {
            ResetPlan plan = ResetPlan.of(view, null, commit, Set.of());
            TreeSwitch.Folders folders = new TreeSwitch.Folders(release);
            WorkingTreeOptions options = view.getConfig().get(WorkingTreeOptions.KEY);
            int written = 0;
            try (ObjectReader reader = view.newObjectReader()) {
                for (ResetPlan.Change c : plan.changes) {
                    if (c.deleted()) {
                        continue;
                    }
                    if (c.newMode() == FileMode.SYMLINK) {
                        folders.link(c.path(), new String(reader.open(c.newId(), Constants.OBJ_BLOB).getCachedBytes(4096),
                                StandardCharsets.UTF_8));
                    } else if (c.newMode() == FileMode.GITLINK) {
                        folders.folder(c.path());
                    } else {
                        folders.write(c.path(), out -> DirCacheCheckout.getContent(view, c.path(), c.metadata(),
                                reader.open(c.newId(), Constants.OBJ_BLOB), options, out),
                                c.newMode() == FileMode.EXECUTABLE_FILE);
                    }
                    written++;
                }
            }
            return written;
        }
    }

    /**
     * Tracked paths of {@code release} whose file differs from {@code commit}'s (edited, deleted, or of another
     * kind), sorted, at most {@code limit}; untracked files are not looked at.
     */
    static List<String> edits(Repository store, ObjectId commit, Path release, int limit) throws IOException {
        List<String> out = new ArrayList<>();
        try (Repository view = new FileRepositoryBuilder().setGitDir(store.getDirectory())
                .setWorkTree(release.toFile()).setIndexFile(release.resolveSibling("." + release.getFileName()
                        + ".index").toFile()).setMustExist(true).build();
             RevWalk rw = new RevWalk(view); TreeWalk tw = new TreeWalk(view)) {
            tw.addTree(rw.parseCommit(commit).getTree());
            tw.addTree(new FileTreeIterator(view));
            tw.setRecursive(true);
            while (tw.next() && out.size() < limit) {
                if (tw.getRawMode(0) == 0 || tw.getFileMode(0) == FileMode.GITLINK) {
                    continue;  // untracked (built by deploy.command), or a submodule's folder
                }
                FileTreeIterator file = tw.getTree(1, FileTreeIterator.class);
                if (file == null || tw.getFileMode(0) != tw.getFileMode(1)
                        || !tw.getObjectId(0).equals(file.getEntryObjectId())) {
                    out.add(tw.getPathString());
                }
            }
        }
        return out;
    }
}
