package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.JGitInternalException;
import org.eclipse.jgit.lib.CommitBuilder;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.lib.TreeFormatter;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A deploy rehearsed on two throwaway repositories in a scratch folder, at start-up: a bare origin gets
 * commits, and a working copy follows it through {@link WorkingCopy}'s own steps (fetch, local-changes
 * check, backup check, fast reset). So the first real deploy after a restart finds JGit's pack-receiving,
 * index and checkout code loaded and compiled instead of paying for it (finding 6 of bench/README.md: its
 * fetch took 3-5x a warm one). It never touches the real working copy or its remote, and the scratch folder
 * is removed afterwards. The remote's own transport (SSH, HTTPS) is not rehearsed: the start-up check's fetch
 * warms that. With a remote on a local path JGit also runs the sending side in this process, from a
 * repacked origin (pack bitmaps): then the scratch origin is repacked too. Its gain, measured: {@code deploy.WarmUp}.
 */
final class DeployRehearsal {
    private static final String BRANCH = "main";
    private static final PersonIdent WHO = new PersonIdent("pullhook warm-up", "warm-up@pullhook.invalid",
            Instant.EPOCH, java.time.ZoneOffset.UTC);
    /** A local fetch of a few objects takes milliseconds; this only bounds a broken one. */
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private DeployRehearsal() {
    }

    /**
     * Runs the rehearsal in {@code scratch} (created, then removed with everything in it).
     *
     * @param localRemote the real remote is a path on this machine (JGit serves it in-process)
     * @throws IOException or {@link GitException} when a step fails; the caller ignores it (a real deploy
     *                     reports its own problems)
     */
    static void run(Path scratch, boolean localRemote) throws IOException, GitException {
        deleteTree(scratch);  // a rehearsal cut short by a crash left it behind
        Files.createDirectories(scratch);
        try {
            Path originDir = scratch.resolve("origin.git");
            Path siteDir = scratch.resolve("site");
            try (Repository origin = FileRepositoryBuilder.create(originDir.toFile());
                 Repository site = new FileRepositoryBuilder().setWorkTree(siteDir.toFile()).build()) {
                origin.create(true);
                site.create(false);
                RefUpdate head = site.updateRef(Constants.HEAD);
                head.disableRefLog();
                head.link(Constants.R_HEADS + BRANCH);
                StoredConfig config = site.getConfig();
                config.setString("remote", "origin", "url", originDir.toString());
                // JGit starts a background "gc --auto" after each fetch (fetch.autogc); on the scratch repository it
                // would race the removal of the scratch folder (and log an error when it loses)
                config.setBoolean("fetch", null, "autogc", false);
                config.save();
                // an empty first commit: the working copy can stand on it with no files and no index
                ObjectId empty = commit(origin, null, -1);
                ObjectId files = commit(origin, empty, 0);
                moveBranch(origin, files);
                if (localRemote) {
                    new Git(origin).gc().call();
                }
                try (WorkingCopy wc = new WorkingCopy(siteDir, "origin", BRANCH, TIMEOUT, GitAuth.NONE)) {
                    ObjectId tip = wc.fetch(TIMEOUT, () -> false);
                    moveBranch(site, empty);
                    deploy(wc, tip);
                    // then a push's worth: a small pack with deltas against what the working copy has
                    moveBranch(origin, commit(origin, files, 1));
                    deploy(wc, wc.fetch(TIMEOUT, () -> false));
                }
            } catch (GitAPIException | JGitInternalException e) {
                throw new IOException(e);
            }
        } finally {
            deleteTree(scratch);
        }
    }

    /** What a deploy does after its fetch, on a clean working copy. */
    private static void deploy(WorkingCopy wc, ObjectId tip) throws GitException {
        wc.checkCheckedOut();
        java.util.Set<String> edited = wc.localChanges();
        WorkingCopy.Plan plan = wc.plan(tip, edited, false);
        wc.backupUnlessContainedIn(tip, Instant.now());
        wc.makeRoom(plan, Instant.now());
        wc.resetHard(plan, edited.isEmpty());
    }

    /**
     * A commit: round -1 has the empty tree, round 0 a few folders of text files, round 1 edits some lines
     * of two files, adds one and deletes one, as a typical push does.
     */
    private static ObjectId commit(Repository repo, ObjectId parent, int round) throws IOException {
        try (ObjectInserter ins = repo.newObjectInserter()) {
            TreeFormatter root = new TreeFormatter();
            if (round < 0) {
                return commit(ins, root, parent, round);
            }
            TreeFormatter css = new TreeFormatter();  // entries in git's order, or fsck refuses the tree
            if (round == 0) {
                css.append("old.css", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("old", 0, 10)));
            }
            css.append("site.css", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("css", round, 40)));
            TreeFormatter js = new TreeFormatter();
            js.append("app.js", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("js", 0, 60)));
            if (round == 1) {
                js.append("new.js", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("new", 1, 10)));
            }
            root.append("README.md", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("readme", 0, 20)));
            root.append("css", FileMode.TREE, ins.insert(css));
            root.append("index.html", FileMode.REGULAR_FILE, ins.insert(Constants.OBJ_BLOB, text("html", round, 80)));
            root.append("js", FileMode.TREE, ins.insert(js));
            return commit(ins, root, parent, round);
        }
    }

    private static ObjectId commit(ObjectInserter ins, TreeFormatter tree, ObjectId parent, int round)
            throws IOException {
        CommitBuilder c = new CommitBuilder();
        c.setTreeId(ins.insert(tree));
        if (parent != null) {
            c.setParentId(parent);
        }
        c.setAuthor(WHO);
        c.setCommitter(WHO);
        c.setMessage("warm-up " + round + "\n");
        ObjectId id = ins.insert(c);
        ins.flush();
        return id;
    }

    /** {@code lines} lines of text; in round 1 every seventh line differs, so the new blob deltas well. */
    private static byte[] text(String name, int round, int lines) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            b.append(name).append(" line ").append(i)
                    .append(round == 1 && i % 7 == 3 ? ": changed by the second commit" : ": the quick brown fox")
                    .append('\n');
        }
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void moveBranch(Repository repo, ObjectId to) throws IOException {
        RefUpdate u = repo.updateRef(Constants.R_HEADS + BRANCH);
        u.setNewObjectId(to);
        u.setForceUpdate(true);
        RefUpdate.Result r = u.update();
        if (r != RefUpdate.Result.NEW && r != RefUpdate.Result.FORCED && r != RefUpdate.Result.FAST_FORWARD) {
            throw new IOException("cannot move " + BRANCH + " of " + repo.getDirectory() + ": " + r);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
