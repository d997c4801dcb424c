package dev.pullhook.testing;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * What a hostile deploy may not change, taken before it and checked after it: the world outside the site
 * (a canary folder and the site's neighbours), the parts of the site's {@code .git} that decide what git
 * runs ({@code config}, {@code hooks/}, {@code info/}), and, for a deploy that must be refused, the site's
 * HEAD and every file of its working tree. Everything is seen by {@code lstat}; nothing is followed.
 */
public final class Containment {
    private final Path site;
    private final Path world;
    private final List<String> ignored;
    private final State before;

    /** The snapshots one check compares. */
    public record State(DiskSnapshot outside, DiskSnapshot gitMeta, DiskSnapshot workTree, String head) {
    }

    private Containment(Path site, Path world, List<String> ignored) {
        this.site = site;
        this.world = world;
        this.ignored = List.copyOf(ignored);
        this.before = capture(site, world, ignored);
    }

    /**
     * Takes the snapshots now.
     *
     * @param site  the working copy
     * @param world a folder holding the site, its neighbours and the canary; the {@code ignored} paths under it
     *              (relative, e.g. {@code repos/origin.git}) are the test's own and not looked at
     */
    public static Containment watch(Path site, Path world, List<String> ignored) {
        return new Containment(site, world, ignored);
    }

    /** The state of {@code site} and {@code world} now. */
    public static State capture(Path site, Path world, List<String> ignored) {
        String siteRel = world.relativize(site).toString();
        List<String> skip = new ArrayList<>(ignored);
        skip.add(siteRel);
        Predicate<String> outsideSkip = rel -> skip.stream().anyMatch(s -> rel.equals(s) || rel.startsWith(s + "/"));
        DiskSnapshot outside = DiskSnapshot.of(world, outsideSkip);
        DiskSnapshot gitMeta = DiskSnapshot.of(site.resolve(Constants.DOT_GIT), rel -> !(rel.isEmpty()
                || rel.equals("config") || under(rel, "hooks") || under(rel, "info")));
        DiskSnapshot workTree = DiskSnapshot.of(site, rel -> under(rel, Constants.DOT_GIT));
        return new State(outside, gitMeta, workTree, head(site));
    }

    private static boolean under(String rel, String folder) {
        return rel.equals(folder) || rel.startsWith(folder + "/");
    }

    /** The commit HEAD names, or a description of why it cannot be read. */
    public static String head(Path site) {
        try (Repository r = new FileRepositoryBuilder().setWorkTree(site.toFile()).setMustExist(true).setup().build()) {
            ObjectId id = r.resolve(Constants.HEAD);
            return id == null ? "(no HEAD)" : id.name();
        } catch (Exception e) {
            return "(unreadable: " + e + ")";
        }
    }

    public State before() {
        return before;
    }

    /**
     * A refused deploy: nothing outside, nothing in {@code .git}'s config, hooks or info, no file of the
     * working tree and not HEAD changed.
     */
    public void assertSiteUnchanged(String what) {
        State after = capture(site, world, ignored);
        List<String> problems = new ArrayList<>();
        problems.addAll(outsideAndGitProblems(after));
        if (!Objects.equals(before.head, after.head)) {
            problems.add("HEAD moved: " + before.head + " => " + after.head);
        }
        before.workTree.diff(after.workTree).forEach(l -> problems.add("working tree " + l));
        report(what, problems);
    }

    /** Any deploy: nothing outside the site and nothing in {@code .git}'s config, hooks or info changed. */
    public void assertContained(String what) {
        report(what, outsideAndGitProblems(capture(site, world, ignored)));
    }

    private List<String> outsideAndGitProblems(State after) {
        List<String> problems = new ArrayList<>();
        before.outside.diff(after.outside).forEach(l -> problems.add("OUTSIDE the site " + l));
        before.gitMeta.diff(after.gitMeta).forEach(l -> problems.add("git metadata " + l));
        return problems;
    }

    private static void report(String what, List<String> problems) {
        if (!problems.isEmpty()) {
            fail(what + ": " + problems.size() + " change(s) that must not happen:\n  " + String.join("\n  ", problems));
        }
    }
}
