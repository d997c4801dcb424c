package dev.pullhook.git;

import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.LogCapture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every case of {@link LocalChangesTest} again with the tree watch on ({@code deploy.watch}), after one
 * clean look that starts it: each change must now be found through inotify's events, right after it is
 * made. And the cases only a watch has: folders created, removed, moved away and back.
 */
class WatchedLocalChangesTest extends LocalChangesTest {

    @BeforeEach
    void watchAndLookOnce() throws Exception {
        wc.watchTree();
        assertEquals(List.of(), changes());  // the full look, which starts watching
        assertTrue(wc.watchAnswersNext(), "the watch answers the next check");
    }

    @Test
    void aCleanWorkingCopyStaysWatched() throws Exception {
        assertEquals(List.of(), changes());
        assertEquals(List.of(), changes());
        assertTrue(wc.watchAnswersNext());
    }

    @Test
    void aChangeFoundIsFoundAgainUntilItIsGone() throws Exception {
        // deploy.local.changes=refuse leaves the edit in place: the next deploy must refuse again
        write("app/index.html", "<h1>edited on the server</h1>\n");
        assertEquals(List.of("app/index.html"), changes());
        assertEquals(List.of("app/index.html"), changes());
        GitCli.run(site, "checkout", "--", "app/index.html");
        assertEquals(List.of(), changes());
    }

    @Test
    void editInAFolderRemovedAndCreatedAgainIsFound() throws Exception {
        deleteTree(site.resolve("app"));
        Files.createDirectories(site.resolve("app/static"));
        write("app/static/style.css", "body { color: black }\n");      // as committed
        write("app/index.html", "<h1>rebuilt by hand</h1>\n");
        assertEquals(List.of("app/index.html"), changes());
        // the new folders are watched from now on
        write("app/static/style.css", "body { color: green }\n");
        assertEquals(List.of("app/index.html", "app/static/style.css"), changes());
    }

    @Test
    void editInAFolderMovedAwayAndBackIsFound() throws Exception {
        Files.move(site.resolve("app"), site.resolve("app.old"));
        write("app.old/static/style.css", "body { color: blue }\n");
        Files.move(site.resolve("app.old"), site.resolve("app"));
        assertEquals(List.of("app/static/style.css"), changes());
        GitCli.run(site, "checkout", "--", "app");
        assertEquals(List.of(), changes());
        // the folder that came back is watched under its name again
        write("app/index.html", "<h1>after the move</h1>\n");
        assertEquals(List.of("app/index.html"), changes());
    }

    @Test
    void editThroughAnotherFolderMovedInIsFound() throws Exception {
        Path elsewhere = dir.resolve("elsewhere");
        Files.createDirectories(elsewhere.resolve("static"));
        Files.writeString(elsewhere.resolve("static/style.css"), "body { color: black }\n");
        Files.writeString(elsewhere.resolve("index.html"), "<h1>hello</h1>\n");
        deleteTree(site.resolve("app"));
        Files.move(elsewhere, site.resolve("app"));  // same content, new files: stat data differ, content not
        assertEquals(List.of(), changes());
        write("app/static/style.css", "body { color: purple }\n");
        assertEquals(List.of("app/static/style.css"), changes());
    }

    @Test
    void aFolderTheIndexGainsIsWatchedAfterTheReset() throws Exception {
        var second = commitThenBackToTheOneBefore("assets/js/app.js", "console.log(1)\n");
        assertFalse(Files.exists(site.resolve("assets")));
        assertEquals(List.of(), changes());
        assertTrue(wc.resetHard(wc.plan(second, java.util.Set.of(), false), true).fast());  // creates assets/js
        assertEquals(List.of(), changes());
        assertTrue(wc.watchAnswersNext());
        write("assets/js/app.js", "console.log(2)\n");
        assertEquals(List.of("assets/js/app.js"), changes());
    }

    @Test
    void everyEditIsSeenByTheCheckRightAfterIt() throws Exception {
        // the events of an edit may still be on their way when the check starts: the cookie waits for them
        for (int i = 0; i < 100; i++) {
            String path = i % 2 == 0 ? "app/index.html" : "app/static/style.css";
            write(path, "edit " + i + "\n");
            assertEquals(List.of(path), changes(), "edit " + i);
            GitCli.run(site, "checkout", "--", path);
            assertEquals(List.of(), changes(), "after undoing edit " + i);
        }
    }

    @Test
    void aWatchThatBreaksIsGivenUpWithAWarningAndEveryFileIsLookedAt() throws Exception {
        try (LogCapture log = new LogCapture()) {
            Files.delete(site.resolve(".git/" + TreeWatch.COOKIES));  // its cookies cannot be written any more
            write("app/index.html", "<h1>edited while the watch broke</h1>\n");

            assertEquals(List.of("app/index.html"), changes());

            assertFalse(wc.watchAnswersNext());
            List<String> warnings = log.linesWith("WARN", "tree watch off", "every deploy looks at each tracked file");
            assertEquals(1, warnings.size(), log::text);
            assertTrue(warnings.get(0).contains("path=" + site), warnings.get(0));
            GitCli.run(site, "checkout", "--", "app/index.html");
            assertEquals(List.of(), changes());
            write("README.md", "# edited after\n");
            assertEquals(List.of("README.md"), changes());
            assertEquals(1, log.linesWith("tree watch off").size(), "said once");
        }
    }

    @Test
    void untrackedFoldersAreNotWatched() throws Exception {
        write("uploads/2026/photo.jpg", "jpeg\n");
        assertEquals(List.of(), changes());
        write("uploads/2026/photo.jpg", "jpeg, bigger\n");
        assertEquals(List.of(), changes());
        assertTrue(wc.watchAnswersNext());
    }

    private static void deleteTree(Path top) throws Exception {
        try (var all = Files.walk(top)) {
            for (Path p : (Iterable<Path>) all.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
