package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import dev.pullhook.testing.GitCli;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.PersonIdent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The local-changes check on a real working copy: it compares each file's lstat with the index and
 * hands only doubtful paths to JGit's full walk, so every kind of change must still be found, and a file
 * that was merely touched must not be reported.
 */
class LocalChangesTest {
    private static final PersonIdent WHO = new PersonIdent("Test", "test@example.invalid");

    @TempDir
    Path dir;
    Path site;
    Git git;
    WorkingCopy wc;

    @BeforeEach
    void createWorkingCopy() throws Exception {
        site = dir.resolve("site");
        git = Git.init().setInitialBranch("main").setDirectory(site.toFile()).call();
        write("README.md", "# site\n");
        write("app/index.html", "<h1>hello</h1>\n");
        write("app/static/style.css", "body { color: black }\n");
        write("bin/run.sh", "#!/bin/sh\necho run\n");
        Files.setPosixFilePermissions(site.resolve("bin/run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
        commitAllWithOldTimes("first");
        wc = new WorkingCopy(site, "origin", "main", Duration.ofSeconds(10), GitAuth.NONE);
    }

    @AfterEach
    void close() {
        wc.close();
        git.close();
    }

    /**
     * Commits everything with the files' times an hour back: an index entry written in the same instant
     * as its file is "racy", and the check would read every file instead of trusting lstat, which is the
     * path under test.
     */
    void commitAllWithOldTimes(String message) throws Exception {
        FileTime past = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
        try (var files = Files.walk(site)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)
                    .filter(p -> !p.startsWith(site.resolve(".git")))::iterator) {
                Files.setLastModifiedTime(p, past);
            }
        }
        git.add().addFilepattern(".").call();
        git.commit().setMessage(message).setAuthor(WHO).setCommitter(WHO).call();
    }

    void write(String path, String content) throws Exception {
        Path p = site.resolve(path);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
    }

    List<String> changes() throws Exception {
        return wc.localChanges(100);
    }

    @Test
    void noEntryIsRacyInTheseTests() throws Exception {
        try (var repo = org.eclipse.jgit.storage.file.FileRepositoryBuilder.create(site.resolve(".git").toFile())) {
            var index = repo.readDirCache();
            for (int i = 0; i < index.getEntryCount(); i++) {
                assertTrue(!index.getEntry(i).isSmudged(), index.getEntry(i).getPathString());
            }
        }
    }

    @Test
    void cleanWorkingCopyHasNoChangesAlsoAfterTheIndexIsRewrittenByTheGitCli() throws Exception {
        assertEquals(List.of(), changes());
        GitCli.run(site, "reset", "-q", "--hard");
        assertEquals(List.of(), changes());
    }

