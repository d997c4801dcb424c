package dev.pullhook.parity;

import dev.pullhook.testing.TreeWriter;
import dev.pullhook.testing.TwinRepos;
import dev.pullhook.testing.WorkTreeState;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The contract, tested differentially: after every deploy, pullhook's working copy is exactly what {@code git
 * fetch && git reset --hard origin/main} (plus {@code clean -fd} / {@code submodule update} where configured)
 * leaves from the same start. Each scenario is a seeded stream of pushes ({@link CommitGenerator}) with local
 * edits between them ({@link LocalEdits}), deployed by pullhook (both engines, one site each) and by git on a
 * twin, compared after every step ({@link ParityRun}). Pushes pullhook must refuse are checked for a clean
 * refusal. CI runs {@link #CI_SEEDS}, one scenario each.
 *
 * <p>Replay: the failure gives the command ({@code -Dparity.seeds=<seed> -Dparity.scenario=<name>}). Knobs:
 * {@code -Dparity.steps=<n>}; {@code -Dparity.engines=fast} (one engine); {@code -Dparity.keepGoing=true} (log
 * every difference, copy the twin over the site and go on: the list of what to fix, not just the first item);
 * {@code -Dparity.twin.fetch=true} (the twin runs a real {@code git fetch}, see {@link TwinRepos}).
 */
class GitParityIT {
    private static final long[] CI_SEEDS = {1, 2, 3, 4};
    private static final int STEPS = Integer.getInteger("parity.steps", 14);
    private static final ParityOptions.Engine FAST_WATCH = new ParityOptions.Engine("fast", true);
    private static final ParityOptions.Engine FAST_NOWATCH = new ParityOptions.Engine("fast", false);
    private static final ParityOptions.Engine JGIT_WATCH = new ParityOptions.Engine("jgit", true);
    private static final ParityOptions.Engine JGIT_NOWATCH = new ParityOptions.Engine("jgit", false);
    /** Both engines in every scenario, the tree watch on and off. */
    private static final List<ParityOptions> OPTIONS = List.of(
            new ParityOptions(false, false, List.of(FAST_WATCH, JGIT_NOWATCH)),
            new ParityOptions(true, true, List.of(FAST_NOWATCH, JGIT_WATCH)));

    @TempDir
    Path tmp;

    /**
     * In CI each seed runs one scenario, taking turns ({@link #CI_SEEDS}); seeds given with {@code
     * -Dparity.seeds} run every scenario, or the one named by {@code -Dparity.scenario}.
     */
    static Stream<Arguments> scenarios() {
        String seeds = System.getProperty("parity.seeds", "");
        String only = System.getProperty("parity.scenario", "");
        List<Arguments> out = new ArrayList<>();
        if (seeds.isBlank()) {
            for (int i = 0; i < CI_SEEDS.length; i++) {
                ParityOptions o = OPTIONS.get(i % OPTIONS.size());
                if (only.isBlank() || only.equals(o.name())) {
                    out.add(Arguments.of(CI_SEEDS[i], o));
                }
            }
            return out.stream();
        }
        for (long seed : Arrays.stream(seeds.split(",")).mapToLong(s -> Long.parseLong(s.strip())).toArray()) {
            for (ParityOptions o : OPTIONS) {
                if (only.isBlank() || only.equals(o.name())) {
                    out.add(Arguments.of(seed, o));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "seed {0} {1}")
    @MethodSource("scenarios")
    void everyDeployLeavesWhatGitLeaves(long seed, ParityOptions all) throws Exception {
        ParityOptions options = all.selected();
        String scenario = options.name() + " seed=" + seed;
        String replay = "replay: mvn -B -o -Dtest=GitParityIT -Dparity.seeds=" + seed + " -Dparity.scenario="
                + options.name() + " -Dparity.steps=" + STEPS + " test";
        Random rnd = new Random(seed * 1_000_003L + options.name().hashCode());
        try (TwinRepos repos = TwinRepos.create(tmp, options.siteNames())) {
            Path lib = tmp.resolve("lib.git");
            List<ObjectId> libCommits = submoduleOrigin(repos, lib);
            CommitGenerator pushes = new CommitGenerator(rnd, new TreeWriter(repos.originRepo()), libCommits,
                    lib.toString(), true);
            ObjectId first = pushes.initial();
            repos.forcePush(first);
            repos.cloneAll();
            // a filter driver, configured alike on every side, chosen by .gitattributes (*.up filter=upper):
            // rot13 both ways, so that cleaning undoes smudging exactly (with one that does not, such as
            // upper-casing, git's own answer to "is this file edited?" depends on its stat cache's timing)
            repos.configAll("filter.upper.smudge", "tr A-Za-z N-ZA-Mn-za-m");
            repos.configAll("filter.upper.clean", "tr A-Za-z N-ZA-Mn-za-m");

            long t0 = System.nanoTime();
            try (ParityRun run = new ParityRun(scenario, replay, options, repos)) {
                LocalEdits edits = new LocalEdits(rnd, run::liveTrees);
                WorkTreeState state = WorkTreeState.capture(repos, repos.twin);
                ObjectId deployed = first;
                String carried = "";
                for (int step = 1; step <= STEPS && run.anyLive(); step++) {
                    CommitGenerator.Push push = pushes.next();
                    Collection<String> coming = push.refusal() == null
                            ? LocalEdits.addedFiles(repos.originRepo(), deployed, push.tip()) : List.of();
                    String local = rnd.nextInt(3) == 0 ? "" : edits.apply(1 + rnd.nextInt(3), state, coming);
                    String story = ParityRun.story(carried + local, push.story());
                    repos.forcePush(push.tip());
                    if (push.refusal() != null) {
                        run.deployRefused(step, story, push.refusal().mentions);
                        // what was edited stays edited: the next deploy (and the twin's stash) still meets it
                        carried = carried + (local.isEmpty() ? "" : "(before the refusal) " + local + "; ");
                        continue;
                    }
                    state = run.deployAndCompare(step, story, !(carried + local).isEmpty());
                    deployed = push.tip();
                    carried = "";
                    if (rnd.nextInt(6) == 0) {
                        String racy = edits.sameSecondEdit(state);
                        carried = racy == null ? "" : racy + "; ";
                    }
                }
                System.out.printf("parity %s: %s; %d ms in all%n", scenario, run.summary(),
                        (System.nanoTime() - t0) / 1_000_000);
                run.finish();
            }
        }
    }

    /** A second origin with three commits, for the gitlink at ext/lib. */
    private static List<ObjectId> submoduleOrigin(TwinRepos repos, Path lib) throws Exception {
        repos.git(repos.root, "init", "-q", "--bare", "-b", "main", lib.toString());
        List<ObjectId> commits = new ArrayList<>();
        try (Repository r = new FileRepositoryBuilder().setGitDir(lib.toFile()).setMustExist(true).build()) {
            TreeWriter writer = new TreeWriter(r);
            ObjectId parent = null;
            for (int v = 1; v <= 3; v++) {
                Map<String, TreeWriter.Leaf> files = new java.util.TreeMap<>();
                files.put("version.txt", new TreeWriter.File(("v" + v + "\n").getBytes(StandardCharsets.UTF_8), false));
                files.put("src/lib-" + v + ".txt", new TreeWriter.File(("lib " + v + "\n").getBytes(StandardCharsets.UTF_8), false));
                files.put("bin/tool", new TreeWriter.File("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8), v != 2));
                parent = writer.commit(files, List.of(), parent, "lib v" + v);
                commits.add(parent);
            }
            var update = r.updateRef("refs/heads/main");
            update.setNewObjectId(parent);
            update.forceUpdate();
        }
        return commits;
    }
}
