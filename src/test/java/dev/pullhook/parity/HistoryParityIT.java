package dev.pullhook.parity;

import dev.pullhook.testing.TreeWriter;
import dev.pullhook.testing.TwinRepos;
import dev.pullhook.testing.WorkTreeState;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Parity over a realistic history: this project's own first-parent commits (the repository the tests run
 * in), pushed to a bare origin forwards (one to four commits at a time, as pushes come), backwards and in
 * random jumps (forced), deployed by pullhook and by git, compared after every step, with light local edits
 * now and then. When the checkout has no usable
 * history (shallow, fewer than 30 commits) a generated one of 90 commits stands in, and the log says so.
 *
 * <p>Both engines walk the same steps side by side against one git twin: the fast one (tree watch on) all
 * {@value #STEPS}, jgit (watch off) the first {@value #JGIT_STEPS} (the first stretch forwards), to keep the
 * suite's time down ({@code -Dparity.steps=300 -Dparity.jgit.steps=300} walks further). Replay: {@code mvn -B -o -Dtest=HistoryParityIT -Dparity.seed=<seed>
 * test}; knobs as in {@link GitParityIT}, plus {@code -Dparity.jgit.steps=<n>}, {@code -Dparity.edits=false}
 * (the pushes alone) and {@code -Dparity.history=generated} (the stand-in history even when this one is there).
 */
class HistoryParityIT {
    static final int STEPS = 80;
    static final int JGIT_STEPS = 20;
    private static final long SEED = Long.getLong("parity.seed", 90L);
    private static final int MIN_COMMITS = 30;
    /** {@code -Dparity.edits=false}: no local edits, the pushes alone (to tell the two kinds of difference apart). */
    private static final boolean EDITS = !"false".equals(System.getProperty("parity.edits"));

    @TempDir
    Path tmp;

    @Test
    void bothEnginesLeaveWhatGitLeavesOverTheProjectsHistory() {
        walk(new ParityOptions(false, false, List.of(new ParityOptions.Engine("fast", true),
                new ParityOptions.Engine("jgit", false))).selected(), Integer.getInteger("parity.steps", STEPS), SEED);
    }

    private void walk(ParityOptions options, int steps, long seed) {
        Random rnd = new Random(seed);
        try (TwinRepos repos = TwinRepos.create(tmp, options.siteNames())) {
            boolean forced = "generated".equals(System.getProperty("parity.history"));
            List<ObjectId> commits = forced ? List.of() : projectHistory(repos);
            String source = "this project's history";
            if (commits.size() < MIN_COMMITS) {
                System.out.println("parity history: " + (forced ? "-Dparity.history=generated"
                        : "no usable project history (" + commits.size() + " first-parent commits, shallow clone?)")
                        + ": walking a generated history of 90 commits instead");
                commits = generatedHistory(repos, new Random(seed), 90);
                source = "a generated history";
            }
            List<Integer> plan = plan(commits.size(), rnd, steps);
            String scenario = "history " + options.name() + " seed=" + seed + " (" + source + ", " + commits.size()
                    + " commits)";
            String replay = "replay: mvn -B -o -Dtest=HistoryParityIT -Dparity.seed=" + seed + " test";

            repos.forcePush(commits.get(0));
            repos.cloneAll();
            long t0 = System.nanoTime();
            try (ParityRun run = new ParityRun(scenario, replay, options, repos)) {
                LocalEdits edits = new LocalEdits(rnd, run::liveTrees);
                WorkTreeState state = WorkTreeState.capture(repos, repos.twin);
                int at = 0;
                String carried = "";
                for (int step = 1; step <= plan.size() && run.anyLive(); step++) {
                    if (step == Integer.getInteger("parity.jgit.steps", JGIT_STEPS) + 1) {
                        run.retire("jgit");
                    }
                    int next = plan.get(step - 1);
                    ObjectId target = commits.get(next);
                    String local = "";
                    if (rnd.nextInt(5) == 0 && EDITS) {
                        Collection<String> coming = LocalEdits.addedFiles(repos.originRepo(), commits.get(at), target);
                        local = edits.apply(1, state, coming);
                    }
                    repos.forcePush(target);
                    String story = ParityRun.story(carried + local,
                            "commit #" + at + " -> #" + next + " (" + target.abbreviate(7).name() + ")");
                    state = run.deployAndCompare(step, story, !(carried + local).isEmpty());
                    at = next;
                    carried = "";
                    if (rnd.nextInt(10) == 0 && EDITS) {
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

    /**
     * Forwards to the newest commit in strides of one to four, a fifth of the way back one by one, then
     * random jumps and single steps either way: {@code steps} commit indexes, never the one before.
     */
    static List<Integer> plan(int n, Random rnd, int steps) {
        List<Integer> out = new ArrayList<>();
        int at = 0;
        while (at < n - 1 && out.size() < steps) {
            out.add(at = Math.min(n - 1, at + 1 + rnd.nextInt(4)));
        }
        for (int k = 0; k < n / 5 && out.size() < steps; k++) {
            out.add(--at);
        }
        while (out.size() < steps) {
            int d = rnd.nextInt(10);
            int next = d < 4 ? rnd.nextInt(n) : d < 7 ? Math.min(n - 1, at + 1) : Math.max(0, at - 1);
            if (next != at) {
                out.add(at = next);
            }
        }
        return out;
    }

    /** The first-parent commits of the repository the tests run in, oldest first, copied into the origin. */
    private static List<ObjectId> projectHistory(TwinRepos repos) {
        Path here = Path.of(System.getProperty("user.dir"));
        try {
            String top = new String(repos.git(here, "rev-parse", "--show-toplevel"), StandardCharsets.UTF_8).strip();
            String shallow = new String(repos.git(here, "rev-parse", "--is-shallow-repository"), StandardCharsets.UTF_8).strip();
            if (shallow.equals("true")) {
                return List.of();
            }
            repos.git(repos.origin, "fetch", "-q", "--no-tags", top, "+HEAD:refs/heads/main");
            List<ObjectId> out = new ArrayList<>();
            for (String line : new String(repos.git(repos.origin, "rev-list", "--first-parent", "--reverse", "main"),
                    StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    out.add(ObjectId.fromString(line.strip()));
                }
            }
            return out;
        } catch (IllegalStateException e) {
            System.out.println("parity history: cannot read the project's history: " + e.getMessage());
            return List.of();
        }
    }

    /** A stand-in history: {@code n} commits of the generator's random changes (no refusals, no gitlinks). */
    private static List<ObjectId> generatedHistory(TwinRepos repos, Random rnd, int n) {
        CommitGenerator generator = new CommitGenerator(rnd, new TreeWriter(repos.originRepo()), List.of(), "", false);
        Set<ObjectId> commits = new LinkedHashSet<>();
        commits.add(generator.initial());
        while (commits.size() < n) {
            commits.add(generator.next().tip());
        }
        return new ArrayList<>(commits);
    }
}