    @Test
    void touchedButUnchangedFileIsNotAChange() throws Exception {
        Files.setLastModifiedTime(site.resolve("app/index.html"), FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        assertEquals(List.of(), changes());
    }

    @Test
    void editOfTheSameSizeIsFoundByItsContent() throws Exception {
        write("app/index.html", "<h1>HELLO</h1>\n");
        assertEquals(List.of("app/index.html"), changes());
    }

    @Test
    void deletedResizedAndExecutableBitChangesAreFound() throws Exception {
        Files.delete(site.resolve("README.md"));
        write("app/static/style.css", "body { color: red; background: white }\n");
        Files.setPosixFilePermissions(site.resolve("bin/run.sh"), PosixFilePermissions.fromString("rw-r--r--"));
        assertEquals(List.of("README.md", "app/static/style.css", "bin/run.sh"), changes());
    }

    @Test
    void fileReplacedBySymbolicLinkOrFolderIsFound() throws Exception {
        Files.delete(site.resolve("README.md"));
        Files.createSymbolicLink(site.resolve("README.md"), site.resolve("app/index.html"));
        Files.delete(site.resolve("bin/run.sh"));
        Files.createDirectories(site.resolve("bin/run.sh"));
        assertEquals(List.of("README.md", "bin/run.sh"), changes());
    }

    @Test
    void folderReplacedByASymbolicLinkToAnIdenticalCopyIsFound() throws Exception {
        // lstat of app/static/style.css follows the link: the folder itself must be looked at
        Path copy = dir.resolve("elsewhere");
        Files.createDirectories(copy);
        Path css = site.resolve("app/static/style.css");
        Files.copy(css, copy.resolve("style.css"), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Files.delete(css);
        Files.delete(site.resolve("app/static"));
        Files.createSymbolicLink(site.resolve("app/static"), copy);
        assertEquals(List.of("app/static/style.css"), changes());
    }

    @Test
    void stagedDeletionAdditionAndEditAreFound() throws Exception {
        GitCli.run(site, "rm", "--cached", "-q", "README.md");
        write("new.txt", "new\n");
        GitCli.run(site, "add", "new.txt");
        write("app/index.html", "<h1>staged</h1>\n");
        GitCli.run(site, "add", "app/index.html");
        assertEquals(List.of("README.md", "app/index.html", "new.txt"), changes());
    }

    @Test
    void changesInBothHalvesOfABigIndexAreFound() throws Exception {
        // from 4,000 entries the lstat pass runs in two halves on two threads
        for (int d = 0; d < 41; d++) {
            for (int f = 0; f < 100; f++) {
                write(String.format("big/d%02d/f%03d.txt", d, f), "file " + d + "/" + f + "\n");
            }
        }
        commitAllWithOldTimes("big");
        write("big/d03/f050.txt", "changed in the first half, and longer\n");
        Files.delete(site.resolve("big/d39/f001.txt"));
        Path copy = dir.resolve("copy-of-d40");
        Files.createDirectories(copy);
        try (var files = Files.list(site.resolve("big/d40"))) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.copy(p, copy.resolve(p.getFileName()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                Files.delete(p);
            }
        }
        Files.delete(site.resolve("big/d40"));
        Files.createSymbolicLink(site.resolve("big/d40"), copy);

        List<String> found = wc.localChanges(1_000);

        assertEquals(102, found.size(), found::toString);  // the 100 files behind the link, and two more
        assertEquals("big/d03/f050.txt", found.get(0));
        assertEquals("big/d39/f001.txt", found.get(1));
        assertTrue(found.get(2).startsWith("big/d40/"), found::toString);
    }

    @Test
    void stagedDeletionAfterACleanCheckIsFound() throws Exception {
        // the clean check learns that the kept index holds HEAD's tree; git rewriting the index unlearns it
        assertEquals(List.of(), changes());
        GitCli.run(site, "rm", "--cached", "-q", "README.md");
        assertEquals(List.of("README.md"), changes());
    }

    @Test
    void headMovedAwayFromTheIndexAfterACleanCheckIsFound() throws Exception {
        write("new.txt", "new\n");
        commitAllWithOldTimes("second");
        assertEquals(List.of(), changes());
        GitCli.run(site, "reset", "-q", "--soft", "HEAD~1");  // HEAD moves, the index file stays as it is
        assertEquals(List.of("new.txt"), changes());
    }

    @Test
    void fastResetAfterACleanCheckLeavesNothingStaged() throws Exception {
        var target = secondCommitThenBackToFirst();
        assertEquals(List.of(), changes());
        assertTrue(wc.resetHard(wc.plan(target, java.util.Set.of(), false), true).fast());
        assertEquals(List.of(), changes());
        GitCli.run(site, "reset", "-q", "--soft", "HEAD~1");
        assertEquals(List.of("app/index.html", "new.txt"), changes());
    }

    @Test
    void indexStagedBetweenTheCheckAndTheFastResetIsStillFoundAfterIt() throws Exception {
        var target = secondCommitThenBackToFirst();
        assertEquals(List.of(), changes());
        GitCli.run(site, "rm", "--cached", "-q", "README.md");  // after the check, before the reset
        assertTrue(wc.resetHard(wc.plan(target, java.util.Set.of(), false), true).fast());
        // the reset edited only the paths that differ, on top of the index it found: README.md is still out
        assertEquals(List.of("README.md"), changes());
    }

    /** A second commit (an edit and a new file), then the working copy back at the first; returns the second. */
    private org.eclipse.jgit.lib.ObjectId secondCommitThenBackToFirst() throws Exception {
        write("app/index.html", "<h1>second</h1>\n");
        return commitThenBackToTheOneBefore("new.txt", "new\n");
    }

    /** Writes {@code path}, commits everything, then puts the working copy back; returns the new commit. */
    org.eclipse.jgit.lib.ObjectId commitThenBackToTheOneBefore(String path, String content) throws Exception {
        write(path, content);
        commitAllWithOldTimes("then undone");
        var commit = git.getRepository().resolve("HEAD");
        GitCli.run(site, "reset", "-q", "--hard", "HEAD~1");
        return commit;
    }

    @Test
    void editOfAFileWithANonAsciiNameIsFound() throws Exception {
        write("app/caf\u00e9 \u2603.html", "<p>menu</p>\n");
        commitAllWithOldTimes("non-ascii");
        assertEquals(List.of(), changes());
        write("app/caf\u00e9 \u2603.html", "<p>menu, longer</p>\n");
        assertEquals(List.of("app/caf\u00e9 \u2603.html"), changes());
    }

    /**
     * Where git converts line endings (core.autocrlf) a file is judged by what git would store, as JGit's
     * walk judges it, not by comparing its bytes with the blob: a blob committed with CRLF before the
     * conversion was switched on no longer matches the file it came from. A check that hashed the bytes
     * would call the file unchanged. (With attributes JGit's walk looks at sizes first, and no case found
     * here told the two apart; the check leaves files with attributes to the walk all the same.)
     */
    @Test
    void withAutoCrlfAFileIsJudgedByWhatGitWouldStoreNotByItsBytes() throws Exception {
        write("app/crlf.txt", "one\r\ntwo\r\n");
        write("app/lf.txt", "one\ntwo\n");
        commitAllWithOldTimes("a blob with CRLF, one with LF");
        git.getRepository().getConfig().setString("core", null, "autocrlf", "true");
        git.getRepository().getConfig().save();
        Files.setLastModifiedTime(site.resolve("app/crlf.txt"), FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        write("app/lf.txt", "one\r\ntwo\r\n");
        // git's "safer autocrlf": a blob that holds CRLF is stored as it is (git status shows it clean); a
        // file whose blob has LF is stored with LF, so CRLF on disk is no edit either
        assertEquals(List.of(), changes());
        write("app/lf.txt", "one\r\nthree\r\n");
        assertEquals(List.of("app/lf.txt"), changes());
    }

    @Test
    void untrackedFilesAreNotChanges() throws Exception {
        write("uploads/photo.jpg", "jpeg\n");
        write("app/cache.tmp", "tmp\n");
        assertEquals(List.of(), changes());
    }
}
