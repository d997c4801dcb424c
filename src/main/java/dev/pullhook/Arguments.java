package dev.pullhook;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The command line, parsed and checked, and the help texts: {@code [COMMAND] [--config FILE] [--site NAME]
 * [--demo] [--help] [--version]}. It runs nothing. Never echoes an argument it does not know, since that may
 * be a secret pasted in the wrong place.
 *
 * @param command    what to do ({@link Command#SERVE} when none is named)
 * @param named      whether the command was named (then {@code --help} explains that command)
 * @param configFile {@code --config}, default {@code ./config.properties}
 * @param site       {@code --site}, or null when not given
 * @param demo       {@code --demo}
 * @param help       {@code --help}
 * @param version    {@code --version}
 * @param problem    why the command line is wrong, or null
 */
record Arguments(Command command, boolean named, Path configFile, String site, boolean demo, boolean help,
                 boolean version, String problem) {

    static final String USAGE = """
            usage: java -jar pullhook.jar [COMMAND] [--config FILE] [--site NAME]
            commands:
              serve     serve webhooks (the default)
              check     check the config, each working copy and its remote; change nothing
              deploy    deploy now: fetch the branch and reset the working copy to it
              rollback  put the working copy back on the commit deployed before the current one
              status    show what the running daemon is doing
            options:
              --config FILE  the config (default: ./config.properties)
              --site NAME    one site ("default" is the unnamed one); deploy and rollback default to the
                             unnamed or first site, check and status to all sites
              --help         this text; COMMAND --help explains COMMAND
              --version      the version
              --demo         try it: throwaway repositories, no setup
            exit status: 0 done, 1 failed (a deploy, a remote, no daemon answering), 2 usage or config error.
            The secret is never given on the command line: see webhook.secret.file in config.properties.""";

    /** The subcommands, with their help. */
    enum Command {
        SERVE("""
                usage: java -jar pullhook.jar [serve] [--config FILE] [--demo]
                Serves the webhooks of every site in the config until SIGTERM. --demo makes throwaway
                repositories and a config first, and prints what to paste next.
                Exit status: 2 for a config error (systemd's RestartPreventExitStatus=2), 1 when it cannot start."""),
        CHECK("""
                usage: java -jar pullhook.jar check [--config FILE] [--site NAME]
                Validates the config, opens each site's working copy and asks its remote for the branch tip with
                the configured credentials (like git ls-remote: nothing is fetched or changed). Prints per site
                the remote tip, HEAD, and whether a deploy would change anything. Default: every site.
                Exit status: 0 all is well, 1 a working copy or remote fails, 2 config error."""),
        DEPLOY("""
                usage: java -jar pullhook.jar deploy [--config FILE] [--site NAME]
                Deploys one site now (default: the unnamed or first site), exactly as a webhook would. When a
                daemon runs for it, asks the daemon (a signed POST /pull-repo?wait=true), so the deploy queues
                behind a running one; otherwise deploys in this process. Prints the outcome.
                Exit status: 0 deployed, 1 failed, 2 usage or config error."""),
        ROLLBACK("""
                usage: java -jar pullhook.jar rollback [--config FILE] [--site NAME]
                Puts one site's working copy (default: the unnamed or first site) back on the commit deployed
                before the current one, then runs deploy.command. Asks the running daemon (a signed
                POST /rollback?wait=true), or does it in this process when none runs. Prints the outcome.
                Exit status: 0 rolled back, 1 not (e.g. no earlier deploy in the history), 2 usage or config error."""),
        STATUS("""
                usage: java -jar pullhook.jar status [--config FILE] [--site NAME]
                Asks the running daemon (GET /status on server.host and server.port) and prints per site the
                branch, HEAD, the queue and the last deploys. Default: every site.
                Exit status: 0 the daemon answered, 1 no daemon answers, 2 usage or config error.""");

        final String help;

        Command(String help) {
            this.help = help;
        }

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Command of(String word) {
            for (Command c : values()) {
                if (c.word().equals(word)) {
                    return c;
                }
            }
            return null;
        }
    }

    static Arguments parse(String[] args) {
        Command command = Command.SERVE;
        boolean named = false;
        Path configFile = Path.of("config.properties");
        String site = null;
        boolean demo = false;
        boolean help = false;
        boolean version = false;
        int i = 0;
        if (args.length > 0 && !args[0].startsWith("-")) {
            command = Command.of(args[0]);
            if (command == null) {
                return invalid(null, "unknown command (serve, check, deploy, rollback or status)");
            }
            named = true;
            i = 1;
        }
        for (; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> {
                    if (i + 1 >= args.length) {
                        return invalid(named ? command : null, "--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--site" -> {
                    if (i + 1 >= args.length) {
                        return invalid(named ? command : null, "--site needs a site name");
                    }
                    site = args[++i];
                }
                case "--demo" -> demo = true;
                case "--help", "-h" -> help = true;
                case "--version" -> version = true;
                default -> {
                    if (Command.of(args[i]) != null) {
                        return invalid(null, args[i] + " must come first");
                    }
                    return invalid(named ? command : null,
                            "unknown argument: " + (args[i].startsWith("-") ? args[i] : "(a value)"));
                }
            }
        }
        if (demo && command != Command.SERVE) {
            return invalid(named ? command : null, "--demo only goes with serve");
        }
        if (site != null && command == Command.SERVE) {
            return invalid(named ? command : null,
                    "--site does not go with serve: a daemon serves every site of its config");
        }
        return new Arguments(command, named, configFile, site, demo, help, version, null);
    }

    /** A wrong command line; {@code command} (when one was named) picks the help shown with the problem. */
    private static Arguments invalid(Command command, String problem) {
        return new Arguments(command == null ? Command.SERVE : command, command != null, null, null, false, false,
                false, problem);
    }
}
