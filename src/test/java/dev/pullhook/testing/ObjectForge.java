package dev.pullhook.testing;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes git objects into a bare repository byte for byte as given, as a hostile pusher or git host could:
 * trees are built from raw entries ({@code <octal mode> <name>\0<20-byte id>}) in the order given, so names
 * like {@code ..}, {@code .git}, an empty name, duplicates, bad modes or bad order are possible; nothing is
 * checked, sorted or normalised. Objects are written loose, so one can be {@link #deleteLoose deleted}.
 * Then {@link #moveBranch} points a branch at a commit with a forced ref update (no push, no receive checks).
 */
public final class ObjectForge implements AutoCloseable {
    public static final String AUTHOR = "Hostile Pusher <pusher@example.invalid> 1700000000 +0000";

    private final Repository repo;
    private final ObjectInserter inserter;

    private ObjectForge(Path bareRepo) throws IOException {
        repo = new FileRepositoryBuilder().setGitDir(bareRepo.toFile()).setMustExist(true).build();
        inserter = repo.newObjectInserter();
    }

    /** A forge for the bare repository at {@code bareRepo} (e.g. {@link TestRepos#origin}). */
    public static ObjectForge open(Path bareRepo) {
        try {
            return new ObjectForge(bareRepo);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One raw tree entry: its mode as written (octal text, may be malformed), its name bytes, its id. */
    public record Entry(String mode, byte[] name, ObjectId id) {
        public static Entry of(String mode, String name, ObjectId id) {
            return new Entry(mode, name.getBytes(StandardCharsets.UTF_8), id);
        }
    }

    public static Entry file(String name, ObjectId blob) {
        return Entry.of("100644", name, blob);
    }

    public static Entry executable(String name, ObjectId blob) {
        return Entry.of("100755", name, blob);
    }

    public static Entry symlink(String name, ObjectId targetBlob) {
        return Entry.of("120000", name, targetBlob);
    }

    public static Entry folder(String name, ObjectId tree) {
        return Entry.of("40000", name, tree);
    }

    public static Entry gitlink(String name, ObjectId commit) {
        return Entry.of("160000", name, commit);
    }

    public ObjectId blob(byte[] content) {
        return insert(Constants.OBJ_BLOB, content);
    }

    public ObjectId blob(String content) {
        return blob(content.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The entries in git's tree order (names compared as bytes, a folder's as if it ended in {@code /}), so
     * that a crafted tree breaks only the rule a test means it to break, not also {@code treeNotSorted}.
     */
    public static List<Entry> sorted(List<Entry> entries) {
        List<Entry> out = new java.util.ArrayList<>(entries);
        out.sort((a, b) -> compareNames(sortKey(a), sortKey(b)));
        return out;
    }

    private static byte[] sortKey(Entry e) {
        if (!e.mode().equals("40000")) {
            return e.name();
        }
        byte[] k = java.util.Arrays.copyOf(e.name(), e.name().length + 1);
        k[k.length - 1] = '/';
        return k;
    }

    private static int compareNames(byte[] a, byte[] b) {
        return java.util.Arrays.compareUnsigned(a, b);
    }

    /** A tree of these entries in git's order ({@link #sorted}). */
    public ObjectId sortedTree(List<Entry> entries) {
        return tree(sorted(entries));
    }

    /** A tree of exactly these entries, in this order. */
    public ObjectId tree(Entry... entries) {
        return tree(List.of(entries));
    }

    public ObjectId tree(List<Entry> entries) {
        return rawTree(treeBytes(entries));
    }

    /** The raw bytes of a tree of these entries, in this order. */
    public static byte[] treeBytes(List<Entry> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Entry e : entries) {
            out.writeBytes(e.mode().getBytes(StandardCharsets.US_ASCII));
            out.write(' ');
            out.writeBytes(e.name());
            out.write(0);
            byte[] id = new byte[Constants.OBJECT_ID_LENGTH];
            e.id().copyRawTo(id, 0);
            out.writeBytes(id);
        }
        return out.toByteArray();
    }

    public ObjectId rawTree(byte[] bytes) {
        return insert(Constants.OBJ_TREE, bytes);
    }

    /** A well-formed commit of {@code tree} on {@code parent} (may be null). */
    public ObjectId commit(ObjectId tree, ObjectId parent, String message) {
        StringBuilder b = new StringBuilder("tree ").append(tree.name()).append('\n');
        if (parent != null) {
            b.append("parent ").append(parent.name()).append('\n');
        }
        b.append("author ").append(AUTHOR).append('\n');
        b.append("committer ").append(AUTHOR).append('\n');
        b.append('\n').append(message).append('\n');
        return rawCommit(b.toString().getBytes(StandardCharsets.UTF_8));
    }

    public ObjectId rawCommit(byte[] bytes) {
        return insert(Constants.OBJ_COMMIT, bytes);
    }

    private ObjectId insert(int type, byte[] bytes) {
        try {
            ObjectId id = inserter.insert(type, bytes);
            inserter.flush();
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tree of a commit of this repository. */
    public ObjectId treeOf(ObjectId commit) {
        try (org.eclipse.jgit.revwalk.RevWalk walk = new org.eclipse.jgit.revwalk.RevWalk(repo)) {
            return walk.parseCommit(commit).getTree().getId();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Points {@code refs/heads/<branch>} at {@code commit}, forced, whatever it pointed at. */
    public void moveBranch(String branch, ObjectId commit) {
        try {
            RefUpdate update = repo.updateRef(Constants.R_HEADS + branch);
            update.setNewObjectId(commit);
            update.setForceUpdate(true);
            update.setRefLogMessage("hostile test: forced", false);
            RefUpdate.Result result = update.forceUpdate();
            if (result != RefUpdate.Result.FORCED && result != RefUpdate.Result.NEW
                    && result != RefUpdate.Result.NO_CHANGE && result != RefUpdate.Result.FAST_FORWARD) {
                throw new IllegalStateException("cannot move " + branch + " to " + commit.name() + ": " + result);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file of a loose object in {@code gitDir} (a bare repository or a working copy's {@code .git}). */
    public static Path loose(Path gitDir, ObjectId id) {
        String hex = id.name();
        return gitDir.resolve("objects").resolve(hex.substring(0, 2)).resolve(hex.substring(2));
    }

    /** Removes the loose object {@code id} from this repository; returns its file's bytes, to put it back. */
    public byte[] deleteLoose(ObjectId id) {
        Path file = loose(repo.getDirectory().toPath(), id);
        try {
            byte[] bytes = Files.readAllBytes(file);
            Files.delete(file);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Puts back a loose object removed by {@link #deleteLoose}. */
    public void restoreLoose(ObjectId id, byte[] bytes) {
        Path file = loose(repo.getDirectory().toPath(), id);
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        inserter.close();
        repo.close();
    }
}
