package dev.pullhook.hostile;

import dev.pullhook.testing.Containment;
import dev.pullhook.testing.HostileSite;
import dev.pullhook.testing.HostileSite.Answer;
import dev.pullhook.testing.ObjectForge;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static dev.pullhook.testing.ObjectForge.file;
import static dev.pullhook.testing.ObjectForge.folder;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A deploy only ever lands on a complete tree. On the remote side, an origin whose tip is present but one
 * blob of its tree is missing (a damaged repository, or a host that serves a broken pack) fails the deploy
 * with a reason naming the missing object, and changes nothing; once the object is back, the next deploy
 * goes through. On the local side, objects that are present without what they point at (only the new tip
 * commit, or the commit and its tree, copied into the site's object store, as an interrupted fetch or a
 * careless copy leaves them) must not make the deploy skip fetching the rest: it ends with the full,
 * correct tree, or fails clearly, changing nothing, and heals on the next deploy. Both engines.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileConnectivityIT {
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

    /** A commit on the baseline adding {@code docs/page.txt} with {@code content}, written loose in origin, not yet pushed. */
    private static ObjectId[] commitWithPage(HostileSite s, String content) {
        ObjectForge f = s.forge();
        ObjectId blob = f.blob(content);
        ObjectId docs = f.tree(file("page.txt", blob));
        ObjectId tree = f.sortedTree(List.of(s.baselineEntries().get(0), folder("docs", docs)));
        ObjectId commit = f.commit(tree, s.baseline, "docs/page.txt");
        return new ObjectId[] {commit, tree, docs, blob};
    }

    private static List<String> abbreviations(ObjectId... ids) {
        return Stream.of(ids).map(id -> id.abbreviate(7).name()).toList();
    }

    // ---- 8. the remote lacks an object ------------------------------------------------------------------

    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aTipWhoseBlobIsMissingOnTheRemoteFailsClearlyAndTheNextDeployHeals(String engine) {
        HostileSite s = site(engine);
        s.prepare();
        String content = "a page whose blob goes missing, " + engine + " " + System.nanoTime() + "\n";
        ObjectId[] ids = commitWithPage(s, content);
        ObjectId commit = ids[0];
        ObjectId blob = ids[3];
        byte[] saved = s.forge().deleteLoose(blob);
        s.push(commit);
        Containment guard = s.watch();

        Answer broken = s.deploy();

        String what = "origin lacks blob " + blob.name() + " of its tip (engine " + engine + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> Verdict.refused(broken, what),
                () -> Verdict.namesOneOf(broken, what, "the missing object", abbreviations(blob)));

        s.forge().restoreLoose(blob, saved);
        Answer healed = s.deploy();

        assertAll(
                () -> Verdict.deployed(healed, commit, what + ", once the blob is back"),
                () -> assertEquals(content, s.repos.siteFile("docs/page.txt"), what + ", once the blob is back"),
                () -> guard.assertContained(what));
    }

    // ---- 8. the site holds a tip without its tree ------------------------------------------------------

    static Stream<Arguments> partialCopies() {
        return Stream.of("fast", "jgit").flatMap(e -> Stream.of(Arguments.of(e, "commit only"),
                Arguments.of(e, "commit and top tree")));
    }

    @ParameterizedTest(name = "git.engine={0} {1}")
    @MethodSource("partialCopies")
    void aTipPresentLocallyWithoutItsTreeStillDeploysTheWholeTree(String engine, String copied) {
        HostileSite s = site(engine);
        s.prepare();
        String content = "a page the site must fetch, " + engine + " " + copied + " " + System.nanoTime() + "\n";
        ObjectId[] ids = commitWithPage(s, content);
        ObjectId commit = ids[0];
        copyLooseIntoSite(s, commit);
        if (copied.equals("commit and top tree")) {
            copyLooseIntoSite(s, ids[1]);
        }
        s.push(commit);
        Containment guard = s.watch();

        Answer first = s.deploy();

        String what = "the site has " + copied + " of the tip " + commit.name() + " (engine " + engine + ")";
        if (!first.deployed()) {
            // allowed: a clear failure that changed nothing, healed by the next deploy
            assertAll(
                    () -> guard.assertSiteUnchanged(what),
                    () -> Verdict.refused(first, what),
                    () -> Verdict.namesOneOf(first, what, "a missing object", abbreviations(ids[1], ids[2], ids[3])));
            Answer second = s.deploy();
            assertAll(
                    () -> Verdict.deployed(second, commit, what + ", the next deploy"),
                    () -> assertEquals(content, s.repos.siteFile("docs/page.txt"), what + ", the next deploy"),
                    () -> guard.assertContained(what));
        } else {
            assertAll(
                    () -> Verdict.deployed(first, commit, what),
                    () -> assertEquals(content, s.repos.siteFile("docs/page.txt"), what),
                    () -> guard.assertContained(what));
        }
    }

    /** Copies origin's loose object {@code id} into the site's object store, as it is (no fetch). */
    private static void copyLooseIntoSite(HostileSite s, ObjectId id) {
        Path from = ObjectForge.loose(s.repos.origin, id);
        Path to = ObjectForge.loose(s.gitDir(), id);
        try {
            Files.createDirectories(to.getParent());
            Files.copy(from, to);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
