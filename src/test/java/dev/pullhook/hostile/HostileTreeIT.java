package dev.pullhook.hostile;

import dev.pullhook.testing.Containment;
import dev.pullhook.testing.HostileSite;
import dev.pullhook.testing.HostileSite.Answer;
import dev.pullhook.testing.ObjectForge;
import dev.pullhook.testing.ObjectForge.Entry;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static dev.pullhook.testing.ObjectForge.executable;
import static dev.pullhook.testing.ObjectForge.file;
import static dev.pullhook.testing.ObjectForge.folder;
import static dev.pullhook.testing.ObjectForge.gitlink;
import static dev.pullhook.testing.ObjectForge.symlink;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Pushed trees are untrusted: tree entries that would write outside the working tree or into {@code .git}
 * (in every spelling git guards against), duplicate entries, malformed objects, names that are not UTF-8.
 * Each attack is written straight into the bare origin (raw tree bytes, then a forced ref update), so git's
 * own receive checks never see it, and deployed by a real daemon, once per engine ({@code git.engine=fast}
 * and {@code jgit}) and, for names, with {@code git.fsck} on and off.
 *
 * <p>The contract: with {@code git.fsck=true} (the default) the deploy is refused (500) and the error names
 * the offending object's full id and git's fsck rule id ({@code hasDotgit}, {@code duplicateEntries}...,
 * as {@code git fsck} 2.39 reports them for the same objects); with {@code git.fsck=false} it is still
 * refused, before any write, and the error names the path. A path counts as named when the error holds it
 * quoted ({@code ".git "}), as the start of a path ({@code ../config}), bare where that cannot be mistaken
 * for prose ({@code .GIT}), or with its odd bytes escaped ({@code \342\200\214}, {@code \u200c}, {@code \xff}).
 * Either way HEAD, every file of the site, the site's {@code .git/config}, {@code hooks/} and {@code info/},
 * and a canary folder next to the site stay exactly as they were, and no filter or hook a pushed config
 * defines ever runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileTreeIT {
    @TempDir
    static Path tmp;
    private final Map<String, HostileSite> sites = new ConcurrentHashMap<>();

    @BeforeAll
    void startDaemons() {
        // four daemons, one per engine and fsck setting, started side by side: each start costs about a second
        Stream.of("fast", "jgit").flatMap(e -> Stream.of(site(e, true), site(e, false))).toList()
                .parallelStream().forEach(HostileSite::start);
    }

    @AfterAll
    void stopDaemons() {
        sites.values().parallelStream().forEach(HostileSite::close);
    }

    private HostileSite site(String engine, boolean fsck) {
        return sites.computeIfAbsent(engine + "-fsck-" + fsck, k -> HostileSite.create(tmp.resolve(k),
                Map.of("git.engine", engine, "git.fsck", Boolean.toString(fsck))));
    }

    // ---- the payloads a hostile tree carries ------------------------------------------------------------

    /**
     * The site's own git config plus a filter whose command leaves a file in the canary folder: what an
     * attacker who knows the server's layout writes, so that the site keeps deploying and runs the filter.
     */
    private static String filterConfig(HostileSite s) {
        try {
            return Files.readString(s.gitDir().resolve("config"))
                    + "[filter \"x\"]\n\tsmudge = \"touch " + s.outside.resolve("smudge-ran") + "; cat\"\n"
                    + "\tclean = cat\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String hook(HostileSite s) {
        return "#!/bin/sh\ntouch " + s.outside.resolve("hook-ran") + "\n";
    }

    /** What a hostile {@code .git} folder holds: a config with a filter, and a hook. */
    private static ObjectId dotGitPayload(HostileSite s) {
        ObjectForge f = s.forge();
        ObjectId hooks = f.tree(executable("post-checkout", f.blob(hook(s))));
        return f.sortedTree(List.of(file("config", f.blob(filterConfig(s))), folder("hooks", hooks)));
    }

    /** The baseline's files, a {@code .gitattributes} asking for the filter, a marker file, and {@code extra}. */
    private static List<Entry> attackEntries(HostileSite s, String label, Entry... extra) {
        ObjectForge f = s.forge();
        List<Entry> top = new ArrayList<>(s.baselineEntries());
        top.add(file(".gitattributes", f.blob("* filter=x\n")));
        top.add(file("hostile.txt", f.blob("hostile case: " + label + "\n")));
        top.addAll(List.of(extra));
        return top;
    }

    private static void assertNoCommandRan(HostileSite s, String what) {
        assertFalse(Files.exists(s.outside.resolve("smudge-ran")), what + ": a filter defined by pushed content ran");
        assertFalse(Files.exists(s.outside.resolve("hook-ran")), what + ": a hook pushed as content ran");
    }

    // ---- 1. names -------------------------------------------------------------------------------------

    /** How a bad name is used: as a folder holding {@code config} and {@code hooks/post-checkout}, or as a file. */
    enum Shape { FOLDER, FILE }

    /**
     * One hostile name.
     *
     * @param rules the fsck rule ids git reports for a tree holding it (any one will do)
     * @param forms ways the error may name the path when {@code git.fsck=false}
     */
    record Name(String label, byte[] bytes, List<String> rules, List<String> forms) {
        @Override
        public String toString() {
            return label;
        }
    }

    private static Name name(String name, String rule, String... extraForms) {
        List<String> forms = new ArrayList<>(List.of("\"" + name + "\"", "'" + name + "'", "`" + name + "`"));
        if (!List.of(".", "..", ".git").contains(name)) {
            // "./", "../" and ".git/" are in any message about paths or git's own folder: only quoted counts
            forms.add(name + "/");
        }
        forms.addAll(List.of(extraForms));
        String label = name.replace("\u200c", "\\u200c").replace(" ", "<space>");
        return new Name("'" + label + "'", name.getBytes(StandardCharsets.UTF_8), List.of(rule), forms);
    }

    static List<Name> names() {
        return List.of(
                name("..", "hasDotdot"),
                name(".", "hasDot"),
                name(".git", "hasDotgit"),
                name(".GIT", "hasDotgit", ".GIT"),
                name(".Git", "hasDotgit", ".Git"),
                name("git~1", "hasDotgit", "git~1"),
                name("GIT~1", "hasDotgit", "GIT~1"),
                name(".git.", "hasDotgit"),
                name(".git ", "hasDotgit", ".git\\040", ".git\\x20", ".git%20"),
                name(".git::$INDEX_ALLOCATION", "hasDotgit", ".git::$INDEX_ALLOCATION"),
                name(".g\u200cit", "hasDotgit", ".g\u200cit", ".g\\342\\200\\214it", ".g\\u200cit", ".g\\u200Cit",
                        ".g\\xe2\\x80\\x8cit", ".g%E2%80%8Cit"),
                // git 2.39 stops at "empty filename in tree entry" (badTree); JGit's checker says emptyName
                new Name("'' (empty)", new byte[0], List.of("emptyName", "badTree"),
                        List.of("\"\"", "''", "empty name", "empty file name", "empty path")),
                name("a/b", "fullPathname", "a/b"));
    }

    static Stream<Arguments> namesUsedAsFolders() {
        return engines().flatMap(e -> names().stream().map(n -> Arguments.of(e.get()[0], e.get()[1], n)));
    }

    static Stream<Arguments> namesUsedAsFiles() {
        return engines().flatMap(e -> names().stream()
                .filter(n -> !n.label().equals("'..'") && !n.label().equals("'.'"))
                .map(n -> Arguments.of(e.get()[0], e.get()[1], n)));
    }

    static Stream<Arguments> engines() {
        return Stream.of(Arguments.of("fast", true), Arguments.of("jgit", true),
                Arguments.of("fast", false), Arguments.of("jgit", false));
    }

    @ParameterizedTest(name = "git.engine={0} git.fsck={1} folder {2}")
    @MethodSource("namesUsedAsFolders")
    void aFolderWithAForbiddenNameIsRefusedBeforeAnyWrite(String engine, boolean fsck, Name name) {
        refusesName(engine, fsck, name, Shape.FOLDER);
    }

    @ParameterizedTest(name = "git.engine={0} git.fsck={1} file {2}")
    @MethodSource("namesUsedAsFiles")
    void aFileWithAForbiddenNameIsRefusedBeforeAnyWrite(String engine, boolean fsck, Name name) {
        refusesName(engine, fsck, name, Shape.FILE);
    }

    private void refusesName(String engine, boolean fsck, Name name, Shape shape) {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        Entry bad = shape == Shape.FOLDER
                ? new Entry("40000", name.bytes(), dotGitPayload(s))
                : new Entry("100644", name.bytes(), f.blob("gitdir: " + s.outside.resolve("fake-git") + "\n"));
        ObjectId tree = f.sortedTree(attackEntries(s, shape + " " + name.label(), bad));
        s.pushTree(tree, "hostile name " + name.label());
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = shape.name().toLowerCase(java.util.Locale.ROOT) + " " + name.label() + " (engine " + engine + ", fsck " + fsck + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> assertNoCommandRan(s, what),
                () -> Verdict.refused(a, what),
                () -> {
                    if (fsck) {
                        Verdict.namesObjectAndRule(a, tree, what, name.rules().toArray(String[]::new));
                    } else {
                        Verdict.namesOneOf(a, what, "the path", name.forms());
                    }
                });
    }

    /**
     * A name with a NUL byte: the name ends at the NUL for every parser, and what follows is read as the
     * entry's id, so the tree cannot be parsed (git fsck: badTree, "too-short tree object"). A git server
     * cannot even pack it (it fails on the object the misread id names), so what the deploy can report is
     * the tree with badTree if it got the tree, or else the object the broken tree names that the remote
     * lacks. Either way: refused, nothing changed.
     */
    @ParameterizedTest(name = "git.engine={0} git.fsck={1}")
    @MethodSource("engines")
    void aNameWithANulByteIsRefusedNamingTheTree(String engine, boolean fsck) {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        ObjectId blob = f.blob("nul\n");
        Entry bad = new Entry("100644", "a\0b".getBytes(StandardCharsets.UTF_8), blob);
        ObjectId tree = f.tree(ObjectForge.sorted(attackEntries(s, "nul", bad)));
        byte[] misread = new byte[22];  // what parsers take for the id of entry "a": "b", NUL, the blob id's first 18 bytes
        misread[0] = 'b';
        blob.copyRawTo(misread, 2);
        ObjectId claimed = ObjectId.fromRaw(java.util.Arrays.copyOf(misread, 20));
        s.pushTree(tree, "hostile name with NUL");
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "name a\\0b (engine " + engine + ", fsck " + fsck + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> Verdict.refused(a, what),
                () -> {
                    if (fsck && !a.error().contains(claimed.name())) {
                        Verdict.namesObjectAndRule(a, tree, what, "badTree");
                    } else {
                        Verdict.namesOneOf(a, what, "the unparseable tree or the object it names",
                                List.of(tree.name(), claimed.name()));
                    }
                });
    }

    // ---- 2. duplicate entries (CVE-2023-4759 shape) ---------------------------------------------------

    static Stream<Arguments> duplicates() {
        List<String> kinds = List.of("symlink dup + folder dup", "file dup + folder dup");
        return engines().flatMap(e -> kinds.stream().map(k -> Arguments.of(e.get()[0], e.get()[1], k)));
    }

    static Stream<Arguments> caseVariants() {
        return engines().map(e -> Arguments.of(e.get()[0], e.get()[1]));
    }

    /**
     * Names that differ only in case are two names on Linux: git checks out a link {@code DUP} and a folder
     * {@code dup} side by side, and so does pullhook (JGit's checker in its Windows/macOS mode would call
     * them duplicates; git's fsck does not). The write into {@code dup/} goes into a real folder: nothing
     * outside the site changes.
     */
    @ParameterizedTest(name = "git.engine={0} git.fsck={1}")
    @MethodSource("caseVariants")
    void namesThatDifferOnlyInCaseDeployAsGitDoesAndStayInside(String engine, boolean fsck) throws Exception {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        ObjectId inside = f.tree(file("file", f.blob("inside the site\n")));
        ObjectId target = f.blob(s.outside.resolve(HostileSite.SECRET_FOLDER).toString());
        List<Entry> entries = attackEntries(s, "case variants");
        entries.add(symlink("DUP", target));
        entries.add(folder("dup", inside));
        ObjectId commit = s.pushTree(f.sortedTree(entries), "names that differ only in case");
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "DUP link + dup folder (engine " + engine + ", fsck " + fsck + ")";
        Verdict.deployed(a, commit, what);
        guard.assertContained(what);
        Path dup = s.repos.site.resolve("dup");
        assertTrue(java.nio.file.Files.isDirectory(dup, java.nio.file.LinkOption.NOFOLLOW_LINKS), what);
        assertEquals("inside the site\n", java.nio.file.Files.readString(dup.resolve("file")), what);
        assertTrue(java.nio.file.Files.isSymbolicLink(s.repos.site.resolve("DUP")), what);
    }

    /**
     * A link and a folder of one name: a checkout that makes the link first then writes {@code dup/file}
     * writes through it.
     */
    @ParameterizedTest(name = "git.engine={0} git.fsck={1} {2}")
    @MethodSource("duplicates")
    void duplicateEntriesAreRefusedBeforeAnyWrite(String engine, boolean fsck, String kind) {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        ObjectId inside = f.tree(file("file", f.blob("written through the link?\n")));
        ObjectId target = f.blob(s.outside.resolve(HostileSite.SECRET_FOLDER).toString());
        List<Entry> pair = switch (kind) {
            case "symlink dup + folder dup" -> List.of(symlink("dup", target), folder("dup", inside));
            default -> List.of(file("dup", f.blob("a file\n")), folder("dup", inside));
        };
        List<Entry> entries = attackEntries(s, kind);
        entries.addAll(pair);
        ObjectId tree = f.sortedTree(entries);
        s.pushTree(tree, "hostile duplicates: " + kind);
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = kind + " (engine " + engine + ", fsck " + fsck + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> Verdict.refused(a, what),
                () -> {
                    if (fsck) {
                        Verdict.namesObjectAndRule(a, tree, what, "duplicateEntries");
                    } else {
                        Verdict.namesOneOf(a, what, "the path", List.of("dup", "DUP", "Dup"));
                    }
                });
    }

    // ---- 5. a filter through a written config ---------------------------------------------------------

    static Stream<Arguments> configRoutes() {
        List<String> spellings = List.of(".git", ".GIT", "git~1", ".git.", ".g\u200cit");
        return engines().flatMap(e -> spellings.stream().map(n -> Arguments.of(e.get()[0], e.get()[1], n)));
    }

    /**
     * A push tries to put {@code filter.x.smudge} into {@code .git/config} through a folder spelled like
     * {@code .git}, with {@code * filter=x} in {@code .gitattributes}; then an ordinary push brings a file
     * for the filter. Whatever the first deploy answered, the command never runs and the config never
     * learns the filter; the ordinary push deploys (git ignores a filter it has no definition for).
     */
    @ParameterizedTest(name = "git.engine={0} git.fsck={1} via {2}")
    @MethodSource("configRoutes")
    void aFilterDefinedByPushedContentNeverRuns(String engine, boolean fsck, String spelling) {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        ObjectId tree = f.sortedTree(attackEntries(s, "filter via " + spelling,
                folder(spelling, dotGitPayload(s)), file("data.txt", f.blob("data\n"))));
        ObjectId attack = s.pushTree(tree, "hostile config via " + spelling);
        Containment guard = s.watch();
        s.deploy();

        ObjectId ordinary = s.pushTree(f.sortedTree(List.of(s.baselineEntries().get(0),
                file(".gitattributes", f.blob("* filter=x\n")),
                file("page.txt", f.blob("an ordinary page, " + attack.name() + "\n")))), "an ordinary push");
        Answer second = s.deploy();

        String what = "filter via " + spelling + " (engine " + engine + ", fsck " + fsck + ")";
        assertAll(
                () -> assertNoCommandRan(s, what),
                () -> guard.assertContained(what),
                () -> assertFalse(Files.readString(s.gitDir().resolve("config")).contains("filter"),
                        what + ": .git/config learned a filter"),
                () -> Verdict.deployed(second, ordinary, what + ", then an ordinary push"));
    }

    // ---- 7. fsck of objects ---------------------------------------------------------------------------

    /**
     * Malformed objects, each refused with git's rule id for it: a commit whose author has no closing
     * {@code >} (badEmail), a zero-padded mode (zeroPaddedFilemode), a mode git does not know, 100645, which
     * JGit's checker would take as executable (badFilemode), entries out of order (treeNotSorted), and a
     * {@code .gitmodules} whose url is a command-line option (gitmodulesUrl, reported on the blob).
     */
    @ParameterizedTest(name = "git.engine={0} {1}")
    @MethodSource("malformed")
    void malformedObjectsAreRefusedNamingObjectAndRule(String engine, String rule) {
        HostileSite s = site(engine, true);
        s.prepare();
        ObjectForge f = s.forge();
        List<Entry> base = attackEntries(s, rule);
        ObjectId offending;
        ObjectId commit;
        switch (rule) {
            case "badEmail" -> {
                ObjectId tree = f.sortedTree(base);
                offending = f.rawCommit(("tree " + tree.name() + "\nparent " + s.baseline.name()
                        + "\nauthor Hostile Pusher <pusher@example.invalid 1700000000 +0000\ncommitter "
                        + ObjectForge.AUTHOR + "\n\nmalformed author\n").getBytes(StandardCharsets.UTF_8));
                commit = offending;
            }
            case "zeroPaddedFilemode", "badFilemode" -> {
                List<Entry> entries = new ArrayList<>(base);
                entries.add(Entry.of(rule.equals("badFilemode") ? "100645" : "0100644", "odd-mode.txt", f.blob("mode\n")));
                offending = f.sortedTree(entries);
                commit = f.commit(offending, s.baseline, rule);
            }
            case "treeNotSorted" -> {
                List<Entry> entries = new ArrayList<>(ObjectForge.sorted(base));
                entries.add(0, file("zzz-first.txt", f.blob("out of order\n")));
                offending = f.tree(entries);
                commit = f.commit(offending, s.baseline, rule);
            }
            default -> {
                offending = f.blob("[submodule \"lib\"]\n\tpath = lib\n\turl = --upload-pack=touch "
                        + s.outside.resolve("upload-pack-ran") + "\n");
                List<Entry> entries = new ArrayList<>(base);
                entries.add(file(".gitmodules", offending));
                entries.add(gitlink("lib", ObjectId.fromString("0123456789abcdef0123456789abcdef01234567")));
                commit = f.commit(f.sortedTree(entries), s.baseline, rule);
            }
        }
        s.push(commit);
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = rule + " (engine " + engine + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> Verdict.refused(a, what),
                () -> Verdict.namesObjectAndRule(a, offending, what, rule));
    }

    static Stream<Arguments> malformed() {
        return Stream.of("fast", "jgit").flatMap(e -> Stream.of("badEmail", "zeroPaddedFilemode", "badFilemode",
                "treeNotSorted", "gitmodulesUrl").map(r -> Arguments.of(e, r)));
    }

    /** git.fsck=false is an opt-out that works: a commit whose only fault is its author line deploys. */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void withFsckOffAHarmlessMalformedCommitDeploys(String engine) {
        HostileSite s = site(engine, false);
        s.prepare();
        ObjectForge f = s.forge();
        ObjectId tree = f.sortedTree(List.of(s.baselineEntries().get(0), file("page.txt", f.blob("harmless\n"))));
        ObjectId commit = f.rawCommit(("tree " + tree.name() + "\nparent " + s.baseline.name()
                + "\nauthor Hostile Pusher <pusher@example.invalid 1700000000 +0000\ncommitter "
                + ObjectForge.AUTHOR + "\n\nmalformed author, harmless tree\n").getBytes(StandardCharsets.UTF_8));
        s.push(commit);
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "malformed author with git.fsck=false (engine " + engine + ")";
        assertAll(
                () -> Verdict.deployed(a, commit, what),
                () -> guard.assertContained(what),
                () -> assertEquals("harmless\n", s.repos.siteFile("page.txt"), what));
    }

    // ---- 9. a name that is not UTF-8 ------------------------------------------------------------------

    /**
     * A file named by the bytes 0xff 0xfe: Java cannot write that name byte for byte, so the deploy fails
     * before any change, naming the path (escaped) and saying what to do about it (rename it).
     */
    @ParameterizedTest(name = "git.engine={0} git.fsck={1}")
    @MethodSource("engines")
    void aNameThatIsNotUtf8FailsBeforeAnyChangeSayingWhatToDo(String engine, boolean fsck) {
        HostileSite s = site(engine, fsck);
        s.prepare();
        ObjectForge f = s.forge();
        Entry odd = new Entry("100644", new byte[] {(byte) 0xff, (byte) 0xfe}, f.blob("not utf-8\n"));
        List<Entry> entries = new ArrayList<>(s.baselineEntries());
        entries.add(file("page.txt", f.blob("written before the odd name?\n")));
        entries.add(odd);
        ObjectId commit = s.pushTree(f.sortedTree(entries), "a name that is not UTF-8");
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "name 0xff 0xfe (engine " + engine + ", fsck " + fsck + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> Verdict.refused(a, what),
                () -> Verdict.namesOneOf(a, what, "the path, escaped",
                        List.of("\\377\\376", "\\xff\\xfe", "\\xFF\\xFE", "%FF%FE", "%ff%fe")),
                () -> {
                    if (!a.error().toLowerCase().matches("(?s).*(rename|git mv).*")) {
                        fail(what + ": the error must say what to do (rename the"
                                + " file in the repository); error was: " + a.error() + " (commit " + commit.name() + ")");
                    }
                });
    }
}
