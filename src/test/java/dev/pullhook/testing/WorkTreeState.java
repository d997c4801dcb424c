package dev.pullhook.testing;

import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Everything a differential test compares of one working copy, as git sees it: HEAD and the branch refs,
 * the stash (count, and the newest entry's working-tree and index trees path by path), {@code git ls-files -s}, {@code git
 * status} (without refreshing the index), and every path on disk below the working tree (lstat type, mode
 * bits, bytes, link target; nested {@code .git} entries by type only). Not compared on purpose: pullhook's
 * own refs, reflogs, FETCH_HEAD, ORIG_HEAD, tags, times. {@link #diff} gives a short, readable difference.
 */
public record WorkTreeState(Map<String, String> refs, Map<String, String> index, Map<String, String> status,
                            Map<String, String> disk) {

    private static final List<String> LS_FILES = List.of("git", "ls-files", "-s", "-z");
    /**
     * git's status with {@code core.checkStat=minimal} on both sides: JGit (pullhook) writes index entries
     * without inode, device, uid and gid, so git re-reads every file pullhook wrote, where on its twin it
     * trusts the stat data it recorded itself. The two answers then differ exactly where git's own cache hides
     * a file whose content no longer matches under changed attributes (a .gitattributes change leaves such
     * files unwritten, in git and in pullhook alike). File bytes and the index are compared separately.
     */
    private static final List<String> STATUS = List.of("git", "-c", "core.checkStat=minimal", "--no-optional-locks",
            "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=all");

    /** Reads the state of the working copy {@code dir}: git's two commands run side by side, as process starts dominate. */
    public static WorkTreeState capture(TwinRepos repos, Path dir) {
        CompletableFuture<byte[]> index = repos.runAsync(dir, LS_FILES);
        CompletableFuture<byte[]> status = repos.runAsync(dir, STATUS);
        Map<String, String> disk = disk(dir);
        return of(dir, new String(index.join(), StandardCharsets.UTF_8), new String(status.join(), StandardCharsets.UTF_8), disk);
    }

    /**
     * Runs {@code script} (shell commands, e.g. a deploy with the git command line) in {@code dir}, then reads
     * the state; git's part in the same process.
     */
    public static WorkTreeState captureAfter(TwinRepos repos, Path dir, String script) {
        // ls-files in the background (into a file in .git, which is not compared) while status runs
        Path listing = dir.resolve(".git/parity-ls-files");
        String out = new String(repos.sh(dir, script + "\n" + String.join(" ", LS_FILES) + " > .git/parity-ls-files & "
                + String.join(" ", STATUS) + "; wait $!"), StandardCharsets.UTF_8);
        try {
            return of(dir, Files.readString(listing, StandardCharsets.UTF_8), out, disk(dir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static WorkTreeState of(Path dir, String lsFiles, String statusOutput, Map<String, String> disk) {
        Map<String, String> index = new TreeMap<>();
        for (String entry : records(lsFiles)) {
            int tab = entry.indexOf('\t');
            String[] f = entry.substring(0, tab).split(" ");
            String path = entry.substring(tab + 1);
            index.put(f[2].equals("0") ? path : path + " (stage " + f[2] + ")", f[0] + " " + f[1]);
        }
        Map<String, String> status = new TreeMap<>();
        List<String> st = records(statusOutput);
        for (int i = 0; i < st.size(); i++) {
            String xy = st.get(i).substring(0, 2);
            String path = st.get(i).substring(3);
            if (xy.charAt(0) == 'R' || xy.charAt(0) == 'C') {
                path = path + " <- " + st.get(++i);
            }
            status.put(path, xy);
        }
        return new WorkTreeState(refs(dir.resolve(".git")), index, status, disk);
    }

    /**
     * HEAD, the branch, its remote-tracking branch and the stash, read as git reads them (a loose ref file,
     * else {@code packed-refs}; {@code git stash list} is the reflog of {@code refs/stash}, one entry a line).
     * Read here rather than by {@code git rev-parse}, to spare a process per step.
     */
    private static Map<String, String> refs(Path git) {
        Map<String, String> refs = new LinkedHashMap<>();
        String head = ref(git, "HEAD");
        refs.put("HEAD is", head.startsWith("ref: ") ? head.substring(5) : "HEAD (detached)");
        refs.put("HEAD commit", head.startsWith("ref: ") ? ref(git, head.substring(5)) : head);
        refs.put("refs/heads/main", ref(git, "refs/heads/main"));
        refs.put("refs/remotes/origin/main", ref(git, "refs/remotes/origin/main"));
        try {
            Path reflog = git.resolve("logs/refs/stash");
            long stashes = Files.exists(reflog)
                    ? Files.readAllLines(reflog, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).count() : 0;
            refs.put("stash entries", Long.toString(stashes));
            if (stashes > 0) {
                // the newest entry's working-tree and index trees, path by path (the messages differ on purpose)
                try (Repository r = new FileRepositoryBuilder().setGitDir(git.toFile()).setMustExist(true).build();
                     RevWalk walk = new RevWalk(r)) {
                    RevCommit stash = walk.parseCommit(r.resolve("stash@{0}"));
                    listTree(r, stash.getTree(), "stash@{0}^{tree} ", refs);
                    RevCommit index = walk.parseCommit(stash.getParent(1));
                    listTree(r, index.getTree(), "stash@{0}^2^{tree} ", refs);
                } catch (RuntimeException | IOException e) {
                    refs.put("stash@{0}", "unreadable: " + e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return refs;
    }

    /** Tree listings by tree id: the newest stash entry is read at every step, and rarely changes. */
    private static final Map<ObjectId, Map<String, String>> TREES = new ConcurrentHashMap<>();

    private static void listTree(Repository r, ObjectId tree, String prefix, Map<String, String> out) throws IOException {
        Map<String, String> listing = TREES.get(tree);
        if (listing == null) {
            listing = new TreeMap<>();
            try (TreeWalk tw = new TreeWalk(r)) {
                tw.addTree(tree);
                tw.setRecursive(true);
                while (tw.next()) {
                    listing.put(tw.getPathString(), String.format("%06o %s", tw.getRawMode(0), tw.getObjectId(0).name()));
                }
            }
            TREES.put(tree.copy(), listing);
        }
        listing.forEach((path, entry) -> out.put(prefix + path, entry));
    }

    private static String ref(Path git, String name) {
        try {
            Path loose = git.resolve(name);
            if (Files.isRegularFile(loose)) {
                return Files.readString(loose, StandardCharsets.UTF_8).strip();
            }
            Path packed = git.resolve("packed-refs");
            if (Files.exists(packed)) {
                for (String line : Files.readAllLines(packed, StandardCharsets.UTF_8)) {
                    if (line.endsWith(" " + name) && !line.startsWith("#") && !line.startsWith("^")) {
                        return line.substring(0, line.indexOf(' '));
                    }
                }
            }
            return "(missing)";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> records(String nulSeparated) {
        List<String> out = new ArrayList<>();
        for (String r : nulSeparated.split("\0")) {
            if (!r.isEmpty()) {
                out.add(r);
            }
        }
        return out;
    }

    /** Every path below {@code root} but {@code .git}: type, mode bits, content or target. */
    public static Map<String, String> disk(Path root) {
        Map<String, String> out = new TreeMap<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                    if (d.equals(root)) {
                        return FileVisitResult.CONTINUE;
                    }
                    String rel = rel(root, d);
                    if (d.getFileName().toString().equals(".git")) {
                        if (!d.getParent().equals(root)) {
                            out.put(rel, "git folder (submodule)");
                        }
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    out.put(rel, "dir " + mode(d));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                    String rel = rel(root, f);
                    if (f.getFileName().toString().equals(".git")) {
                        if (!f.getParent().equals(root)) {
                            out.put(rel, attrs.isSymbolicLink() ? "symlink .git" : "git file (submodule)");
                        }
                    } else if (attrs.isSymbolicLink()) {
                        out.put(rel, "symlink -> " + show(Files.readSymbolicLink(f).toString(), 200));
                    } else if (attrs.isRegularFile()) {
                        out.put(rel, "file " + mode(f) + " " + describe(Files.readAllBytes(f)));
                    } else {
                        out.put(rel, "other (not a file, folder or symlink)");
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot walk " + root, e);
        }
        return out;
    }

    private static String rel(Path root, Path p) {
        return root.relativize(p).toString();
    }

    private static String mode(Path p) throws IOException {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return String.format("%03o", mode & 0777);
    }

    /** Size, a short hash and the first bytes: equal descriptions mean equal bytes. */
    private static String describe(byte[] bytes) {
        try {
            byte[] sha = MessageDigest.getInstance("SHA-1").digest(bytes);
            String preview = new String(bytes, 0, Math.min(bytes.length, 24), StandardCharsets.ISO_8859_1);
            return bytes.length + "B sha1:" + HexFormat.of().formatHex(sha, 0, 5) + " \"" + show(preview, 40) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code s} with line breaks, control and non-ASCII characters escaped (NFC and NFD names look different). */
    public static String show(String s, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.length() >= max ? b + "..." : b.toString();
    }

    /**
     * The differences between {@code site} and {@code git} (the twin), at most {@code max} lines, each naming
     * the aspect, the path and what each side has; empty when they are equal.
     */
    public static List<String> diff(WorkTreeState site, WorkTreeState git, int max) {
        List<String> out = new ArrayList<>();
        int[] total = {0};
        compare("ref", site.refs, git.refs, out, total, max);
        compare("ls-files", site.index, git.index, out, total, max);
        compare("status", site.status, git.status, out, total, max);
        compare("disk", site.disk, git.disk, out, total, max);
        if (total[0] > out.size()) {
            out.add("... and " + (total[0] - out.size()) + " more differences");
        }
        return out;
    }

    /** Like {@link #diff}, but ignoring the keys named in {@code ignoredRefs}. */
    public WorkTreeState withoutRefs(Set<String> ignoredRefs) {
        Map<String, String> r = new LinkedHashMap<>(refs);
        r.keySet().removeAll(ignoredRefs);
        return new WorkTreeState(r, index, status, disk);
    }

    private static void compare(String aspect, Map<String, String> site, Map<String, String> git, List<String> out,
                                int[] total, int max) {
        Set<String> keys = new TreeSet<>(site.keySet());
        keys.addAll(git.keySet());
        for (String k : keys) {
            String s = site.get(k);
            String g = git.get(k);
            if (s == null ? g == null : s.equals(g)) {
                continue;
            }
            total[0]++;
            if (out.size() < max) {
                out.add(String.format("%-8s %s: pullhook=%s | git=%s", aspect, show(k, 120),
                        s == null ? "(none)" : s, g == null ? "(none)" : g));
            }
        }
    }
}
