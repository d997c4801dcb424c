package dev.pullhook.cli;

import dev.pullhook.config.DeployOptions;
import dev.pullhook.Site;
import dev.pullhook.config.FileAccess;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.GitException;
import dev.pullhook.git.WorkingCopy;
import org.eclipse.jgit.lib.ObjectId;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code pullhook check}: for each site of an already validated config, opens the working copy and asks the
 * remote for the branch tip with the configured credentials (an {@code ls-remote}: nothing is fetched, nothing
 * in the working copy changes), and prints what it found: the tip, HEAD, whether a deploy would change
 * anything, edited files a deploy would have to deal with, and whether a daemon holds the state folder.
 * Exit 0 when all is well, 1 when a working copy or remote fails, 2 when a state folder cannot be looked at.
 */
final class Check {
    private Check() {
    }

    static int run(List<SiteConfig> sites) {
        int worst = Cli.EXIT_OK;
        for (SiteConfig site : sites) {
            worst = Math.max(worst, check(site));
        }
        System.out.println(worst == Cli.EXIT_OK ? "check passed: " + sites.size() + (sites.size() == 1 ? " site" : " sites")
                : "check failed");
        return worst;
    }

    private static int check(SiteConfig site) {
        System.out.println("site " + (site.name().isEmpty() ? "default" : site.name()) + " (POST " + site.webhookPath()
                + "): " + site.repoPath());
        int status = stateDir(site);
        boolean atomic = site.deploy().mode() == DeployOptions.Mode.ATOMIC;
        try (WorkingCopy workingCopy = Site.workingCopy(site)) {
            workingCopy.gitDir();  // opens it: a working copy that went bad since the config check shows here
            Optional<ObjectId> head = workingCopy.head();
            line("HEAD", head.map(ObjectId::name).orElse("(no commit checked out)") + " on " + site.branch()
                    + (atomic ? " (the current release; deploy.mode=atomic)" : ""));
            List<String> edited = atomic ? List.of() : workingCopy.localChanges(10);
            if (!edited.isEmpty()) {
                line("local", "edited tracked files: " + String.join(", ", edited) + " (a deploy handles them as"
                        + " deploy.local.changes=" + site.deploy().localChanges().toString().toLowerCase(java.util.Locale.ROOT)
                        + " says)");
            }
            ObjectId tip = workingCopy.remoteTip();
            if (tip == null) {
                line("remote", "FAILED: " + site.remote() + " has no branch " + site.branch());
                return Math.max(status, Cli.EXIT_FAILED);
            }
            line("remote", site.remote() + "/" + site.branch() + " is at " + tip.name());
            boolean moves = head.map(h -> !h.equals(tip)).orElse(true);
            line("deploy", moves ? "would move HEAD " + head.map(h -> h.abbreviate(7).name()).orElse("(none)") + " -> "
                    + tip.abbreviate(7).name() : "would change nothing: HEAD is the remote tip"
                    + (edited.isEmpty() ? "" : " (but for the edited files)"));
            if (moves && !atomic && workingCopy.commit(tip.name()) != null) {
                // fetched already: what a deploy checks before writing anything (names, attributes, submodules)
                try {
                    workingCopy.plan(tip, workingCopy.localChanges(), site.deploy().submodules());
                } catch (GitException e) {
                    line("deploy", "FAILED: " + e.getMessage());
                    return Math.max(status, Cli.EXIT_FAILED);
                }
            }
            return status;
        } catch (GitException e) {
            line(e.phase() == GitException.Phase.FETCH ? "remote" : "repo", "FAILED: " + e.getMessage());
            return Math.max(status, Cli.EXIT_FAILED);
        }
    }

    /**
     * Whether a running daemon holds the state folder (which is fine), found without writing anything there:
     * a check run as root must not leave a root-owned lock file that the service user could then not open.
     */
    private static int stateDir(SiteConfig site) {
        Path dir = site.deploy().stateDir();
        try {
            switch (StateDir.probe(dir)) {
                case DAEMON -> line("state", dir + " (held by a running pullhook)");
                case FREE -> line("state", dir + " (no pullhook runs for this site)");
                case NOBODY_YET -> line("state", dir + " (not used yet: the daemon makes its files at start)");
            }
            return Cli.EXIT_OK;
        } catch (IOException e) {
            line("state", "FAILED: " + site.keyPrefix() + "state.dir: cannot tell whether a pullhook runs: "
                    + dir.resolve("lock") + ": " + FileAccess.explain(dir.resolve("lock"), FileAccess.Need.WRITE, e));
            return Cli.EXIT_CONFIG;
        }
    }

    private static void line(String what, String text) {
        System.out.printf("  %-7s %s%n", what, text);
    }
}
