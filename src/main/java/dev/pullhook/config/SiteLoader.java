package dev.pullhook.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * One site's keys, resolved by {@link ConfigLoader} (the site's own, its environment variable, the
 * top-level key, the default), checked into a {@link SiteConfig}: every value of its type and range, the
 * working copy as the git layer sees it ({@link RepoCheck}), its secrets ({@link SecretFinder}), how its
 * deploys are reported ({@link ReportOptions}). Problems
 * name the site's own keys ({@code site.blog.repo.path}).
 */
final class SiteLoader {
    /** The working-copy checks, from the git layer (config reads no repository itself). */
    private static final RepoCheck REPO = RepoCheck.find();

    private final Map<String, String> env;
    private final Consumer<String> warnings;
    private final Map<String, Path> installedCredentials;
    private final boolean secretsNeeded;

    SiteLoader(Map<String, String> env, Consumer<String> warnings, Map<String, Path> installedCredentials,
               boolean secretsNeeded) {
        this.env = env;
        this.warnings = warnings;
        this.installedCredentials = installedCredentials;
        this.secretsNeeded = secretsNeeded;
    }

    /** One site from its resolved keys; problems name the site's own keys. Null when it has problems. */
    SiteConfig site(String name, Map<String, String> v, Path baseDir, List<String> problems) {
        String p = name.isEmpty() ? "" : "site." + name + ".";
        int before = problems.size();
        Values values = new Values(p, v, problems);
        String remote = values.string("repo.remote");
        String branch = values.string("repo.branch");
        long gitTimeout = values.number("git.timeout.seconds", 1, 3600);
        long history = values.number("deploy.history.size", 1, 10_000);
        DeployOptions deploy = deployOptions(p, v, values, problems);
        DeployOptions.Mode mode = deploy.mode();
        long poll = deploy.poll().toSeconds();
        GitOptions.Engine engine = values.choice("git.engine", GitOptions.Engine.class);
        boolean fsck = values.bool("git.fsck");
        Set<String> schemes = schemes(p + "deploy.submodules.allow", v.get("deploy.submodules.allow"), problems);
        if (poll > 0 && poll < 5) {
            problems.add(p + "deploy.poll.seconds: " + poll + " is too often; use 0 (off) or 5 and more");
        }
        if (remote != null && !remote.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            problems.add(p + "repo.remote: \"" + remote + "\" is not a remote name");
            remote = null;
        }
        String why = branch == null ? null : REPO.branchNameProblem(branch);
        if (why != null) {
            problems.add(p + "repo.branch: " + why);
            branch = null;
        }
        Path repoPath = mode == DeployOptions.Mode.ATOMIC
                ? atomicRepoPath(p, v.get("repo.path"), remote, baseDir, problems)
                : repoPath(p, v.get("repo.path"), remote, branch, baseDir, problems);
        SecretFinder secrets = new SecretFinder(env, warnings, installedCredentials, secretsNeeded, baseDir, problems);
        Secret secret = secrets.webhookSecret(p, name, v.get("webhook.secret.file"));
        Secret signingKey = secrets.signingKey(p, name, v.get("webhook.signing.key.file"));
        GitAuth gitAuth = secrets.gitAuth(p, name, v);
        ReportOptions report = report(p, name, v, secrets, problems);
        List<String> allowFrom = IpRange.list(p + "webhook.allow.from", v.get("webhook.allow.from"), problems);
        Path stateDir = v.containsKey("state.dir") ? baseDir.resolve(v.get("state.dir")).normalize()
                : repoPath == null ? null : mode == DeployOptions.Mode.ATOMIC
                ? repoPath.resolve(RepoCheck.RELEASE_STORE).resolve("pullhook") : REPO.defaultStateDir(repoPath);
        if (problems.size() > before) {
            return null;
        }
        return new SiteConfig(name, repoPath, remote, branch, secret, Duration.ofSeconds(gitTimeout), (int) history,
                deploy.withStateDir(stateDir), gitAuth, allowFrom, new GitOptions(engine, fsck, schemes), signingKey,
                report);
    }

    /**
     * The {@code deploy.*} keys but {@code deploy.history.size}, in the order their problems are reported; the
     * state folder is left null: its default depends on {@code repo.path}, read later.
     */
    private static DeployOptions deployOptions(String p, Map<String, String> v, Values values, List<String> problems) {
        DeployOptions.LocalChanges localChanges = values.choice("deploy.local.changes", DeployOptions.LocalChanges.class);
        boolean clean = values.bool("deploy.clean");
        long lockStale = values.number("deploy.lock.stale.seconds", 1, 86_400);
        long lockWait = values.number("deploy.lock.wait.seconds", 0, 3600);
        long deployTimeout = values.number("deploy.timeout.seconds", 1, 86_400);
        boolean onStart = values.bool("deploy.on.start");
        long poll = values.number("deploy.poll.seconds", 0, 86_400);
        String command = v.get("deploy.command");
        long commandTimeout = values.number("deploy.command.timeout.seconds", 1, 86_400);
        boolean submodules = values.bool("deploy.submodules");
        boolean watch = values.bool("deploy.watch");
        CheckOptions check = check(p, v, values, problems);
        boolean rollbackOnFailure = values.bool("deploy.rollback.on.failure");
        DeployOptions.Mode mode = mode(p, v.get("deploy.mode"), problems);
        long keepReleases = values.number("deploy.keep.releases", 1, 1000);
        if (mode == DeployOptions.Mode.ATOMIC && submodules) {
            problems.add(p + "deploy.submodules: not supported with deploy.mode=atomic yet (set it false, or use"
                    + " deploy.mode=in-place)");
        }
        return new DeployOptions(localChanges, clean, Duration.ofSeconds(lockStale), Duration.ofSeconds(lockWait),
                Duration.ofSeconds(deployTimeout), onStart, Duration.ofSeconds(poll), command,
                Duration.ofSeconds(commandTimeout), submodules, watch, null, check, rollbackOnFailure, mode,
                (int) keepReleases);
    }

