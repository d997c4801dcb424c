package dev.pullhook.hostile;

import dev.pullhook.testing.Containment;
import dev.pullhook.testing.DiskSnapshot;
import dev.pullhook.testing.GitTwin;
import dev.pullhook.testing.HostileSite;
import dev.pullhook.testing.HostileSite.Answer;
import dev.pullhook.testing.ObjectForge;
import dev.pullhook.testing.ObjectForge.Entry;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectInserter;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.pullhook.testing.ObjectForge.executable;
import static dev.pullhook.testing.ObjectForge.file;
import static dev.pullhook.testing.ObjectForge.folder;
import static dev.pullhook.testing.ObjectForge.symlink;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Symbolic links, pushed or made on the server, never carry a deploy's writes (or reads, or moves) out of
 * the working tree or into {@code .git}: git never writes through a link in a path's leading folders, and
 * where a tracked folder's place holds a link, the link goes and a real folder is made. Every case pushes
 * legitimate trees (git accepts links to anywhere) and checks the site against a git-CLI twin that went
 * through the same pushes ({@code git fetch} + {@code git reset --hard}), path by path, plus: the canary
 * folder next to the site unchanged, nothing of it read into the site, {@code .git/config}, {@code hooks/}
 * and {@code info/} unchanged, and no filter defined by pushed content ever run. Both engines.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileSymlinkIT {
    private static final String SECRET_MARK = "OUTSIDE SECRET 7f3a";
    @TempDir
    static Path tmp;
    private final Map<String, HostileSite> sites = new ConcurrentHashMap<>();

    @BeforeAll
    void startDaemons() {
        Stream.of(site("fast"), site("jgit")).parallel().forEach(HostileSite::start);
    }

    @AfterAll
    void stopDaemons() {
        sites.values().parallelStream().forEach(HostileSite::close);
    }

    private HostileSite site(String engine) {
        return sites.computeIfAbsent(engine, e -> HostileSite.create(tmp.resolve(e), Map.of("git.engine", e)));
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static Path secretFolder(HostileSite s) {
        return s.outside.resolve(HostileSite.SECRET_FOLDER);
    }

    /** A tree of the baseline's files plus {@code extra}, in git's order. */
    private static ObjectId tree(HostileSite s, Entry... extra) {
        List<Entry> entries = new ArrayList<>(s.baselineEntries());
        entries.addAll(List.of(extra));
        return s.forge().sortedTree(entries);
    }

    private static ObjectId blob(HostileSite s, String content) {
        return s.forge().blob(content);
    }

    /** The site's working tree is the twin's, path by path (type, mode, bytes, link target). */
    private static void assertSameAsGit(HostileSite s, GitTwin twin, String what) {
        DiskSnapshot git = twin.workTree();
        DiskSnapshot ours = s.workTree();
        if (!git.entries().equals(ours.entries())) {
            List<String> lines = new ArrayList<>();
            java.util.TreeSet<String> all = new java.util.TreeSet<>(git.entries().keySet());
            all.addAll(ours.entries().keySet());
            for (String p : all) {
                String g = git.get(p);
                String o = ours.get(p);
                if (!java.util.Objects.equals(g, o)) {
                    lines.add((p.isEmpty() ? "." : p) + ": git has " + (g == null ? "nothing" : g)
                            + ", pullhook has " + (o == null ? "nothing" : o));
                }
            }
            fail(what + ": the working tree is not what git makes of the same pushes:\n  " + String.join("\n  ", lines));
        }
    }

    /** Nothing of the canary's secret file was read into the site: no file, and no object in its repository. */
    private static void assertSecretNeverReadIn(HostileSite s, String what) {
        List<String> found = new ArrayList<>();
        DiskSnapshot all = DiskSnapshot.of(s.repos.site);
        for (Map.Entry<String, String> e : all.entries().entrySet()) {
            if (e.getValue().startsWith("file ")) {
                Path p = s.repos.site.resolve(e.getKey());
                try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                    if (new String(in.readNBytes(1 << 20), StandardCharsets.ISO_8859_1).contains(SECRET_MARK)) {
                        found.add(p.toString());
                    }
                } catch (IOException ignored) {
                    // a file that went away
                }
            }
        }
        ObjectId secretBlob;
        try (ObjectInserter.Formatter f = new ObjectInserter.Formatter()) {
            secretBlob = f.idFor(Constants.OBJ_BLOB, HostileSite.SECRET_CONTENT.getBytes(StandardCharsets.UTF_8));
        }
        try (Repository r = open(s)) {
            if (r.getObjectDatabase().has(secretBlob)) {
                found.add("the site's object store (blob " + secretBlob.name() + ")");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertTrue(found.isEmpty(), () -> what + ": the canary's secret file was read into the site: " + found);
    }

    private static Repository open(HostileSite s) throws IOException {
        return new FileRepositoryBuilder().setWorkTree(s.repos.site.toFile()).setMustExist(true).setup().build();
    }

    private static void assertRealFolder(HostileSite s, String rel, String what) {
        Path p = s.repos.site.resolve(rel);
        assertTrue(Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS), () -> what + ": " + rel
                + " must be a real folder now, it is " + DiskSnapshot.of(p).get(""));
    }

    private static void assertNoFilterRan(HostileSite s, String what) {
        assertFalse(Files.exists(s.outside.resolve("smudge-ran"), LinkOption.NOFOLLOW_LINKS),
                what + ": a filter defined by pushed content ran");
    }

    // ---- 3. symlinks pushed ---------------------------------------------------------------------------

    /**
     * Commit 1 has {@code d -> <canary folder>} (absolute), commit 2 makes {@code d} a folder holding
     * {@code d/x} and {@code d/keep.txt} (the name of the file already in the canary folder): {@code d} must
     * become a real folder, as git makes it; nothing is written into the canary folder.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aPushedLinkToOutsideThatBecomesAFolderIsReplacedNotWrittenThrough(String engine) {
        HostileSite s = site(engine);
        s.prepare();
        Containment guard = s.watch();
        ObjectId c1 = s.pushTree(tree(s, symlink("d", blob(s, secretFolder(s).toString()))), "d links outside");
        Answer first = s.deploy();
        GitTwin twin = s.twin("outside-link-" + engine);
        ObjectId c2 = s.pushTree(tree(s, folder("d", s.forge().sortedTree(List.of(
                file("x", blob(s, "x, written in the site\n")),
                file(HostileSite.SECRET_FILE, blob(s, "overwrites the canary?\n")))))), c1, "d becomes a folder");

        Answer second = s.deploy();
        twin.deploy();

        String what = "link d -> outside, then folder d (engine " + engine + ")";
        assertAll(
                () -> guard.assertContained(what),
                () -> Verdict.deployed(first, c1, what + ", commit 1"),
                () -> Verdict.deployed(second, c2, what + ", commit 2"),
                () -> assertRealFolder(s, "d", what),
                () -> assertSameAsGit(s, twin, what),
                () -> assertSecretNeverReadIn(s, what));
    }

    /**
     * Commit 1 has {@code web/d -> ../.git} (the site's own git folder), commit 2 makes {@code web/d} a
     * folder holding {@code config} and {@code hooks/post-checkout}: written into a real {@code web/d},
     * never into {@code .git}.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aPushedLinkIntoDotGitThatBecomesAFolderIsReplacedNotWrittenThrough(String engine) {
        HostileSite s = site(engine);
        s.prepare();
        Containment guard = s.watch();
        ObjectId page = blob(s, "<p>web</p>\n");
        ObjectId c1 = s.pushTree(tree(s, folder("web", s.forge().sortedTree(List.of(
                file("index.html", page), symlink("d", blob(s, "../.git")))))), "web/d links to .git");
        Answer first = s.deploy();
        GitTwin twin = s.twin("dotgit-link-" + engine);
        ObjectId hooks = s.forge().tree(executable("post-checkout", blob(s, "#!/bin/sh\ntouch "
                + s.outside.resolve("hook-ran") + "\n")));
        ObjectId d = s.forge().sortedTree(List.of(file("config", blob(s, "[core]\n\tbare = true\n")),
                folder("hooks", hooks)));
        ObjectId c2 = s.pushTree(tree(s, folder("web", s.forge().sortedTree(List.of(
                file("index.html", page), folder("d", d))))), c1, "web/d becomes a folder");

        Answer second = s.deploy();
        twin.deploy();

        String what = "link web/d -> ../.git, then folder web/d (engine " + engine + ")";
        assertAll(
                () -> guard.assertContained(what),
                () -> Verdict.deployed(first, c1, what + ", commit 1"),
                () -> Verdict.deployed(second, c2, what + ", commit 2"),
                () -> assertRealFolder(s, "web/d", what),
                () -> assertSameAsGit(s, twin, what),
                () -> assertFalse(Files.exists(s.outside.resolve("hook-ran")), what + ": a pushed hook ran"));
    }

    /**
     * Links named like the temporary files pullhook used to write next to a file before moving it in place
     * ({@code .index.html.pullhook-tmp}): one to the canary's victim file, one ({@code public/}) to
     * {@code ../.git/config}. A push that edits only {@code index.html} and {@code public/index.html} must
     * write them as git does: the links stay links, their targets are never written.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void linksNamedLikeTemporaryFilesAreNeverWrittenThrough(String engine) {
        HostileSite s = site(engine);
        s.prepare();
        Containment guard = s.watch();
        ObjectId toVictim = blob(s, s.outside.resolve(HostileSite.VICTIM).toString());
        ObjectId toConfig = blob(s, "../.git/config");
        ObjectId c1 = s.pushTree(temporaryFileTree(s, "v1", toVictim, toConfig), "pages and links named like temp files");
        Answer first = s.deploy();
        GitTwin twin = s.twin("tmp-link-" + engine);
        ObjectId c2 = s.pushTree(temporaryFileTree(s, "v2", toVictim, toConfig), c1, "pages edited");

        Answer second = s.deploy();
        twin.deploy();

        String what = "links named like temporary files (engine " + engine + ")";
        assertAll(
                () -> guard.assertContained(what),
                () -> Verdict.deployed(first, c1, what + ", commit 1"),
                () -> Verdict.deployed(second, c2, what + ", commit 2"),
                () -> assertEquals("<p>v2</p>\n", s.repos.siteFile("index.html"), what),
                () -> assertEquals("<p>public v2</p>\n", s.repos.siteFile("public/index.html"), what),
                () -> assertSameAsGit(s, twin, what));
    }

    private static ObjectId temporaryFileTree(HostileSite s, String version, ObjectId toVictim, ObjectId toConfig) {
        ObjectId pub = s.forge().sortedTree(List.of(file("index.html", blob(s, "<p>public " + version + "</p>\n")),
                symlink(".index.html.pullhook-tmp", toConfig)));
        return tree(s, file("index.html", blob(s, "<p>" + version + "</p>\n")),
                symlink(".index.html.pullhook-tmp", toVictim), folder("public", pub));
    }

    // ---- 4. symlinks made on the server ----------------------------------------------------------------

    /**
     * The server has an untracked link {@code uploads -> <canary folder>} (an admin's shortcut to shared
     * storage); a push adds {@code uploads/x.php}. git removes the link and makes a real folder; nothing is
     * written into or read from the canary. pullhook saves what it replaces first: the answer's
     * {@code saved} names a {@code refs/pullhook/saved/} ref whose commit holds {@code uploads} as a link
     * to the original target.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void anUntrackedLinkWhereAPushNeedsAFolderIsSavedAndReplacedNeverFollowed(String engine) throws Exception {
        HostileSite s = site(engine);
        s.prepare();
        String target = secretFolder(s).toString();
        Files.createSymbolicLink(s.repos.site.resolve("uploads"), Path.of(target));
        GitTwin twin = s.twin("uploads-" + engine);
        Files.createSymbolicLink(twin.dir.resolve("uploads"), Path.of(target));
        Containment guard = s.watch();
        ObjectId c1 = s.pushTree(tree(s, folder("uploads", s.forge().sortedTree(List.of(
                file("x.php", blob(s, "<?php echo 'pushed';\n")),
                file(HostileSite.SECRET_FILE, blob(s, "overwrites the canary?\n")))))), "uploads/x.php");

        Answer a = s.deploy();
        twin.deploy();

        String what = "untracked link uploads -> outside (engine " + engine + ")";
        assertAll(
                () -> guard.assertContained(what),
                () -> Verdict.deployed(a, c1, what),
                () -> assertRealFolder(s, "uploads", what),
                () -> assertSameAsGit(s, twin, what),
                () -> assertSecretNeverReadIn(s, what),
                () -> assertSavedAsLink(s, a, "uploads", target, what));
    }

    /** The answer's {@code saved} names a {@code refs/pullhook/saved/} ref whose commit has {@code path} as a link to {@code target}. */
    private static void assertSavedAsLink(HostileSite s, Answer a, String path, String target, String what) throws IOException {
        Matcher m = Pattern.compile("refs/pullhook/saved/[^\\s,;\"')]+").matcher(a.saved());
        assertTrue(m.find(), () -> what + ": the answer's saved must name a refs/pullhook/saved/ ref; answer was " + a);
        String refName = m.group().replaceAll("[.:]+$", "");
        try (Repository r = open(s); RevWalk walk = new RevWalk(r)) {
            Ref ref = r.exactRef(refName);
            assertNotNull(ref, () -> what + ": " + refName + " (named in saved) does not exist");
            try (TreeWalk tw = TreeWalk.forPath(r, path, walk.parseCommit(ref.getObjectId()).getTree())) {
                assertNotNull(tw, () -> what + ": " + refName + " does not hold " + path);
                assertEquals(FileMode.SYMLINK, tw.getFileMode(0), () -> what + ": " + refName + " holds " + path
                        + " as " + tw.getFileMode(0) + ", not as the link it was");
                assertEquals(target, new String(r.open(tw.getObjectId(0)).getBytes(), StandardCharsets.UTF_8),
                        () -> what + ": the saved link's target");
            }
        }
    }

    /**
     * A tracked link {@code assets -> <canary folder>} (commit 1), then a push making {@code assets} a
     * folder with {@code assets/keep.txt}, the name of the file in the canary folder: seen through the
     * link, the canary's file looks like an untracked file in the push's way. It must never be read, moved
     * or saved: the link is replaced by a real folder, as git does.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aTrackedLinkToOutsideNeverMakesOutsideFilesLookUntrackedInTheWay(String engine) {
        HostileSite s = site(engine);
        s.prepare();
        Containment guard = s.watch();
        ObjectId c1 = s.pushTree(tree(s, symlink("assets", blob(s, secretFolder(s).toString()))), "assets links outside");
        Answer first = s.deploy();
        GitTwin twin = s.twin("assets-" + engine);
        ObjectId c2 = s.pushTree(tree(s, folder("assets", s.forge().tree(
                file(HostileSite.SECRET_FILE, blob(s, "keep.txt from git\n"))))), c1, "assets becomes a folder");

        Answer second = s.deploy();
        twin.deploy();

        String what = "tracked link assets -> outside, then folder assets (engine " + engine + ")";
        assertAll(
                () -> guard.assertContained(what),
                () -> Verdict.deployed(first, c1, what + ", commit 1"),
                () -> Verdict.deployed(second, c2, what + ", commit 2"),
                () -> assertRealFolder(s, "assets", what),
                () -> assertSameAsGit(s, twin, what),
                () -> assertSecretNeverReadIn(s, what));
    }

    // ---- 5. a filter via a config written through a link ----------------------------------------------

    /**
     * Two routes to {@code .git/config} through links, each followed by an ordinary push that a
     * {@code * filter=x} in {@code .gitattributes} sends through filter x: (a) {@code d -> .git}, then
     * {@code d} as a folder holding a {@code config} that defines the filter; (b) a tracked link
     * {@code .page.txt.pullhook-tmp -> .git/config}, then an edit of {@code page.txt} whose content is that
     * config. The filter's command never runs and {@code .git/config} never changes.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aFilterConfigWrittenThroughALinkNeverRuns(String engine) throws IOException {
        HostileSite s = site(engine);
        String config = Files.readString(s.gitDir().resolve("config"))
                + "[filter \"x\"]\n\tsmudge = \"touch " + s.outside.resolve("smudge-ran") + "; cat\"\n\tclean = cat\n";
        ObjectId attributes = blob(s, "* filter=x\n");

        // (a) a link to .git replaced by a folder
        s.prepare();
        Containment guardA = s.watch();
        ObjectId a1 = s.pushTree(tree(s, file(".gitattributes", attributes), symlink("d", blob(s, ".git"))), "d -> .git");
        s.deploy();
        ObjectId a2 = s.pushTree(tree(s, file(".gitattributes", attributes),
                folder("d", s.forge().tree(file("config", blob(s, config))))), a1, "d/config");
        s.deploy();
        ObjectId a3 = s.pushTree(tree(s, file(".gitattributes", attributes),
                folder("d", s.forge().tree(file("config", blob(s, config)))), file("data.txt", blob(s, "data\n"))),
                a2, "an ordinary push");
        Answer ordinaryA = s.deploy();
        String whatA = "filter via link d -> .git (engine " + engine + ")";
        assertAll(
                () -> assertNoFilterRan(s, whatA),
                () -> guardA.assertContained(whatA),
                () -> Verdict.deployed(ordinaryA, a3, whatA + ", the ordinary push"));

        // (b) a link named like the temporary file of page.txt
        s.prepare();
        Containment guardB = s.watch();
        ObjectId link = blob(s, ".git/config");
        ObjectId b1 = s.pushTree(tree(s, file(".gitattributes", attributes), file("page.txt", blob(s, "page\n")),
                symlink(".page.txt.pullhook-tmp", link)), "page.txt and a link named like its temporary file");
        s.deploy();
        ObjectId b2 = s.pushTree(tree(s, file(".gitattributes", attributes), file("page.txt", blob(s, config)),
                symlink(".page.txt.pullhook-tmp", link)), b1, "page.txt holds a git config");
        s.deploy();
        ObjectId b3 = s.pushTree(tree(s, file(".gitattributes", attributes), file("page.txt", blob(s, config)),
                symlink(".page.txt.pullhook-tmp", link), file("data.txt", blob(s, "data\n"))), b2, "an ordinary push");
        Answer ordinaryB = s.deploy();
        String whatB = "filter via link .page.txt.pullhook-tmp -> .git/config (engine " + engine + ")";
        assertAll(
                () -> assertNoFilterRan(s, whatB),
                () -> guardB.assertContained(whatB),
                () -> Verdict.deployed(ordinaryB, b3, whatB + ", the ordinary push"));
    }
}
