package dev.pullhook.parity;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of one differential scenario: what the git twin does besides fetch and reset ({@code clean}:
 * {@code git clean -fd}; {@code submodules}: the submodule update), and the pullhook sites deployed next to
 * it, each with its engine and tree watch. One twin serves every site: git's work is done once a step.
 */
record ParityOptions(boolean clean, boolean submodules, List<Engine> sites) {

    /** One pullhook site: {@code git.engine} and {@code deploy.watch}. */
    record Engine(String engine, boolean watch) {
        String name() {
            return engine + (watch ? "-watch" : "-nowatch");
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * These options with only the engines named in {@code -Dparity.engines} (e.g. {@code fast}), for replaying
     * one engine; all of them when it is not set.
     */
    ParityOptions selected() {
        String only = System.getProperty("parity.engines", "");
        if (only.isBlank()) {
            return this;
        }
        List<String> names = List.of(only.split(","));
        return new ParityOptions(clean, submodules, sites.stream().filter(e -> names.contains(e.engine())).toList());
    }

    /** The working copy names for the sites, in order. */
    List<String> siteNames() {
        return sites.stream().map(e -> "site-" + e.name()).toList();
    }

    /** e.g. {@code clean-submodules}; picks a scenario on the command line ({@code -Dparity.scenario}). */
    String name() {
        return (clean ? "clean" : "noclean") + "-" + (submodules ? "submodules" : "nosubmodules");
    }

    @Override
    public String toString() {
        return name() + " " + sites;
    }

    /** The daemon's config keys every site shares (the sites' own are set by {@link ParityRun}). */
    Map<String, String> keys() {
        Map<String, String> k = new HashMap<>();
        k.put("deploy.clean", Boolean.toString(clean));
        k.put("deploy.submodules", Boolean.toString(submodules));
        if (submodules) {
            k.put("deploy.submodules.allow", "file");  // the test's submodule origin is a local path
        }
        k.put("deploy.local.changes", "stash");
        k.put("deploy.on.start", "false");
        return k;
    }
}
