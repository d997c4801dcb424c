package dev.pullhook.config;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * How a site's git work is done and what pushed content it trusts ({@code git.engine}, {@code git.fsck},
 * {@code deploy.submodules.allow}). Validated by {@link ConfigLoader}.
 *
 * @param engine          {@link Engine}
 * @param fsck            fetched objects are checked as {@code transfer.fsckObjects=true} checks them
 * @param submoduleSchemes the URL kinds a submodule may use beyond {@code https}, {@code ssh} and scp-like
 *                        ones: {@code file} (also plain local paths) and {@code http}; empty by default
 */
public record GitOptions(Engine engine, boolean fsck, Set<String> submoduleSchemes) {
    /** What {@code deploy.submodules.allow} may name. */
    public static final Set<String> ALLOWABLE_SCHEMES = Set.of("file", "http");
    public static final GitOptions DEFAULT = new GitOptions(Engine.FAST, true, Set.of());

    public GitOptions {
        submoduleSchemes = Set.copyOf(submoduleSchemes);
    }

    /** {@code git.engine}. */
    public enum Engine {
        /** pullhook's optimisations of the JGit reference, which fall back to it where they do not apply */
        FAST,
        /** JGit's own fetch, reset, stash and clean on every deploy (plus pullhook's safety checks) */
        JGIT
    }

    @Override
    public String toString() {
        return "git.engine=" + engine.name().toLowerCase(Locale.ROOT) + " git.fsck=" + fsck
                + " deploy.submodules.allow=\"" + String.join(", ", new TreeSet<>(submoduleSchemes)) + "\"";
    }
}
