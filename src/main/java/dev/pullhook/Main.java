package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.demo.Demo;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.metrics.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Entry point: reads the command line ({@link Arguments}), loads and validates the config, then runs the
 * command: starts the {@link Daemon} (with its shutdown hook), or runs {@link Check}, {@link ManualJob} or
 * {@link StatusSummary} and returns their exit status. Exit status 2 means a usage or configuration error
 * (systemd's {@code RestartPreventExitStatus=2} then avoids a restart loop), 1 a command that failed.
 */
public final class Main {
    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_CONFIG = 2;
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) {
        avoidJmxInJetty();
        int status = run(args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Jetty pads some shared counters to a cache line, and finds how many object references fit in one by
     * asking the platform MBean server whether references are compressed. That one question starts JMX
     * (about 360 classes, 3 MiB of resident memory, a noticeable part of the start-up), which nothing else
     * in pullhook uses. The answer is known here: 4-byte references (16 a 64-byte line) below a 32 GB heap,
     * where the JVM compresses them by default, else 8. An explicit {@code -D} setting wins.
     */
    static void avoidJmxInJetty() {
        String key = "org.eclipse.jetty.util.referencesPerCacheLine";
        if (System.getProperty(key) == null) {
            System.setProperty(key, Runtime.getRuntime().maxMemory() < (32L << 30) ? "16" : "8");
        }
    }

    /**
     * Runs the command line and returns its exit status; {@code serve} returns 0 once the daemon listens
     * (it keeps running on its own threads).
     */
    static int run(String[] args) {
        Arguments a = Arguments.parse(args);
        if (a.problem() != null) {
            return usage(a, a.problem());
        }
        if (a.help()) {
            System.out.println(a.named() ? a.command().help : Arguments.USAGE);
            return EXIT_OK;
        }
        if (a.version()) {
            System.out.println("pullhook " + version());
            return EXIT_OK;
        }
        ConfigLoader loader = new ConfigLoader(System.getenv(), warning -> log.warn("config {}", warning));
        Config config;
        Demo demo = null;
        try {
            if (a.demo()) {
                demo = Demo.create(loader);
                config = demo.config();
            } else {
                if (!Files.isRegularFile(a.configFile())) {
                    return usage(a, "no config file " + a.configFile().toAbsolutePath()
                            + " (copy the shipped config.properties, or try --demo)");
                }
                config = loader.load(a.configFile());
            }
        } catch (ConfigException e) {
            log.error("config invalid{}: {} problem(s)", a.command() == Arguments.Command.SERVE ? ", not starting" : "",
                    e.problems().size());
            for (String problem : e.problems()) {
                log.error("config {}", problem);
            }
            return EXIT_CONFIG;
        }
        if (a.command() == Arguments.Command.SERVE) {
            return serve(config, demo);
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
            case DEPLOY -> ManualJob.run(config, sites.get(0), ManualJob.Kind.DEPLOY);
            case ROLLBACK -> ManualJob.run(config, sites.get(0), ManualJob.Kind.ROLLBACK);
            case STATUS -> StatusSummary.run(config, sites);
            case SERVE -> throw new IllegalStateException("served above");
        };
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

    private static int serve(Config config, Demo demo) {
        log.info("pullhook {} config {}", version(), config);
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

    private static int usage(Arguments a, String problem) {
        System.err.println("pullhook: " + problem);
        System.err.println(a.named() ? a.command().help : Arguments.USAGE);
        return EXIT_CONFIG;
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
