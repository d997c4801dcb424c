package dev.pullhook.cli;

import java.nio.file.Path;
import java.util.Locale;

/**
 * The command line, parsed and checked, and the help texts: {@code [COMMAND] [--config FILE] [--site NAME]
 * [--help] [--version] [--demo]}, the command and the options in any order. It runs nothing. Never echoes an
 * argument it does not know, since that may be a secret pasted in the wrong place.
 *
 * <p>Parsed by hand rather than with picocli: picocli 4.7.7 added about 0.3 s of CPU to every run (its
 * model of seven commands is built by reflection before anything is parsed), against the ~30 ms the
 * project allows; bench/cli-startup.sh measures it.
 *
 * @param command    what to do ({@link Command#SERVE} when none is named)
 * @param named      whether the command was named (then {@code --help} explains that command)
 * @param configFile {@code --config}, or null when not given (then the install's default)
 * @param site       {@code --site}, or null when not given
 * @param help       {@code --help}
 * @param problem    why the command line is wrong, or null
 * @param follow     {@code --follow} (deploy and rollback): print the job's live log while it runs
 */
record Arguments(Command command, boolean named, Path configFile, String site, boolean help, String problem,
                 boolean follow) {

    /** Where the Debian package puts the config, the default of {@code --config}. */
    static final String DEFAULT_CONFIG = "/etc/pullhook/config.properties";

    static final String EXIT_STATUS = """
            Exit status:
              0  done: served, checked, deployed or already up to date, rolled back, shown
              1  the work failed: a deploy or rollback failed or was refused, a remote or working copy
                 failed the check, no daemon answers
              2  the command line, the config or a file's permissions are wrong (each problem names the
                 key or path and what to do); systemd does not restart the daemon after it""";

    static final String USAGE = """
            usage: pullhook [COMMAND] [--config FILE] [--site NAME]
                   (java -jar pullhook.jar ... is the same)

            Commands:
              serve     serve the webhooks of every site until stopped (the default, what the systemd unit runs)
              demo      try it: serve throwaway repositories, no setup; prints what to paste next
              check     check the config, each working copy and its remote; changes nothing
              deploy    deploy now, through the running daemon when there is one; "up to date" when nothing moved
              rollback  put the working copy back on the commit deployed before the current one
              status    show what the running daemon is doing (needs no secret)
              version   print the version and the Java runtime

            Options:
              -c, --config FILE  the config (default: /etc/pullhook/config.properties)
              --site NAME        one site of a several-site config ("default" is the unnamed one); deploy and
                                 rollback default to the unnamed or first site, check and status to all sites
              -h, --help         this text; pullhook COMMAND --help explains COMMAND
              --version          the same as the version command
              --demo             the same as the demo command

            Run the commands as root or as the service user pullhook: they read the config and the secret
            where the daemon gets them (the webhook secret: webhook.secret.file, $CREDENTIALS_DIRECTORY/
            webhook-secret, PULLHOOK_SECRET, else /etc/pullhook/secret, which the unit's LoadCredential= names).
            A secret is never given on the command line.

            """ + EXIT_STATUS;

    /** The subcommands, with their help. */
    enum Command {
        SERVE("""
                usage: pullhook [serve] [--config FILE]

                Serves the webhooks of every site in the config until SIGTERM: what the systemd unit runs
                (as user pullhook, the secret from its credential webhook-secret).

                Options:
                  -c, --config FILE  the config (default: /etc/pullhook/config.properties)
                  -h, --help         this text

                Exit status: 143 after SIGTERM (the JVM's; the unit counts it as success), 1 cannot start
                (e.g. the port is taken), 2 the config or a file's permissions are wrong (each problem is
                logged, naming its key; systemd does not restart)."""),
        DEMO("""
                usage: pullhook demo

                Makes throwaway repositories (a bare origin, a clone to push from, the deployed working copy)
                and a secret in a temporary folder, serves them on 127.0.0.1 (port 5000 when free), and
                prints what to paste next: a commit, a push and a signed webhook. Ctrl-C stops it and removes
                the folder. Needs no config.

                Options:
                  -h, --help  this text

                Exit status: 0 stopped, 1 cannot start, 2 cannot make the demo folder."""),
        CHECK("""
                usage: pullhook check [--config FILE] [--site NAME]

                Validates the config, opens each site's working copy and asks its remote for the branch tip
                with the configured credentials (like git ls-remote: nothing is fetched or changed, nothing
                is written in state.dir). Prints per site the remote tip, HEAD, whether a deploy would change
                anything, edited tracked files, and whether a daemon runs for it. Default: every site.

                Options:
                  -c, --config FILE  the config (default: /etc/pullhook/config.properties)
                  --site NAME        only this site ("default" is the unnamed one)
                  -h, --help         this text

                Exit status: 0 all is well, 1 a working copy or remote fails, 2 the config or a file's
                permissions are wrong."""),
        DEPLOY("""
                usage: pullhook deploy [--config FILE] [--site NAME] [--follow]

                Deploys one site now (default: the unnamed or first site), exactly as a webhook would. When
                the daemon runs for it, asks the daemon (a POST /pull-repo?wait=true with a fresh manual proof
                made from the site's secret), so the deploy queues behind a running one and the daemon stays
                the only writer; otherwise deploys in this process (as root only when root owns the working
                copy). Prints "deployed: FROM -> TO", or "up to date: HEAD" when the branch had not moved.

                Options:
                  -c, --config FILE  the config (default: /etc/pullhook/config.properties)
                  --site NAME        the site ("default" is the unnamed one)
                  --follow           print the deploy as it runs: its phases ("[deploy 7] fetch") and each
                                     line of deploy.command's output, secrets masked, then the outcome
                                     (from the daemon: POST /pull-repo, then GET /deploys/7/log); no time
                                     limit, Ctrl-C stops watching, not the deploy
                  -h, --help         this text

                Exit status: 0 deployed or up to date, 1 failed, refused, or still running after
                webhook.wait.timeout.seconds, 2 the command line, the config or a file's permissions are
                wrong."""),
        ROLLBACK("""
                usage: pullhook rollback [--config FILE] [--site NAME] [--follow]

                Puts one site's working copy (default: the unnamed or first site) back on the commit deployed
                before the current one, then runs deploy.command. Asks the running daemon (a POST
                /rollback?wait=true with a fresh manual proof), or does it in this process when none runs.
                Prints "rolled back: FROM -> TO".

                Options:
                  -c, --config FILE  the config (default: /etc/pullhook/config.properties)
                  --site NAME        the site ("default" is the unnamed one)
                  --follow           print the rollback as it runs (its phases, deploy.command's output),
                                     as deploy --follow does
                  -h, --help         this text

                Exit status: 0 rolled back, 1 not (e.g. no earlier deploy in the history), 2 the command
                line, the config or a file's permissions are wrong."""),
        STATUS("""
                usage: pullhook status [--config FILE] [--site NAME]

                Asks the running daemon (GET /status on server.host and server.port) and prints per site the
                branch, HEAD, the queue and the last deploys. Reads no secret. Default: every site.

                Options:
                  -c, --config FILE  the config (default: /etc/pullhook/config.properties)
                  --site NAME        only this site ("default" is the unnamed one)
                  -h, --help         this text

                Exit status: 0 the daemon answered, 1 no daemon answers, 2 the command line or the config is
                wrong."""),
        VERSION("""
                usage: pullhook version

                Prints pullhook's version, and the Java runtime it runs on. Reads no config.

                Options:
                  -h, --help  this text

                Exit status: 0.""");

        final String help;

        Command(String help) {
            this.help = help;
        }

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Whether it reads a config (and so takes {@code --config}). */
        boolean readsConfig() {
            return this != DEMO && this != VERSION;
        }

        /** Whether it takes {@code --site}. */
        boolean takesSite() {
            return readsConfig() && this != SERVE;
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
        Command command = null;
        Path configFile = null;
        String site = null;
        boolean help = false;
        boolean follow = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            int eq = arg.startsWith("-") ? arg.indexOf('=') : -1;
            String option = eq < 0 ? arg : arg.substring(0, eq);
            switch (option) {
                case "--config", "-c", "--site" -> {
                    String value = eq >= 0 ? arg.substring(eq + 1) : i + 1 < args.length ? args[++i] : null;
                    if (value == null || value.isEmpty()) {
                        return invalid(command, option.equals("--site") ? "--site needs a site name" : option + " needs a file");
                    }
                    if (option.equals("--site")) {
                        site = value;
                    } else {
                        configFile = Path.of(value);
                    }
                }
                case "--help", "-h" -> help = true;
                case "--follow" -> follow = true;
                case "--version", "--demo" -> {
                    Command c = option.equals("--demo") ? Command.DEMO : Command.VERSION;
                    if (command != null && command != c) {
                        return invalid(command, option + " does not go with " + command.word());
                    }
                    command = c;
                }
                default -> {
                    String problem = notACommand(command, arg, option);
                    if (problem != null) {
                        return invalid(command, problem);
                    }
                    command = Command.of(arg);
                }
            }
        }
        return checked(command, configFile, site, help, follow);
    }

    /** Why {@code arg}, none of the options, cannot be the command; null when it is the first command named. */
    private static String notACommand(Command command, String arg, String option) {
        if (arg.startsWith("-")) {
            // the option's name only, and only if it looks like one: a value glued to it with =,
            // or a secret that happens to start with a dash, is never echoed
            return "unknown option" + (option.matches("--?[a-z][a-z-]{0,30}") ? " " + option : "")
                    + " (pullhook --help lists them)";
        }
        Command c = Command.of(arg);
        if (c == null) {
            return command == null ? "unknown command (serve, demo, check, deploy, rollback, status or version)"
                    : "unexpected argument (a value without its option?)";
        }
        return command == null ? null : "two commands: " + command.word() + " and " + c.word();
    }

    /** The command line parsed, once its options are known to go with its command (serve when none is named). */
    private static Arguments checked(Command command, Path configFile, String site, boolean help, boolean follow) {
        boolean named = command != null;
        Command chosen = named ? command : Command.SERVE;
        if (configFile != null && !chosen.readsConfig()) {
            return invalid(chosen, "--config does not go with " + chosen.word() + ": it reads no config");
        }
        if (site != null && !chosen.takesSite()) {
            return invalid(chosen, "--site does not go with " + chosen.word()
                    + (chosen == Command.SERVE ? ": a daemon serves every site of its config" : ""));
        }
        if (follow && chosen != Command.DEPLOY && chosen != Command.ROLLBACK) {
            return invalid(chosen, "--follow goes with deploy and rollback only");
        }
        return new Arguments(chosen, named, configFile, site, help, null, follow);
    }

    /** A wrong command line; {@code command} (when one was named) picks the help shown with the problem. */
    private static Arguments invalid(Command command, String problem) {
        return new Arguments(command == null ? Command.SERVE : command, command != null, null, null, false, problem,
                false);
    }
}
