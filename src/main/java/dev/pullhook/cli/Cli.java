package dev.pullhook.cli;

import dev.pullhook.Daemon;
import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.config.FileAccess;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.demo.Demo;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.metrics.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The command line: reads the arguments ({@link Arguments}), loads the config a command needs, and runs the
 * command: starts the {@link Daemon} (with its shutdown hook), or runs {@link Check}, {@link ManualJob} or
 * {@link StatusSummary}, and returns the exit status. Config and file problems of the daemon are logged; those
 * of a command are printed to stderr, each naming its key or path.
 */
public final class Cli {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;
    /** A usage, config or file-permission error: systemd's {@code RestartPreventExitStatus=2} then avoids a loop. */
    public static final int EXIT_CONFIG = 2;

    /**
     * Where an install keeps what the commands read by default: the config, and per systemd credential the
     * file the unit loads it from ({@code LoadCredential=webhook-secret:/etc/pullhook/secret}), so that a
     * command run outside systemd finds the secret the daemon gets.
     */
    public record Install(Path configFile, Map<String, Path> credentials) {
        /** The Debian package's layout (and the unit's {@code LoadCredential=} lines). */
        public static final Install DEBIAN = new Install(Path.of(Arguments.DEFAULT_CONFIG),
                Map.of("webhook-secret", Path.of("/etc/pullhook/secret"),
                        "git-password", Path.of("/etc/pullhook/git-password")));
    }

    /**
     * The daemon's start-up and config lines keep the logger name they always had ({@code Main - config ...}),
     * which operators grep for and the docs quote.
     */
    private static final String LOGGER = "dev.pullhook.Main";

    private Cli() {
    }

    /**
     * Runs the command line; {@code serve} and {@code demo} return 0 once the daemon listens (it keeps running
     * on its own threads).
     *
     * @param env     the process environment (secrets, {@code PULLHOOK_*} overrides, {@code CREDENTIALS_DIRECTORY})
     * @param install where the config and the unit's credential files are when not named
     */
    public static int run(String[] args, Map<String, String> env, Install install) {
        Arguments a = Arguments.parse(args);
        if (a.problem() != null) {
            System.err.println("pullhook: " + a.problem());
            System.err.println();
            System.err.println(a.named() ? a.command().help : Arguments.USAGE);
            return EXIT_CONFIG;
        }
        if (a.help()) {
            System.out.println(a.named() ? a.command().help : Arguments.USAGE);
            return EXIT_OK;
        }
        return switch (a.command()) {
            case VERSION -> version();
            case DEMO -> demo(env);
            default -> withConfig(a, env, install);
        };
    }

    private static int version() {
        System.out.println("pullhook " + version(Cli.class));
        System.out.println("java " + Runtime.version() + " (" + System.getProperty("java.home") + ")");
        return EXIT_OK;
    }

    /** The version in the jar's manifest, or {@code dev} when run from classes. */
    public static String version(Class<?> from) {
        String v = from.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    private static int demo(Map<String, String> env) {
        Logger log = LoggerFactory.getLogger(LOGGER);
        Demo demo;
        try {
            demo = Demo.create(new ConfigLoader(env, warning -> log.warn("config {}", warning)));
        } catch (ConfigException e) {
            e.problems().forEach(p -> log.error("config {}", p));
            return EXIT_CONFIG;
        }
        return serve(demo.config(), demo, log);
    }

    private static int withConfig(Arguments a, Map<String, String> env, Install install) {
        boolean daemon = a.command() == Arguments.Command.SERVE;
        Logger log = daemon ? LoggerFactory.getLogger(LOGGER) : null;
        Path file = a.configFile() != null ? a.configFile() : install.configFile();
        if (!Files.isRegularFile(file)) {
            String denied = FileAccess.explain(file, FileAccess.Need.READ);
            String problem = denied != null ? "--config: cannot read " + file.toAbsolutePath() + ": " + denied
                    : Files.isDirectory(file) ? "--config: " + file.toAbsolutePath() + " is a folder, not a file"
                    : "--config: no config file " + file.toAbsolutePath() + (a.configFile() != null ? ""
                    : " (give one with --config FILE; try it without one: pullhook demo)");
            return configProblems(a, log, List.of(problem));
        }
        ConfigLoader loader = new ConfigLoader(env, warning -> {
            if (log != null) {
                log.warn("config {}", warning);
            } else {
                System.err.println("pullhook: warning: config " + warning);
            }
        }, install.credentials());
        Config config;
        try {
            config = (a.command() == Arguments.Command.STATUS ? loader.withoutSecrets() : loader).load(file);
        } catch (ConfigException e) {
            return configProblems(a, log, e.problems());
        }
        if (daemon) {
            return serve(config, null, log);
        }
        List<SiteConfig> sites = chosenSites(config, a);
        if (sites.isEmpty()) {
            System.err.println("pullhook: no site \"" + a.site() + "\" in the config (sites: "
                    + config.sites().stream().map(s -> Metrics.siteLabel(s.name())).collect(Collectors.joining(", "))
                    + ")");
            return EXIT_CONFIG;
        }
        return switch (a.command()) {
            case CHECK -> Check.run(sites);
            case DEPLOY -> ManualJob.run(config, sites.get(0), ManualJob.Kind.DEPLOY, a.follow());
            case ROLLBACK -> ManualJob.run(config, sites.get(0), ManualJob.Kind.ROLLBACK, a.follow());
            case STATUS -> StatusSummary.run(config, sites);
            default -> throw new IllegalStateException(a.command() + " needs no config");
        };
    }

    private static int configProblems(Arguments a, Logger log, List<String> problems) {
        if (log != null) {
            log.error("config invalid, not starting: {} problem(s)", problems.size());
            problems.forEach(p -> log.error("config {}", p));
        } else {
            problems.forEach(p -> System.err.println("pullhook: config " + p));
        }
        return EXIT_CONFIG;
    }

    /**
     * The sites {@code --site} names ("default" is the unnamed one, unless a site has that name), else every
     * site for check and status and the unnamed or first one for deploy and rollback. Empty for an unknown name.
     */
    private static List<SiteConfig> chosenSites(Config config, Arguments a) {
        if (a.site() == null) {
            boolean all = a.command() == Arguments.Command.CHECK || a.command() == Arguments.Command.STATUS;
            return all ? config.sites() : List.of(config.site());
        }
        Optional<SiteConfig> named = config.site(a.site());
        if (named.isEmpty() && a.site().equals(Metrics.DEFAULT_SITE)) {
            named = config.site("");
        }
        return named.map(List::of).orElse(List.of());
    }

    private static int serve(Config config, Demo demo, Logger log) {
        log.info("pullhook {} config {}", version(Cli.class), config);
        String names = WorkingCopy.fileNamesNotUtf8();
        if (names != null) {
            log.warn("file names are encoded as {}, not UTF-8: a deploy of a file whose name is not ASCII fails,"
                    + " and the tree watch (deploy.watch) stays off; run java with LANG=C.UTF-8, as the systemd unit does", names);
        }
        Daemon daemon;
        try {
            daemon = Daemon.start(config);
        } catch (ConfigException e) {
            e.problems().forEach(p -> log.error("config {}", p));
            return EXIT_CONFIG;
        } catch (RuntimeException e) {
            log.error("cannot start: {}", e.getMessage());
            return EXIT_FAILED;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.stop();
            if (demo != null) {
                demo.cleanUp();
            }
        }, "shutdown"));
        if (demo != null) {
            System.out.println(demo.instructions(daemon.port()));
        }
        return EXIT_OK;
    }
}
