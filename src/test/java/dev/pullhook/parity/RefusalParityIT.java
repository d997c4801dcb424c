package dev.pullhook.parity;

import dev.pullhook.testing.TreeWriter;
import dev.pullhook.testing.TreeWriter.File;
import dev.pullhook.testing.TreeWriter.Leaf;
import dev.pullhook.testing.TreeWriter.RawPath;
import dev.pullhook.testing.TwinRepos;
import dev.pullhook.testing.WorkTreeState;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Trees pullhook cannot write the way git would (a path that is not valid UTF-8, {@code ident}, {@code
 * working-tree-encoding}) are refused, every time, before anything changes: a 500 naming the path or attribute,
 * and the site exactly as before (HEAD, index, stash, local edits, every file). The push that fixes the tree
 * then deploys like git. Both engines, with local edits waiting in the working copy. The random scenarios of
 * {@link GitParityIT} push such trees too, but only now and then.
 */
class RefusalParityIT {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(CommitGenerator.Refusal.class)
    void treeGitWouldWriteDifferentlyIsRefusedBeforeAnythingChanges(CommitGenerator.Refusal kind) throws Exception {
        ParityOptions options = new ParityOptions(false, false, List.of(new ParityOptions.Engine("fast", true),
                new ParityOptions.Engine("jgit", false))).selected();
        try (TwinRepos repos = TwinRepos.create(tmp, options.siteNames())) {
            TreeWriter writer = new TreeWriter(repos.originRepo());
            Map<String, Leaf> files = new TreeMap<>();
            files.put("README.md", text("the site\n"));
            files.put("docs/guide.txt", text("a guide\n"));
            files.put(".gitattributes", text("*.txt text\n"));
            ObjectId first = writer.commit(files, List.of(), null, "first");
            repos.forcePush(first);
            repos.cloneAll();
            String replay = "replay: mvn -B -o -Dtest=RefusalParityIT test";
            try (ParityRun run = new ParityRun("refusal " + kind, replay, options, repos)) {
                files.put("docs/more.txt", text("more\n"));
                ObjectId second = writer.commit(files, List.of(), first, "second");
                repos.forcePush(second);
                run.deployAndCompare(1, ParityRun.story("", "a plain commit"), false);

                // local work that a refused deploy must leave exactly as it is
                for (Path tree : run.liveTrees()) {
                    Files.writeString(tree.resolve("docs/guide.txt"), "edited on the server\n");
                    Files.writeString(tree.resolve("notes.tmp"), "untracked\n");
                }
                Map<String, Leaf> bad = new TreeMap<>(files);
                List<RawPath> raw = new ArrayList<>();
                kind.apply(bad, raw);
                ObjectId refused = writer.commit(bad, raw, second, "refused");
                repos.forcePush(refused);
                String local = "edit docs/guide.txt; untracked notes.tmp";
                run.deployRefused(2, ParityRun.story(local, "must be refused: " + kind), kind.mentions);

                // a second delivery of the same push is refused the same way
                run.deployRefused(3, ParityRun.story(local, "the same push again: " + kind), kind.mentions);

                files.put("docs/fixed.txt", text("fixed\n"));
                ObjectId fixed = writer.commit(files, List.of(), refused, "fixed");
                repos.forcePush(fixed);
                WorkTreeState after = run.deployAndCompare(4, ParityRun.story(local + " (still there)",
                        "the fix on top of the refused commit"), true);
                run.finish();
                if (after.index().isEmpty()) {
                    throw new IllegalStateException("the twin has an empty index: the test did not deploy");
                }
            }
        }
    }

    private static File text(String s) {
        return RandomFiles.text(s);
    }
}
