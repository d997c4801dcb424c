package dev.pullhook;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.demo.Demo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Entry point: reads the arguments, loads and validates the config, starts the {@link Daemon} and installs
 * the shutdown hook. Exit status 2 means a usage or configuration error (systemd's
 * {@code RestartPreventExitStatus=2} then avoids a restart loop).
 */
public final class Main {
    static final int EXIT_CONFIG = 2;
    private static final Logger log = LoggerFactory.getLogger(Main.class);
    private static final String USAGE = """
            usage: java -jar pullhook.jar [serve] [--config FILE]   serve webhooks (default FILE: ./config.properties)
                   java -jar pullhook.jar rollback [--config FILE] put the working copy back on the commit deployed
                                                                  before the current one (asks the running daemon,
                                                                  or does it here when none runs); exit 0 when done
                   java -jar pullhook.jar --demo                    try it: throwaway repositories, no setup
                   java -jar pullhook.jar --version | --help
            The secret is never given on the command line: see webhook.secret.file in config.properties.""";

    private Main() {
    }

    public static void main(String[] args) {
        int status = run(args);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** Starts the daemon and returns 0, or returns an exit status for a usage or config error. */
    static int run(String[] args) {
        Path configFile = Path.of("config.properties");
        boolean demo = false;
        String command = "serve";
        String site = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "serve", "rollback" -> {
                    if (i != 0) {
                        return usage(args[i] + " must come first");
                    }
                    command = args[i];
                }
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        return usage("--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--demo" -> demo = true;
                case "--site" -> {
                    if (i + 1 >= args.length) {
                        return usage("--site needs a site name");
                    }
                    site = args[++i];
                }
                case "--help", "-h" -> {
                    System.out.println(USAGE);
                    return 0;
                }
                case "--version" -> {
                    System.out.println("pullhook " + version());
                    return 0;
                }
                default -> {
                    return usage("unknown argument: " + (args[i].startsWith("-") ? args[i] : "(a value)"));
                }
            }
        }
        ConfigLoader loader = new ConfigLoader(System.getenv(), warning -> log.warn("config {}", warning));
        Config config;
        Demo demoSetup = null;
        try {
            if (demo && !command.equals("serve")) {
                return usage("--demo only goes with serve");
            }
            if (demo) {
                demoSetup = Demo.create(loader);
                config = demoSetup.config();
            } else {
                if (!Files.isRegularFile(configFile)) {
                    return usage("no config file " + configFile.toAbsolutePath()
                            + " (copy the shipped config.properties, or try --demo)");
                }
                config = loader.load(configFile);
            }
        } catch (ConfigException e) {
            log.error("config invalid, not starting: {} problem(s)", e.problems().size());
            for (String problem : e.problems()) {
                log.error("config {}", problem);
            }
            return EXIT_CONFIG;
        }
        if (command.equals("rollback")) {
            return Rollback.run(config, site);
        }
        log.info("pullhook {} config {}", version(), config);
        Daemon daemon;
        try {
            daemon = Daemon.start(config);
        } catch (ConfigException e) {
            e.problems().forEach(p -> log.error("config {}", p));
            return EXIT_CONFIG;
        } catch (RuntimeException e) {
            log.error("cannot start: {}", e.getMessage());
            return 1;
        }
        Demo toRemove = demoSetup;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.stop();
            if (toRemove != null) {
                toRemove.cleanUp();
            }
        }, "shutdown"));
        if (demoSetup != null) {
            System.out.println(demoSetup.instructions(daemon.port()));
        }
        return 0;
    }

    private static int usage(String problem) {
        System.err.println("pullhook: " + problem);
        System.err.println(USAGE);
        return EXIT_CONFIG;
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
