package dev.pullhook.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a properties file, applies {@code PULLHOOK_*} environment overrides, finds the secrets and checks
 * every key, collecting all problems before failing once with a {@link ConfigException}.
 *
 * <p>Keys without a {@code site.} prefix describe the server and the unnamed site at {@code /pull-repo}.
 * {@code sites = blog, shop} adds named sites, each configured by {@code site.<name>.<key>} (e.g.
 * {@code site.blog.repo.path}) and served at {@code /pull-repo/<name>}; a site key it does not set falls
 * back to the same key without prefix, then to the default, except {@code repo.path}, the secret and
 * {@code state.dir}, which every site has of its own.
 *
 * <p>The environment is passed in (not read from {@link System#getenv()} here) so that tests can give
 * each daemon its own. Secrets are looked up in this order: the systemd credential in
 * {@code $CREDENTIALS_DIRECTORY}, the file named by {@code webhook.secret.file}, the environment, and last
 * the file the installed unit loads that credential from ({@code LoadCredential=webhook-secret:/etc/pullhook/secret}),
 * so that the command line, run outside systemd as root or as the service user, finds what the daemon finds.
 * That last place is given by the caller ({@link #ConfigLoader(Map, Consumer, Map)}), never assumed, so a
 * test never reads the machine's own install.
 */
public final class ConfigLoader {
    /** Every top-level key the daemon knows, with its default ({@code null}: no default). */
    static final Map<String, String> DEFAULTS = defaults();
    /** The keys a site may set; the others are the server's. */
    static final Set<String> SITE_KEYS = siteKeys();
    /** Site keys that never fall back to the top-level value: each site has its own. */
    static final Set<String> OWN_KEYS = Set.of("repo.path", "webhook.secret.file", "webhook.signing.key.file",
            "state.dir", "report.repo");
    static final String ENV_PREFIX = "PULLHOOK_";
    static final String SECRET_ENV = "PULLHOOK_SECRET";
    static final String SECRET_CREDENTIAL = "webhook-secret";
    static final String SIGNING_KEY_CREDENTIAL = "webhook-signing-key";
    static final String GIT_PASSWORD_CREDENTIAL = "git-password";
    static final String REPORT_TOKEN_CREDENTIAL = "report-token";
    /** Keys that would hold a secret in the config file itself: refused, pointing to their {@code .file} key. */
    private static final Set<String> INLINE_SECRETS = Set.of("webhook.secret", "webhook.signing.key", "report.token");
    private static final Pattern SITE_NAME = Pattern.compile("[a-z][a-z0-9_]{0,31}");
    private static final Pattern SITE_KEY = Pattern.compile("site\\.([^.]*)\\.(.+)");
    /** The working-copy checks, from the git layer (config reads no repository itself). */
    private static final RepoCheck REPO = RepoCheck.find();

    private final Map<String, String> env;
    private final Consumer<String> warnings;
    private final Map<String, Path> installedCredentials;
    private final boolean secretsNeeded;

    /**
     * @param env      the process environment (or a test's stand-in)
     * @param warnings receives problems that do not stop the daemon (e.g. a world-readable secret file)
     */
    public ConfigLoader(Map<String, String> env, Consumer<String> warnings) {
        this(env, warnings, Map.of());
    }

    /**
     * @param installedCredentials per systemd credential name ({@code webhook-secret}, {@code git-password}), the
     *                             file the installed unit loads it from: the last place a secret is looked for
     */
    public ConfigLoader(Map<String, String> env, Consumer<String> warnings, Map<String, Path> installedCredentials) {
        this(env, warnings, installedCredentials, true);
    }

    private ConfigLoader(Map<String, String> env, Consumer<String> warnings, Map<String, Path> installedCredentials,
                         boolean secretsNeeded) {
        this.env = Map.copyOf(env);
        this.warnings = warnings;
        this.installedCredentials = Map.copyOf(installedCredentials);
        this.secretsNeeded = secretsNeeded;
    }

    /**
     * The same, but a site's webhook secret (and signing key) is neither looked for nor required, for a
     * command that only reads the daemon's {@code /status}: the sites' secrets are then null.
     */
    public ConfigLoader withoutSecrets() {
        return new ConfigLoader(env, warnings, installedCredentials, false);
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("server.host", "127.0.0.1");
        d.put("server.port", "5000");
        d.put("server.trusted.proxies", "127.0.0.1, ::1");
        d.put("server.connections.per.client", "16");
        d.put("server.log.rejections.per.minute", "20");
        d.put("server.connections.max", "1024");
        d.put("server.header.timeout.seconds", "10");
        d.put("server.idle.timeout.seconds", "10");
        d.put("server.body.min.bytes.per.second", "1024");
        d.put("server.body.budget.bytes", Long.toString(16L * 1024 * 1024));
        d.put("server.deploy.log.followers.max", Integer.toString(HttpLimits.LOG_FOLLOWERS_DEFAULT));
        d.put("sites", null);
        d.put("repo.path", null);
        d.put("repo.remote", "origin");
        d.put("repo.branch", "main");
        d.put("webhook.secret.file", null);
        d.put("webhook.signing.key.file", null);
        d.put("webhook.allow.from", null);
        d.put("webhook.max.body.bytes", Long.toString(5L * 1024 * 1024));
        d.put("webhook.wait.timeout.seconds", "60");
        d.put("git.timeout.seconds", "60");
        d.put("git.engine", "fast");
        d.put("git.fsck", "true");
        d.put("git.ssh.key", null);
        d.put("git.ssh.known.hosts", null);
        d.put("git.https.username", null);
        d.put("git.https.password.file", null);
        d.put("shutdown.drain.seconds", "30");
        d.put("deploy.history.size", "50");
        d.put("deploy.local.changes", "stash");
        d.put("deploy.clean", "false");
        d.put("deploy.lock.stale.seconds", "120");
        d.put("deploy.lock.wait.seconds", "30");
        d.put("deploy.timeout.seconds", "300");
        d.put("deploy.on.start", "true");
        d.put("deploy.poll.seconds", "0");
        d.put("deploy.command", null);
        d.put("deploy.command.timeout.seconds", "300");
        d.put("deploy.submodules", "false");
        d.put("deploy.submodules.allow", null);
        d.put("deploy.watch", "true");
        d.put("state.dir", null);
        d.put("report.host", null);
        d.put("report.url", null);
        d.put("report.repo", null);
        d.put("report.token.file", null);
        d.put("report.context", null);
        d.put("report.link.url", null);
        return d;
    }

    private static Set<String> siteKeys() {
        Set<String> keys = new TreeSet<>();
        for (String k : DEFAULTS.keySet()) {
            if (k.startsWith("repo.") || k.startsWith("git.") || k.startsWith("deploy.") || k.startsWith("report.")
                    || k.equals("state.dir")
                    || k.equals("webhook.secret.file") || k.equals("webhook.signing.key.file")
                    || k.equals("webhook.allow.from")) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** The environment variable that overrides {@code key}: {@code server.port} → {@code PULLHOOK_SERVER_PORT}. */
    public static String envName(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * Loads {@code file} plus the environment, and validates everything. The file is UTF-8 (a byte-order mark
     * is skipped); a key set twice is a problem naming both lines.
     */
    public Config load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ConfigException(List.of("--config: " + file + " is not UTF-8 text; save it as UTF-8"));
        } catch (IOException e) {
            throw new ConfigException(List.of("--config: cannot read " + file + ": "
                    + FileAccess.explain(file, FileAccess.Need.READ, e)));
        }
        PropertiesFile parsed = PropertiesFile.parse(text);
        Map<String, String> raw = new LinkedHashMap<>();
        Map<String, Integer> lines = new HashMap<>();
        for (var e : parsed.entries().entrySet()) {
            raw.put(e.getKey(), e.getValue().value().strip());
            lines.put(e.getKey(), e.getValue().line());
        }
        return validate(raw, lines, parsed.problems(), file.toAbsolutePath().getParent());
    }

    /** Validates a map of keys (no file): used by the demo and by tests. Environment overrides still apply. */
    public Config fromMap(Map<String, String> values) throws ConfigException {
        Map<String, String> raw = new LinkedHashMap<>();
        values.forEach((k, v) -> raw.put(k, v.strip()));
        return validate(raw, Map.of(), List.of(), Path.of("").toAbsolutePath());
    }

    private Config validate(Map<String, String> fromFile, Map<String, Integer> lines, List<String> fileProblems,
                            Path baseDir) throws ConfigException {
        List<String> problems = new ArrayList<>(fileProblems);
        Map<String, String> top = new LinkedHashMap<>();
        Map<String, Map<String, String>> perSite = new LinkedHashMap<>();
        for (var e : fromFile.entrySet()) {
            String name = e.getKey();
            String where = lines.containsKey(name) ? " (line " + lines.get(name) + ")" : "";
            Matcher m = SITE_KEY.matcher(name);
            if (INLINE_SECRETS.contains(name) || (m.matches() && INLINE_SECRETS.contains(m.group(2)))) {
                problems.add(name + ": a secret may not be written in the config file;"
                        + " put it in a file named by " + name + ".file (mode 0600)");
            } else if (m.matches()) {
                if (!SITE_KEYS.contains(m.group(2))) {
                    String near = NearestKey.of(m.group(2), SITE_KEYS);
                    problems.add(name + ": unknown site key" + where + (near != null
                            ? "; did you mean site." + m.group(1) + "." + near + "?"
                            : " (a site may set: " + String.join(", ", SITE_KEYS) + ")"));
                } else {
                    perSite.computeIfAbsent(m.group(1), k -> new HashMap<>()).put(m.group(2), e.getValue());
                }
            } else if (!DEFAULTS.containsKey(name)) {
                String near = NearestKey.of(name, DEFAULTS.keySet());
                problems.add(name + ": unknown key" + where + (near != null ? "; did you mean " + near + "?"
                        : " (known keys: " + String.join(", ", DEFAULTS.keySet()) + ", and site.<name>.<key>)"));
            } else {
                top.put(name, e.getValue());
            }
        }
        Map<String, String> v = new LinkedHashMap<>();
        for (var e : DEFAULTS.entrySet()) {
            String key = e.getKey();
            String value = env.containsKey(envName(key)) ? env.get(envName(key)).strip() : top.get(key);
            if (value == null) {
                value = e.getValue();
            }
            if (value != null && !value.isEmpty()) {
                v.put(key, value);
            }
        }
        Values values = new Values("", v, problems);
        String host = values.string("server.host");
        int port = (int) values.number("server.port", 0, 65535);
        long maxBody = values.number("webhook.max.body.bytes", 1024, 1L << 30);
        long wait = values.number("webhook.wait.timeout.seconds", 1, 3600);
        long drain = values.number("shutdown.drain.seconds", 0, 3600);
        List<String> trustedProxies = addresses("server.trusted.proxies", v.get("server.trusted.proxies"), problems);
        long perClient = values.number("server.connections.per.client", 1, 10_000);
        long rejectionsLogged = values.number("server.log.rejections.per.minute", 1, 1_000_000);
        HttpLimits limits = limits(values, maxBody, perClient, problems);

        List<String> names = new ArrayList<>();
        if (v.containsKey("sites")) {
            for (String part : v.get("sites").split(",")) {
                String name = part.strip();
                if (name.isEmpty()) {
                    continue;
                }
                if (!SITE_NAME.matcher(name).matches()) {
                    problems.add("sites: \"" + name + "\" is not a simple word (a-z, 0-9, _; starting with a letter)");
                } else if (name.equals("default")) {
                    problems.add("sites: \"default\" is reserved (it names the unnamed site in /metrics)");
                } else if (names.contains(name)) {
                    problems.add("sites: \"" + name + "\" is listed twice");
                } else {
                    names.add(name);
                }
            }
        }
        for (String site : perSite.keySet()) {
            if (!names.contains(site)) {
                String near = NearestKey.of(site, names);
                problems.add("site." + site + ".*: there is no site \"" + site + "\" in sites"
                        + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")")
                        + (near == null ? "" : "; did you mean site." + near + ".*?"));
            }
        }
        List<SiteConfig> sites = new ArrayList<>();
        if (v.containsKey("repo.path") || names.isEmpty()) {
            sites.add(site("", v, baseDir, problems));
        }
        for (String name : names) {
            Map<String, String> sv = new LinkedHashMap<>();
            Map<String, String> own = perSite.getOrDefault(name, Map.of());
            for (String key : SITE_KEYS) {
                String envKey = envName("site." + name + "." + key);
                String value = env.containsKey(envKey) ? env.get(envKey).strip() : own.get(key);
                if (value == null && !OWN_KEYS.contains(key)) {
                    value = v.get(key);
                }
                if (value != null && !value.isEmpty()) {
                    sv.put(key, value);
                }
            }
            sites.add(site(name, sv, baseDir, problems));
        }
        sites.removeIf(java.util.Objects::isNull);
        Map<Path, String> seen = new HashMap<>();
        for (SiteConfig s : sites) {
            String other = seen.putIfAbsent(s.repoPath(), s.name());
            if (other != null) {
                problems.add(s.keyPrefix() + "repo.path: " + s.repoPath() + " is already deployed by "
                        + (other.isEmpty() ? "the unnamed site" : "site " + other));
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new Config(host, port, maxBody, Duration.ofSeconds(wait), Duration.ofSeconds(drain), trustedProxies,
                (int) perClient, (int) rejectionsLogged, limits, List.copyOf(sites));
    }

    /** The {@code server.*} limits that keep memory bounded and the server answering (see {@link HttpLimits}). */
    private static HttpLimits limits(Values values, long maxBody, long perClient, List<String> problems) {
        int before = problems.size();
        long max = values.number("server.connections.max", 16, 100_000);
        long header = values.number("server.header.timeout.seconds", 1, 3600);
        long idle = values.number("server.idle.timeout.seconds", 1, 3600);
        long minRate = values.number("server.body.min.bytes.per.second", 0, 1L << 30);
        long budget = values.number("server.body.budget.bytes", 1024, 1L << 40);
        // each follower holds one of the 64 HTTP threads while it reads: at most half of them
        long followers = values.number("server.deploy.log.followers.max", 0, 32);
        if (problems.size() == before) {
            if (perClient > max) {
                problems.add("server.connections.per.client: " + perClient + " is more than server.connections.max ("
                        + max + ")");
            }
            if (budget < maxBody) {
                problems.add("server.body.budget.bytes: " + budget + " is less than webhook.max.body.bytes (" + maxBody
                        + "); a body of the largest allowed size could never be read");
            }
            // the bodies must fit in the heap next to everything else, or the budget bounds nothing
            long heap = Runtime.getRuntime().maxMemory();
            if (budget > heap / 2) {
                problems.add("server.body.budget.bytes: " + budget + " is more than half the Java heap (" + heap
                        + " bytes, -Xmx); lower it, or raise -Xmx in the systemd unit");
            }
        }
        return new HttpLimits((int) max, Duration.ofSeconds(header), Duration.ofSeconds(idle), minRate, budget,
                (int) followers);
    }

    /** One site from its resolved keys; problems name the site's own keys. Null when it has problems. */
    private SiteConfig site(String name, Map<String, String> v, Path baseDir, List<String> problems) {
        String p = name.isEmpty() ? "" : "site." + name + ".";
        int before = problems.size();
        Values values = new Values(p, v, problems);
        String remote = values.string("repo.remote");
        String branch = values.string("repo.branch");
        long gitTimeout = values.number("git.timeout.seconds", 1, 3600);
        long history = values.number("deploy.history.size", 1, 10_000);
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
        if (branch != null) {
            String why = REPO.branchNameProblem(branch);
            if (why != null) {
                problems.add(p + "repo.branch: " + why);
                branch = null;
            }
        }
        Path repoPath = null;
        String repo = v.get("repo.path");
        if (repo == null) {
            problems.add(p + "repo.path: missing (the git working copy to deploy, e.g. /srv/www/site)");
        } else {
            repoPath = baseDir.resolve(repo).normalize();
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
        }
        Secret secret = findSecret(p, name, v.get("webhook.secret.file"), baseDir, problems);
        Secret signingKey = findSigningKey(p, name, v.get("webhook.signing.key.file"), baseDir, problems);
        GitAuth gitAuth = gitAuth(p, name, v, baseDir, problems);
        if (!v.containsKey("report.host") && v.keySet().stream().anyMatch(k -> k.startsWith("report."))) {
            warnings.accept(p + "report.host: not set, so the other report.* keys do nothing (no deploy is reported)");
        }
        ReportOptions report = v.containsKey("report.host")
                ? ReportOptions.parse(p, name, v, reportToken(p, name, v, baseDir, problems), !secretsNeeded, problems,
                        warnings) : null;
        List<String> allowFrom = addresses(p + "webhook.allow.from", v.get("webhook.allow.from"), problems);
        Path stateDir = v.containsKey("state.dir") ? baseDir.resolve(v.get("state.dir")).normalize()
                : repoPath == null ? null : REPO.defaultStateDir(repoPath);
        if (problems.size() > before) {
            return null;
        }
        DeployOptions deploy = new DeployOptions(localChanges, clean, Duration.ofSeconds(lockStale),
                Duration.ofSeconds(lockWait), Duration.ofSeconds(deployTimeout), onStart, Duration.ofSeconds(poll),
                command, Duration.ofSeconds(commandTimeout), submodules, watch, stateDir);
        return new SiteConfig(name, repoPath, remote, branch, secret, Duration.ofSeconds(gitTimeout), (int) history,
                deploy, gitAuth, allowFrom, new GitOptions(engine, fsck, schemes), signingKey, report);
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

    private static List<String> addresses(String key, String value, List<String> problems) {
        List<String> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        for (String part : value.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            try {
                IpRange.check(p);
                out.add(p);
            } catch (IllegalArgumentException e) {
                problems.add(key + ": \"" + p + "\" is not an IP address or CIDR range");
            }
        }
        return List.copyOf(out);
    }

    private GitAuth gitAuth(String p, String site, Map<String, String> v, Path baseDir, List<String> problems) {
        if (!secretsNeeded) {  // nothing is fetched: the key files and the password stay unread
            return new GitAuth(v.containsKey("git.ssh.key") ? baseDir.resolve(v.get("git.ssh.key")).normalize() : null,
                    v.containsKey("git.ssh.known.hosts") ? baseDir.resolve(v.get("git.ssh.known.hosts")).normalize() : null,
                    v.get("git.https.username"), null);
        }
        Path key = existingFile(p + "git.ssh.key", v.get("git.ssh.key"), baseDir, problems);
        Path knownHosts = existingFile(p + "git.ssh.known.hosts", v.get("git.ssh.known.hosts"), baseDir, problems);
        if (v.containsKey("git.ssh.key") && !v.containsKey("git.ssh.known.hosts")) {
            problems.add(p + "git.ssh.known.hosts: required with git.ssh.key (host keys are checked strictly, never"
                    + " trusted on first use; make it with ssh-keyscan and check the fingerprint)");
        }
        String user = v.get("git.https.username");
        Secret password = null;
        String credentialName = site.isEmpty() ? GIT_PASSWORD_CREDENTIAL : GIT_PASSWORD_CREDENTIAL + "-" + site;
        Path cred = credential(credentialName);
        int before = problems.size();
        if (cred != null) {
            password = readSecretFile(cred, "systemd credential " + credentialName, p + "git.https.password.file", problems);
        } else if (v.containsKey("git.https.password.file")) {
            Path file = existingFile(p + "git.https.password.file", v.get("git.https.password.file"), baseDir, problems);
            if (file != null) {
                warnIfOthersCanRead(file, p + "git.https.password.file");
                password = readSecretFile(file, "file " + file, p + "git.https.password.file", problems);
            }
        } else if (user != null && installedCredentials.containsKey(credentialName)) {
            Path installed = installedCredentials.get(credentialName);
            if (Files.exists(installed)) {
                password = readSecretFile(installed, "file " + installed + " (credential " + credentialName
                        + " of the systemd unit)", p + "git.https.password.file", problems);
            }
        }
        if (user != null && password == null && problems.size() == before) {
            problems.add(p + "git.https.password.file: required with git.https.username (or the systemd credential "
                    + credentialName + ")");
        }
        if (user == null && password != null) {
            problems.add(p + "git.https.username: required with a git password or token");
        }
        return new GitAuth(key, knownHosts, user, password);
    }

    /**
     * The token a site reports its deploys with: the systemd credential {@code report-token} (a named site's:
     * {@code report-token-<name>}), else the file {@code report.token.file}. Never an environment variable, never
     * the config file itself. Null without secrets (a command that only reads {@code /status}).
     */
    private Secret reportToken(String p, String site, Map<String, String> v, Path baseDir, List<String> problems) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? REPORT_TOKEN_CREDENTIAL : REPORT_TOKEN_CREDENTIAL + "-" + site;
        Path cred = credential(credentialName);
        if (cred != null) {
            return readSecretFile(cred, "systemd credential " + credentialName, p + "report.token.file", problems);
        }
        if (v.containsKey("report.token.file")) {
            Path file = existingFile(p + "report.token.file", v.get("report.token.file"), baseDir, problems);
            if (file == null) {
                return null;
            }
            warnIfOthersCanRead(file, p + "report.token.file");
            return readSecretFile(file, "file " + file, p + "report.token.file", problems);
        }
        problems.add(p + "report.token.file: required with report.host (a file holding the host's access token, mode"
                + " 0600, or the systemd credential " + credentialName + ")");
        return null;
    }

    /** {@code $CREDENTIALS_DIRECTORY/<name>} when systemd handed that credential over, else null. */
    private Path credential(String name) {
        String credentials = env.get("CREDENTIALS_DIRECTORY");
        if (credentials == null || credentials.isBlank()) {
            return null;
        }
        Path cred = Path.of(credentials, name);
        return Files.isRegularFile(cred) ? cred : null;
    }

    private static Path existingFile(String key, String value, Path baseDir, List<String> problems) {
        if (value == null) {
            return null;
        }
        Path file = baseDir.resolve(value).normalize();
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            problems.add(key + ": " + unusableFile(file));
            return null;
        }
        return file;
    }

    /** Why a file that should be read cannot be: missing, a folder, or which permission the user lacks. */
    private static String unusableFile(Path file) {
        String denied = FileAccess.explain(file, FileAccess.Need.READ);
        if (denied != null) {
            return "cannot read " + file + ": " + denied;
        }
        if (Files.isDirectory(file)) {
            return file + " is a folder, not a file";
        }
        return file + " does not exist (user " + FileAccess.user() + ")";
    }

    /**
     * The unnamed site's secret: credential {@code webhook-secret}, {@code webhook.secret.file},
     * {@code PULLHOOK_SECRET}, then the file the installed unit loads the credential from; a named site's:
     * credential {@code webhook-secret-<name>}, {@code site.<name>.webhook.secret.file},
     * {@code PULLHOOK_SITE_<NAME>_SECRET} (and its installed file, if one is known). Never shared.
     */
    private Secret findSecret(String p, String site, String secretFile, Path baseDir, List<String> problems) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? SECRET_CREDENTIAL : SECRET_CREDENTIAL + "-" + site;
        String envName = site.isEmpty() ? SECRET_ENV : envName("site." + site + ".secret");
        Path cred = credential(credentialName);
        if (cred != null) {
            return checked(p, readSecretFile(cred, "systemd credential " + credentialName, p + "webhook.secret", problems));
        }
        if (secretFile != null) {
            Path file = baseDir.resolve(secretFile).normalize();
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                problems.add(p + "webhook.secret.file: " + unusableFile(file));
                return null;
            }
            warnIfOthersCanRead(file, p + "webhook.secret.file");
            return checked(p, readSecretFile(file, "file " + file, p + "webhook.secret.file", problems));
        }
        String fromEnv = env.get(envName);
        if (fromEnv != null && !fromEnv.strip().isEmpty()) {
            return checked(p, new Secret(fromEnv.strip(), "environment " + envName));
        }
        Path installed = installedCredentials.get(credentialName);
        if (installed != null && (Files.exists(installed) || FileAccess.explain(installed, FileAccess.Need.READ) != null)) {
            if (!Files.isReadable(installed)) {
                problems.add(p + "webhook.secret: not set, and " + unusableFile(installed) + " (the unit's credential "
                        + credentialName + "); run as root or as the service user, or set " + p + "webhook.secret.file");
                return null;
            }
            return checked(p, readSecretFile(installed, "file " + installed + " (credential " + credentialName
                    + " of the systemd unit)", p + "webhook.secret", problems));
        }
        problems.add(p + "webhook.secret: missing (set " + p + "webhook.secret.file, the systemd credential "
                + credentialName + ", or " + envName
                + (installed == null ? "" : ", or write it to " + installed + " as the unit's LoadCredential= names it")
                + ")");
        return null;
    }

    /**
     * GitLab's signing token (Standard Webhooks), found like the secret: the systemd credential
     * {@code webhook-signing-key}, the file {@code webhook.signing.key.file}, the environment. Optional;
     * {@code whsec_<base64>}, as GitLab shows it.
     */
    private Secret findSigningKey(String p, String site, String keyFile, Path baseDir, List<String> problems) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? SIGNING_KEY_CREDENTIAL : SIGNING_KEY_CREDENTIAL + "-" + site;
        String envName = envName((site.isEmpty() ? "" : "site." + site + ".") + "webhook.signing.key");
        String key = p + "webhook.signing.key";
        Secret found = null;
        Path cred = credential(credentialName);
        if (cred != null) {
            found = readSecretFile(cred, "systemd credential " + credentialName, key, problems);
        } else if (keyFile != null) {
            Path file = baseDir.resolve(keyFile).normalize();
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                problems.add(p + "webhook.signing.key.file: " + unusableFile(file));
                return null;
            }
            warnIfOthersCanRead(file, p + "webhook.signing.key.file");
            found = readSecretFile(file, "file " + file, p + "webhook.signing.key.file", problems);
        } else if (env.get(envName) != null && !env.get(envName).isBlank()) {
            found = new Secret(env.get(envName).strip(), "environment " + envName);
        }
        if (found != null && signingKeyBytes(found) == null) {
            problems.add(key + ": not a signing token (expected whsec_ followed by base64, as GitLab shows it; from "
                    + found.source() + ")");
            return null;
        }
        return found;
    }

    /** The HMAC key of a {@code whsec_<base64>} signing token, or null when it is not one. */
    public static byte[] signingKeyBytes(Secret token) {
        String value = new String(token.bytes(), StandardCharsets.UTF_8);
        if (!value.startsWith("whsec_")) {
            return null;
        }
        try {
            byte[] key = java.util.Base64.getDecoder().decode(value.substring("whsec_".length()));
            return key.length < 16 ? null : key;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * A secret file's one line. One final line end ({@code \n}, or {@code \r\n} from a Windows editor) is
     * what {@code echo} and editors add, and is dropped; anything else around the secret (spaces, tabs, a
     * second line, a byte-order mark) is a problem naming the file, never guessed away: the git host signs
     * with exactly what was pasted into it, and a guess would make every signature fail without a word.
     * Nothing of the secret itself is ever put into a problem.
     */
    private Secret readSecretFile(Path file, String source, String key, List<String> problems) {
        String value;
        try {
            value = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            problems.add(key + ": " + file + " is not UTF-8 text");
            return null;
        } catch (IOException e) {
            problems.add(key + ": cannot read " + file + ": " + FileAccess.explain(file, FileAccess.Need.READ, e));
            return null;
        }
        if (value.startsWith("\uFEFF")) {
            problems.add(key + ": " + file + " starts with a byte-order mark (an editor's UTF-8 BOM), which would"
                    + " become part of the secret; save the file without it");
            return null;
        }
        if (value.endsWith("\r\n")) {
            value = value.substring(0, value.length() - 2);
        } else if (value.endsWith("\n")) {
            value = value.substring(0, value.length() - 1);
        }
        if (value.isEmpty()) {
            problems.add(key + ": " + file + " is empty");
            return null;
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            problems.add(key + ": " + file + " has more than one line; it must hold the secret alone, on one line");
            return null;
        }
        if (!value.strip().equals(value)) {
            problems.add(key + ": " + file + " has spaces or tabs before or after the secret (only one final newline"
                    + " is allowed); remove them, and use the same secret at the git host");
            return null;
        }
        return new Secret(value, source);
    }

    private Secret checked(String p, Secret secret) {
        if (secret != null && secret.length() < 16) {
            warnings.accept(p + "webhook.secret: only " + secret.length()
                + " bytes long; use 32 or more random characters (openssl rand -hex 32)");
        }
        return secret;
    }

    private void warnIfOthersCanRead(Path file, String key) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                warnings.accept(key + ": " + file + " is readable by every user; chmod 600 it");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // not a POSIX file system: nothing to check
        }
    }

    /** Typed access to the raw values that records a problem, naming the key, instead of throwing. */
    private record Values(String prefix, Map<String, String> raw, List<String> problems) {
        String string(String key) {
            String value = raw.get(key);
            if (value == null) {
                problems.add(prefix + key + ": must not be empty");
            }
            return value;
        }

        boolean bool(String key) {
            String value = string(key);
            if (value == null) {
                return false;
            }
            if ("true".equalsIgnoreCase(value)) {
                return true;
            }
            if (!"false".equalsIgnoreCase(value)) {
                problems.add(prefix + key + ": \"" + value + "\" is not true or false");
            }
            return false;
        }

        <E extends Enum<E>> E choice(String key, Class<E> type) {
            String value = string(key);
            if (value == null) {
                return type.getEnumConstants()[0];
            }
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                String name = e.name().toLowerCase(Locale.ROOT);
                if (name.equals(value.toLowerCase(Locale.ROOT))) {
                    return e;
                }
                names.add(name);
            }
            problems.add(prefix + key + ": \"" + value + "\" is not one of " + String.join(", ", names));
            return type.getEnumConstants()[0];
        }

        long number(String key, long min, long max) {
            String value = raw.get(key);
            if (value == null) {
                problems.add(prefix + key + ": must not be empty");
                return min;
            }
            try {
                long n = Long.parseLong(value);
                if (n < min || n > max) {
                    problems.add(prefix + key + ": " + n + " is out of range (" + min + " to " + max + ")");
                }
                return n;
            } catch (NumberFormatException e) {
                problems.add(prefix + key + ": \"" + value + "\" is not a whole number");
                return min;
            }
        }
    }
}
