package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheEditor;
import org.eclipse.jgit.dircache.DirCacheEntry;
import org.eclipse.jgit.errors.LockFailedException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What pullhook adds around JGit's own {@code reset --hard}, the full reset used when the changed-paths one
 * ({@link TreeSwitch}) does not apply: the index readied before it, the stat data git would have recorded
 * after it, and HEAD put back when it fails. Each index step holds the {@link KeptIndex}'s lock.
 */
final class FullReset {
    private FullReset() {
    }

    /**
     * Readies the index for JGit's reset: entries whose files were found edited are marked for a content
     * check (JGit compares only size and time, and would keep a same-size edit that kept its time), the
     * stat data the check verified are recorded, and tracked paths behind a link or file that replaced one
     * of their folders are dropped (JGit would delete them through the link; git leaves the disk alone).
     */
    static void prepareIndex(Repository r, KeptIndex index, Path path, ResetPlan plan, List<String> unreachable)
            throws IOException {
        synchronized (index) {
            DirCache dc = index.read(r);
            Map<String, KeptIndex.Refresh> refreshes = index.takeRefreshes();
            Set<String> edited = plan.edited;
            Map<String, ObjectId> attributes = AttributesFiles.differing(r, dc, plan.targetTree);
            if (edited.isEmpty() && refreshes.isEmpty() && unreachable.isEmpty() && attributes.isEmpty()) {
                return;
            }
            if (!dc.lock()) {
                throw new LockFailedException(r.getIndexFile());
            }
            try {
                index.read(r);
                DirCacheEditor editor = dc.editor();
                edit(editor, dc, edited, refreshes, unreachable);
                AttributesFiles.stage(editor, attributes, new TreeSwitch.Folders(path));
                editor.finish();
                dc.write();
                if (!dc.commit()) {
                    throw new IOException("cannot commit the index");
                }
            } finally {
                dc.unlock();
                index.forget();
            }
        }
    }

    /** Drops the unreachable paths, marks the edited files for a content check, records the verified stat data. */
    private static void edit(DirCacheEditor editor, DirCache dc, Set<String> edited,
                             Map<String, KeptIndex.Refresh> refreshes, List<String> unreachable) {
        for (String p : unreachable) {
            editor.add(new DirCacheEditor.DeletePath(p));
        }
        for (String p : edited) {
            if (dc.findEntry(p) >= 0 && !unreachable.contains(p)) {
                editor.add(new DirCacheEditor.PathEdit(p) {
                    @Override
                    public void apply(DirCacheEntry ent) {
                        if (ent.getLength() != 0) {
                            ent.smudgeRacilyClean();
                        }
                    }
                });
            }
        }
        refreshes.forEach((p, f) -> {
            if (!edited.contains(p) && !unreachable.contains(p) && dc.findEntry(p) >= 0) {
                editor.add(new DirCacheEditor.PathEdit(p) {
                    @Override
                    public void apply(DirCacheEntry ent) {
                        if (ent.getObjectId().equals(f.id())) {
                            TreeSwitch.record(ent, f.stat());
                        }
                    }
                });
            }
        });
    }

    /**
     * After JGit's reset, the stat data git would have recorded for the files it wrote: their change time
     * (JGit records none), and their size where JGit marked them "racily clean" because they were written
     * after the index it had read, a stricter rule than git's (git compares with the new index's own time).
     * Only where the file still has the time JGit recorded and is older than the index: otherwise it stays
     * marked, and the next check compares it by content. Without this, every file JGit wrote would be read
     * again at the next check, and one written through a filter whose clean side does not undo its smudge
     * side would show an edit nobody made. A failure here costs only content checks later.
     */
    static void recordStat(Repository r, KeptIndex index, Path path) {
        synchronized (index) {
            try {
                Instant indexTime = Files.getLastModifiedTime(r.getIndexFile().toPath()).toInstant();
                DirCache dc = index.read(r);
                List<String> unknown = withoutStat(dc, indexTime);
                if (unknown.isEmpty() || !dc.lock()) {
                    return;
                }
                try {
                    index.read(r);
                    DirCacheEditor editor = dc.editor();
                    for (String p : unknown) {
                        FileStat stat = FileStat.of(path.resolve(p));
                        if (stat != null && stat.isFile() && stat.mtime().isBefore(indexTime)) {
                            editor.add(statEdit(p, stat));
                        }
                    }
                    editor.finish();
                    dc.write();
                    if (!dc.commit()) {
                        index.forget();
                    }
                } finally {
                    dc.unlock();
                }
            } catch (IOException | RuntimeException e) {
                index.forget();
            }
        }
    }

    /** The regular files of the index, older than it, that JGit recorded without a change time or marked racy. */
    private static List<String> withoutStat(DirCache dc, Instant indexTime) {
        List<String> unknown = new ArrayList<>();
        for (int i = 0; i < dc.getEntryCount(); i++) {
            DirCacheEntry e = dc.getEntry(i);
            if ((e.getCreationTime() == 0 || e.isSmudged()) && e.getStage() == 0
                    && (e.getFileMode() == FileMode.REGULAR_FILE
                    || e.getFileMode() == FileMode.EXECUTABLE_FILE)
                    && e.getLastModifiedInstant().isBefore(indexTime)) {
                unknown.add(e.getPathString());
            }
        }
        return unknown;
    }

    /** Records {@code stat} on the entry of {@code path}, if the file still has the time and size JGit recorded. */
    private static DirCacheEditor.PathEdit statEdit(String path, FileStat stat) {
        return new DirCacheEditor.PathEdit(path) {
            @Override
            public void apply(DirCacheEntry ent) {
                if (!ent.getLastModifiedInstant().equals(stat.mtime())
                        || (!ent.isSmudged() && ent.getLength() != (int) stat.size())) {
                    return;
                }
                TreeSwitch.record(ent, stat);
            }
        };
    }

    /**
     * After JGit's reset failed: JGit moves the branch before it touches the index, so HEAD is put back, and
     * never claims a commit whose files were not written (nor is the next push taken as up to date).
     */
    static void restoreHead(Repository r, ObjectId before) {
        if (before == null) {
            return;
        }
        try {
            ObjectId now = r.resolve(Constants.HEAD);
            if (!before.equals(now)) {
                RefUpdate update = r.updateRef(Constants.HEAD);
                update.setNewObjectId(before);
                update.setForceUpdate(true);
                update.setRefLogMessage("pullhook: reset failed, back to " + before.name(), false);
                update.forceUpdate();
            }
        } catch (IOException | RuntimeException e) {
            // the next deploy resets again whatever HEAD says
        }
    }
}
