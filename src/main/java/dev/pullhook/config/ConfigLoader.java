package dev.pullhook.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * every key, collecting all problems before failing once with a {@link ConfigException}. The server's keys
 * are checked here, each site's by {@link SiteLoader}, its secrets found by {@link SecretFinder}.
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
        d.put("server.warmup", "true");
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
        d.put("deploy.check.command", null);
        d.put("deploy.check.url", null);
        d.put("deploy.check.status", "200");
        d.put("deploy.check.timeout.seconds", "10");
        d.put("deploy.check.retries", "3");
        d.put("deploy.rollback.on.failure", "false");
        d.put("deploy.mode", "in-place");
        d.put("deploy.keep.releases", "5");
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
        sort(fromFile, lines, top, perSite, problems);
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
        List<String> trustedProxies = IpRange.list("server.trusted.proxies", v.get("server.trusted.proxies"), problems);
        long perClient = values.number("server.connections.per.client", 1, 10_000);
        long rejectionsLogged = values.number("server.log.rejections.per.minute", 1, 1_000_000);
        boolean warmUp = values.bool("server.warmup");
        HttpLimits limits = limits(values, maxBody, perClient, problems);
        List<String> names = siteNames(v.get("sites"), perSite.keySet(), problems);
        List<SiteConfig> sites = sites(v, perSite, names, baseDir, problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new Config(host, port, maxBody, Duration.ofSeconds(wait), Duration.ofSeconds(drain), trustedProxies,
                (int) perClient, (int) rejectionsLogged, limits, List.copyOf(sites), warmUp);
    }

    /**
     * Sorts the keys given into the top-level ones and each site's: a secret written in the file, an unknown
     * key or an unknown site key is a problem (naming its line and the key meant, when one is close).
     */
    private static void sort(Map<String, String> fromFile, Map<String, Integer> lines, Map<String, String> top,
                             Map<String, Map<String, String>> perSite, List<String> problems) {
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
    }

    /** The names {@code sites} lists (each a simple word, once); every {@code site.<name>.*} must name one. */
    private static List<String> siteNames(String value, Set<String> configured, List<String> problems) {
        List<String> names = new ArrayList<>();
        if (value != null) {
            for (String part : value.split(",")) {
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
        for (String site : configured) {
            if (!names.contains(site)) {
                String near = NearestKey.of(site, names);
                problems.add("site." + site + ".*: there is no site \"" + site + "\" in sites"
                        + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")")
                        + (near == null ? "" : "; did you mean site." + near + ".*?"));
            }
        }
        return names;
    }

    /**
     * The unnamed site (when {@code repo.path} is set or no site is named) and each named one, their keys
     * resolved: the site's own, its environment variable, then the top-level key (but for {@link #OWN_KEYS}).
     * Two sites may not deploy the same working copy.
     */
    private List<SiteConfig> sites(Map<String, String> v, Map<String, Map<String, String>> perSite, List<String> names,
                                   Path baseDir, List<String> problems) {
        SiteLoader siteLoader = new SiteLoader(env, warnings, installedCredentials, secretsNeeded);
        List<SiteConfig> sites = new ArrayList<>();
        if (v.containsKey("repo.path") || names.isEmpty()) {
            sites.add(siteLoader.site("", v, baseDir, problems));
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
            sites.add(siteLoader.site(name, sv, baseDir, problems));
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
        return sites;
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
}