    /**
     * {@code repo.path}, resolved: a folder this user can read, a working copy of {@code remote} with
     * {@code branch} checked out ({@link RepoCheck}). Null when missing.
     */
    private static Path repoPath(String p, String repo, String remote, String branch, Path baseDir,
                                 List<String> problems) {
        if (repo == null) {
            problems.add(p + "repo.path: missing (the git working copy to deploy, e.g. /srv/www/site)");
            return null;
        }
        Path repoPath = baseDir.resolve(repo).normalize();
        String denied = FileAccess.explain(repoPath, FileAccess.Need.READ);
        if (denied == null && Files.isDirectory(repoPath.resolve(".git"))) {
            denied = FileAccess.explain(repoPath.resolve(".git"), FileAccess.Need.READ);
        }
        if (denied != null) {
            problems.add(p + "repo.path: cannot open " + repoPath + ": " + denied);
        } else {
            for (String problem : REPO.problems(repoPath, remote, branch)) {
                problems.add(p + problem);
            }
        }
        return repoPath;
    }

    /** {@code deploy.mode}: {@code in-place} or {@code atomic}. */
    private static DeployOptions.Mode mode(String p, String value, List<String> problems) {
        for (DeployOptions.Mode m : DeployOptions.Mode.values()) {
            if (m.toString().equalsIgnoreCase(value == null ? "" : value.strip())) {
                return m;
            }
        }
        problems.add(p + "deploy.mode: \"" + value + "\" is not one of in-place, atomic");
        return DeployOptions.Mode.IN_PLACE;
    }

    /**
     * {@code repo.path} for {@code deploy.mode=atomic}: a folder holding the shared git repository
     * {@code repo.git} (bare), the {@code releases/} folder and the {@code current} link; not a working copy.
     */
    private static Path atomicRepoPath(String p, String repo, String remote, Path baseDir, List<String> problems) {
        if (repo == null) {
            problems.add(p + "repo.path: missing (the folder of the releases, e.g. /srv/www/site)");
            return null;
        }
        Path repoPath = baseDir.resolve(repo).normalize();
        String denied = FileAccess.explain(repoPath, FileAccess.Need.READ);
        if (denied != null) {
            problems.add(p + "repo.path: cannot open " + repoPath + ": " + denied);
            return repoPath;
        }
        for (String problem : REPO.atomicProblems(repoPath, remote)) {
            problems.add(p + problem);
        }
        return repoPath;
    }

    /** {@code deploy.check.*}: the URL must be an absolute http or https URL with a host. */
    private static CheckOptions check(String p, Map<String, String> v, Values values, List<String> problems) {
        String command = v.get("deploy.check.command");
        long status = values.number("deploy.check.status", 100, 599);
        long timeout = values.number("deploy.check.timeout.seconds", 1, 3600);
        long retries = values.number("deploy.check.retries", 0, 100);
        URI url = null;
        String raw = v.get("deploy.check.url");
        if (raw != null) {
            try {
                url = new URI(raw);
                String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
                if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
                    problems.add(p + "deploy.check.url: not an http or https URL with a host"
                            + " (e.g. http://127.0.0.1/health)");
                    url = null;
                } else if (url.getUserInfo() != null) {
                    problems.add(p + "deploy.check.url: must not hold a user name or password");
                    url = null;
                }
            } catch (URISyntaxException e) {
                problems.add(p + "deploy.check.url: not a URL (" + e.getReason() + ")");
            }
        }
        return new CheckOptions(command, url, (int) status, Duration.ofSeconds(timeout), (int) retries);
    }

    /** {@code report.*}, when {@code report.host} is set (the other keys alone only warn); else null. */
    private ReportOptions report(String p, String name, Map<String, String> v, SecretFinder secrets,
                                 List<String> problems) {
        if (!v.containsKey("report.host")) {
            if (v.keySet().stream().anyMatch(k -> k.startsWith("report."))) {
                warnings.accept(p + "report.host: not set, so the other report.* keys do nothing (no deploy is reported)");
            }
            return null;
        }
        return ReportOptions.parse(p, name, v, secrets.reportToken(p, name, v), !secretsNeeded, problems, warnings);
    }

    /** {@code deploy.submodules.allow}: a comma-separated list of {@link GitOptions#ALLOWABLE_SCHEMES}. */
    private static Set<String> schemes(String key, String value, List<String> problems) {
        Set<String> out = new TreeSet<>();
        if (value == null) {
            return out;
        }
        for (String part : value.split(",")) {
            String s = part.strip().toLowerCase(Locale.ROOT);
            if (s.isEmpty()) {
                continue;
            }
            if (!GitOptions.ALLOWABLE_SCHEMES.contains(s)) {
                problems.add(key + ": \"" + part.strip() + "\" is not one of file, http (https, ssh and scp-like"
                        + " URLs are always allowed; ext:: and option-like URLs never are)");
            } else {
                out.add(s);
            }
        }
        return out;
    }
}
