package dev.pullhook.hostile;

import dev.pullhook.testing.Containment;
import dev.pullhook.testing.HostileSite;
import dev.pullhook.testing.HostileSite.Answer;
import dev.pullhook.testing.ObjectForge;
import dev.pullhook.testing.ObjectForge.Entry;
import dev.pullhook.testing.RecordingHttpServer;
import org.eclipse.jgit.api.Git;
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
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static dev.pullhook.testing.ObjectForge.file;
import static dev.pullhook.testing.ObjectForge.gitlink;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * With {@code deploy.submodules=true}, a pushed {@code .gitmodules} is untrusted: it must not make the
 * daemon clone from this machine's file system, run a transport command, take an option for a URL, write
 * outside {@code .git/modules}, or hand the deploy's HTTPS credentials to another host. By default only
 * https, ssh and scp-like URLs are followed (git's {@code protocol.file.allow=user} since 2.38.1, and
 * {@code ext::} never); {@code deploy.submodules.allow} adds {@code file} (also plain local paths) or
 * {@code http}. A refused URL fails the deploy before anything in the working copy changes, naming the
 * URL's kind and the key; nothing is cloned, nothing written outside, no command run. Both engines.
 *
 * <p>The library the submodules point at is a real local repository at {@code <box>/repos/lib.git}, next
 * to origin, so {@code ../lib.git} (relative to origin's local URL) is a local path too. HTTP hosts are a
 * recording server on 127.0.0.1 that invites credentials with a 401.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileSubmoduleIT {
    private static final String LIB = "repos/lib.git";
    private static final String PASSWORD = "deploy-password-4b1d";
    @TempDir
    static Path tmp;
    private final Map<String, HostileSite> sites = new ConcurrentHashMap<>();
    private final Map<HostileSite, ObjectId> libCommits = new ConcurrentHashMap<>();

    @BeforeAll
    void startDaemons() {
        Stream.of("fast", "jgit").flatMap(e -> Stream.of(site(e, ""), site(e, "file"), site(e, "http"))).toList()
                .parallelStream().forEach(HostileSite::start);
    }

    @AfterAll
    void stopDaemons() {
        sites.values().parallelStream().forEach(HostileSite::close);
    }

    /**
     * A site deploying submodules, allowing {@code allow} beyond the defaults; the {@code http} one also has
     * the origin's HTTPS credentials configured.
     */
    private HostileSite site(String engine, String allow) {
        return sites.computeIfAbsent(engine + "-allow-" + (allow.isEmpty() ? "default" : allow), k -> {
            Map<String, String> keys = new HashMap<>(Map.of("git.engine", engine, "deploy.submodules", "true"));
            if (!allow.isEmpty()) {
                keys.put("deploy.submodules.allow", allow);
            }
            if (allow.equals("http")) {
                keys.put("git.https.username", "deployer");
                keys.put("git.https.password.file", passwordFile().toString());
            }
            HostileSite s = HostileSite.create(tmp.resolve(k), keys, LIB);
            libCommits.put(s, createLibrary(s.box.resolve(LIB)));
            return s;
        });
    }

    private static synchronized Path passwordFile() {
        Path file = tmp.resolve("git-password");
        try {
            if (!Files.exists(file)) {
                Files.writeString(file, PASSWORD + "\n");
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** A bare library repository with one commit holding {@code version.txt}; returns that commit. */
    private static ObjectId createLibrary(Path bare) {
        try {
            Git.init().setBare(true).setInitialBranch("main").setDirectory(bare.toFile()).call().close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        try (ObjectForge lib = ObjectForge.open(bare)) {
            ObjectId commit = lib.commit(lib.tree(file("version.txt", lib.blob("v1\n"))), null, "lib v1");
            lib.moveBranch("main", commit);
            return commit;
        }
    }

    /** Pushes a tree with {@code .gitmodules} declaring submodule {@code name} at {@code lib} from {@code url}. */
    private ObjectId pushSubmodule(HostileSite s, String name, String url, String label) {
        ObjectForge f = s.forge();
        ObjectId modules = f.blob("[submodule \"" + name + "\"]\n\tpath = lib\n\turl = " + url + "\n");
        List<Entry> entries = new ArrayList<>(s.baselineEntries());
        entries.add(file(".gitmodules", modules));
        entries.add(file("hostile.txt", f.blob("submodule case: " + label + "\n")));
        entries.add(gitlink("lib", libCommits.get(s)));
        return s.pushTree(f.sortedTree(entries), "submodule from " + label);
    }

    /** The blob of the pushed {@code .gitmodules} (what git's fsck names for gitmodulesUrl / gitmodulesName). */
    private static ObjectId gitmodulesBlob(HostileSite s, String name, String url) {
        return s.forge().blob("[submodule \"" + name + "\"]\n\tpath = lib\n\turl = " + url + "\n");
    }

    /** Nothing was cloned: no {@code .git/modules}, nothing at {@code lib} in the site. */
    private static void assertNothingCloned(HostileSite s, String what) {
        assertFalse(Files.exists(s.gitDir().resolve("modules"), LinkOption.NOFOLLOW_LINKS),
                what + ": a submodule repository was created in .git/modules");
        assertFalse(Files.exists(s.repos.site.resolve("lib/version.txt"), LinkOption.NOFOLLOW_LINKS),
                what + ": the submodule was checked out");
    }

    private static void assertNoCommandRan(HostileSite s, String what) {
        for (String canary : List.of("ext-ran", "upload-pack-ran", "payload-ran")) {
            assertFalse(Files.exists(s.outside.resolve(canary), LinkOption.NOFOLLOW_LINKS),
                    what + ": a command from a submodule URL ran (" + canary + ")");
        }
    }

    // ---- 6. URL kinds refused by default ---------------------------------------------------------------

    /**
     * One submodule URL kind.
     *
     * @param kinds       words one of which the error must hold to name the URL's kind
     * @param optionLike  a URL git's fsck itself rejects (gitmodulesUrl): that refusal counts too
     */
    record UrlCase(String label, List<String> kinds, boolean optionLike) {
        @Override
        public String toString() {
            return label;
        }
    }

    static Stream<Arguments> refusedByDefault() {
        List<UrlCase> cases = List.of(
                new UrlCase("file:// URL", List.of("file"), false),
                new UrlCase("plain local path", List.of("file", "local"), false),
                new UrlCase("relative URL resolving to a local path", List.of("file", "local"), false),
                new UrlCase("ext:: transport", List.of("ext"), false),
                new UrlCase("option-like -u./payload", List.of("option"), true),
                new UrlCase("option-like --upload-pack", List.of("option"), true),
                new UrlCase("plain http://127.0.0.1", List.of("http"), false));
        return Stream.of("fast", "jgit").flatMap(e -> cases.stream().map(c -> Arguments.of(e, c)));
    }

    private String url(HostileSite s, UrlCase c, RecordingHttpServer http) {
        Path lib = s.box.resolve(LIB);
        return switch (c.label()) {
            case "file:// URL" -> lib.toUri().toString();
            case "plain local path" -> lib.toString();
            case "relative URL resolving to a local path" -> "../lib.git";
            case "ext:: transport" -> "ext::sh -c touch% " + s.outside.resolve("ext-ran");
            case "option-like -u./payload" -> "-u./payload";
            case "option-like --upload-pack" -> "--upload-pack=touch " + s.outside.resolve("upload-pack-ran");
            default -> http.url("lib.git");
        };
    }

    @ParameterizedTest(name = "git.engine={0} {1}")
    @MethodSource("refusedByDefault")
    void aSubmoduleUrlOfAnUnallowedKindIsRefusedBeforeAnyChange(String engine, UrlCase c) {
        HostileSite s = site(engine, "");
        s.prepare();
        try (RecordingHttpServer http = RecordingHttpServer.start()) {
            String url = url(s, c, http);
            pushSubmodule(s, "lib", url, c.label());
            Containment guard = s.watch();

            Answer a = s.deploy();

            String what = c.label() + " " + url + " (engine " + engine + ")";
            assertAll(
                    () -> guard.assertSiteUnchanged(what),
                    () -> assertNothingCloned(s, what),
                    () -> assertNoCommandRan(s, what),
                    () -> assertEquals(0, http.requests(), () -> what + ": the http host was asked " + http.requestLines()),
                    () -> Verdict.refused(a, what),
                    () -> {
                        boolean byFsck = c.optionLike() && a.error().contains("gitmodulesUrl")
                                && a.error().contains(gitmodulesBlob(s, "lib", url).name());
                        if (!byFsck) {
                            Verdict.mentions(a, what, "deploy.submodules.allow");
                            Verdict.namesOneOf(a, what, "the URL's kind", c.kinds());
                        }
                    });
        }
    }

    /**
     * A submodule name with {@code ../} (git: gitmodulesName): JGit keeps a submodule's repository under
     * {@code .git/modules/<name>}, so the name would put it four levels up, in the canary folder. Refused
     * even where its URL kind is allowed, before any change.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aSubmoduleNameThatClimbsOutOfDotGitModulesIsRefused(String engine) {
        HostileSite s = site(engine, "file");
        s.prepare();
        String name = "../../../../outside/pwned";
        String url = s.box.resolve(LIB).toUri().toString();
        pushSubmodule(s, name, url, "name " + name);
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "submodule name " + name + " (engine " + engine + ")";
        assertAll(
                () -> guard.assertSiteUnchanged(what),
                () -> assertNothingCloned(s, what),
                () -> Verdict.refused(a, what),
                () -> Verdict.namesOneOf(a, what, "the rule or the name", List.of("gitmodulesName", name)));
    }

    // ---- 6. an allowed kind is followed -----------------------------------------------------------------

    /** deploy.submodules.allow=file: a local submodule is cloned and checked out at the recorded commit. */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void withFileAllowedALocalSubmoduleIsFollowed(String engine) {
        HostileSite s = site(engine, "file");
        s.prepare();
        ObjectId commit = pushSubmodule(s, "lib", s.box.resolve(LIB).toUri().toString(), "allowed file URL");
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "allowed file:// submodule (engine " + engine + ")";
        assertAll(
                () -> Verdict.deployed(a, commit, what),
                () -> assertEquals("v1\n", s.repos.siteFile("lib/version.txt"), what + ": the submodule's file"),
                () -> guardOutsideOnly(guard, s, what));
    }

    /**
     * A pushed link where the next push puts a submodule: the submodule is cloned into a real folder in the
     * site, never through the link into the folder it points at.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void aSubmoduleIsNeverClonedThroughALinkThatStoodAtItsPath(String engine) throws IOException {
        HostileSite s = site(engine, "file");
        s.prepare();
        ObjectForge f = s.forge();
        Path victim = Files.createDirectories(s.outside.resolve("submodule-victim"));
        List<Entry> first = new ArrayList<>(s.baselineEntries());
        first.add(ObjectForge.symlink("lib", f.blob(victim.toString())));
        s.pushTree(f.sortedTree(first), "a link where the submodule will go");
        Verdict.deployed(s.deploy(), s.repos.originTip(), "the link (engine " + engine + ")");
        ObjectId commit = pushSubmodule(s, "lib", s.box.resolve(LIB).toUri().toString(), "submodule over a link");
        Containment guard = s.watch();

        Answer a = s.deploy();

        String what = "submodule where a link was (engine " + engine + ")";
        assertAll(
                () -> Verdict.deployed(a, commit, what),
                () -> assertTrue(Files.isDirectory(s.repos.site.resolve("lib"), LinkOption.NOFOLLOW_LINKS), what),
                () -> assertEquals("v1\n", s.repos.siteFile("lib/version.txt"), what),
                () -> {
                    try (var inVictim = Files.list(victim)) {
                        assertEquals(List.of(), inVictim.toList(), what + ": nothing written through the link");
                    }
                },
                () -> guardOutsideOnly(guard, s, what));
    }

    /** Outside the site nothing changed (the positive case legitimately writes .git/config and .git/modules). */
    private static void guardOutsideOnly(Containment guard, HostileSite s, String what) {
        Containment.State after = Containment.capture(s.repos.site, s.box, s.ignored());
        List<String> diff = guard.before().outside().diff(after.outside());
        if (!diff.isEmpty()) {
            fail(what + ": changes outside the site:\n  " + String.join("\n  ", diff));
        }
    }

    // ---- 6. credentials stay with the origin ------------------------------------------------------------

    /**
     * The origin's HTTPS credentials are configured and http submodules allowed; a pushed submodule on a
     * plain-http host that asks for credentials (401, Basic) must never get an Authorization header:
     * credentials go only to the origin's own host, and never over plain http.
     */
    @ParameterizedTest(name = "git.engine={0}")
    @ValueSource(strings = {"fast", "jgit"})
    void theDeployCredentialsAreNeverSentToASubmoduleHost(String engine) {
        HostileSite s = site(engine, "http");
        s.prepare();
        try (RecordingHttpServer http = RecordingHttpServer.start()) {
            pushSubmodule(s, "lib", http.url("lib.git"), "http host asking for credentials");
            Containment guard = s.watch();

            Answer a = s.deploy();

            String what = "http submodule host asking for credentials (engine " + engine + ")";
            assertAll(
                    () -> assertTrue(http.authorizations().isEmpty(), () -> what + ": the submodule host got "
                            + http.authorizations().size() + " Authorization header(s) for requests "
                            + http.requestLines() + " (deploy answered " + a + ")"),
                    () -> assertFalse(a.body().contains(PASSWORD), what + ": the password is in the answer"),
                    () -> guardOutsideOnly(guard, s, what));
        }
    }
}
