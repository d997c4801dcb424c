package dev.pullhook.testing;

import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.TreeFormatter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes a commit straight into a repository from a description of its files: path to {@link Leaf} (a file
 * with its bytes and executable bit, a symlink, or a gitlink). Paths are bytes, so a test can push a name
 * that is not valid UTF-8, which no git porcelain would let it write. Trees are sorted the way git sorts them
 * (a folder's name compares as if followed by {@code /}). Commit times are fixed by a counter, so the same
 * seed gives the same commit ids.
 */
public final class TreeWriter {
    private static final Instant EPOCH = Instant.parse("2024-01-01T00:00:00Z");

    /** What a tree entry holds. */
    public sealed interface Leaf permits File, Link, Gitlink {
    }

    public record File(byte[] content, boolean executable) implements Leaf {
    }

    public record Link(String target) implements Leaf {
    }

    public record Gitlink(ObjectId commit) implements Leaf {
    }

    /** A path given as raw bytes, for names a {@code String} cannot hold. */
    public record RawPath(byte[] path, Leaf leaf) {
    }

    private final Repository repo;
    private int commits;

    public TreeWriter(Repository repo) {
        this.repo = repo;
    }

    /** A commit of {@code files} (plus {@code raw} entries) with {@code parent} (may be null); returns its id. */
    public ObjectId commit(Map<String, Leaf> files, List<RawPath> raw, ObjectId parent, String message) {
        List<RawPath> all = new ArrayList<>();
        files.forEach((path, leaf) -> all.add(new RawPath(path.getBytes(StandardCharsets.UTF_8), leaf)));
        all.addAll(raw);
        try (ObjectInserter inserter = repo.newObjectInserter()) {
            ObjectId tree = tree(inserter, all, 0);
            PersonIdent who = new PersonIdent("Parity Pusher", "pusher@example.invalid",
                    EPOCH.plusSeconds(60L * ++commits), ZoneOffset.UTC);
            CommitBuilder commit = new CommitBuilder();
            commit.setTreeId(tree);
            if (parent != null) {
                commit.setParentId(parent);
            }
            commit.setAuthor(who);
            commit.setCommitter(who);
            commit.setMessage(message + "\n");
            ObjectId id = inserter.insert(commit);
            inserter.flush();
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The tree of every entry whose path, from byte {@code from} on, lies in this folder. */
    private ObjectId tree(ObjectInserter inserter, List<RawPath> entries, int from) throws IOException {
        // group by the next path component: a leaf here, or a folder holding deeper entries
        java.util.TreeMap<String, List<RawPath>> folders = new java.util.TreeMap<>();
        List<Object[]> items = new ArrayList<>();  // {name bytes, FileMode, ObjectId}
        for (RawPath e : entries) {
            int slash = indexOf(e.path(), (byte) '/', from);
            if (slash < 0) {
                byte[] name = Arrays.copyOfRange(e.path(), from, e.path().length);
                items.add(new Object[] {name, mode(e.leaf()), blob(inserter, e.leaf())});
            } else {
                String key = new String(e.path(), from, slash - from, StandardCharsets.ISO_8859_1);
                folders.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
            }
        }
        for (Map.Entry<String, List<RawPath>> f : folders.entrySet()) {
            byte[] name = f.getKey().getBytes(StandardCharsets.ISO_8859_1);
            items.add(new Object[] {name, FileMode.TREE, tree(inserter, f.getValue(), from + name.length + 1)});
        }
        items.sort((a, b) -> Arrays.compareUnsigned(sortKey(a), sortKey(b)));
        TreeFormatter formatter = new TreeFormatter();
        for (Object[] item : items) {
            formatter.append((byte[]) item[0], (FileMode) item[1], (ObjectId) item[2]);
        }
        return inserter.insert(formatter);
    }

    /** git's order: names compared as bytes, a folder's as if it ended in '/'. */
    private static byte[] sortKey(Object[] item) {
        byte[] name = (byte[]) item[0];
        if (item[1] != FileMode.TREE) {
            return name;
        }
        byte[] key = Arrays.copyOf(name, name.length + 1);
        key[name.length] = '/';
        return key;
    }

    private static FileMode mode(Leaf leaf) {
        if (leaf instanceof File f) {
            return f.executable() ? FileMode.EXECUTABLE_FILE : FileMode.REGULAR_FILE;
        }
        return leaf instanceof Link ? FileMode.SYMLINK : FileMode.GITLINK;
    }

    private static ObjectId blob(ObjectInserter inserter, Leaf leaf) throws IOException {
        if (leaf instanceof File f) {
            return inserter.insert(Constants.OBJ_BLOB, f.content());
        }
        if (leaf instanceof Link l) {
            return inserter.insert(Constants.OBJ_BLOB, l.target().getBytes(StandardCharsets.UTF_8));
        }
        return ((Gitlink) leaf).commit();
    }

    private static int indexOf(byte[] bytes, byte b, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
