package dev.pullhook.deploy;

import dev.pullhook.config.DeployOptions;
import dev.pullhook.config.SiteConfig;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The steps after a deploy wrote the files: {@code deploy.command}, then the health check
 * ({@code deploy.check.*}), in the working copy or in an atomic deploy's new release; each logged and told to
 * the live log. Either may be absent. What a failure does (restore, keep, not switch) is the caller's.
 */
final class PostDeploy {
    /** Logs as {@link Deployer}: operators grep for its lines under that name. */
    private static final Logger log = LoggerFactory.getLogger(Deployer.class);

    private final DeployOptions options;
    private final String branch;
    /** Null when there is no {@code deploy.command}. */
    private final DeployCommand command;
    /** {@code deploy.check.*}, or null when none is configured. */
    private final HealthCheck health;
    private final SecretRedactor redactor;
    /** Where the running deploy's lines go as they come (its live log). */
    private final Supplier<Consumer<String>> output;

    /** @param output where each run's lines of output go as they come, masked and cut */
    PostDeploy(SiteConfig config, String label, SecretRedactor redactor, Supplier<Consumer<String>> output) {
        this.options = config.deploy();
        this.branch = config.branch();
        this.redactor = redactor;
        this.output = output;
        this.command = options.command() == null ? null
                : new DeployCommand(options.command(), config.repoPath(), options.commandTimeout(), redactor, output);
        this.health = options.check() == null || !options.check().any() ? null
                : new HealthCheck(options.check(), config.repoPath(), redactor, output);
        if (command != null && config.secret() != null && config.secret().source().startsWith("environment")) {
            // the command's own environment is clean, but /proc/<pid>/environ of its parent is not
            log.warn("deploy.command{} runs as the daemon's user and can read the daemon's environment"
                    + " (/proc/{}/environ), which holds the webhook secret ({}); pass it as the systemd credential"
                    + " or in a file instead (SECURITY.md)", label, ProcessHandle.current().pid(),
                    config.secret().source());
        }
    }

    /** {@code deploy.command} in {@code dir} for the move to {@code tip}, in phase COMMAND; null when there is none. */
    CommandResult command(DeployRun run, Path dir, ObjectId tip) throws IOException {
        if (command == null) {
            return null;
        }
        run.mark(Phase.COMMAND);
        return command(run, dir, run.from, tip.name());
    }

    /** {@code deploy.command} in {@code dir} for a move from {@code from} to {@code to}, logged; null without one. */
    CommandResult command(DeployRun run, Path dir, String from, String to) throws IOException {
        if (command == null) {
            return null;
        }
        CommandResult result = command.run(dir, from, to, branch);
        if (result.succeeded()) {
            log.info("deploy id={}{} command exit=0 ms={}", run.id, run.label, result.ms());
        } else {
            log.warn("deploy id={}{} command {} ms={}", run.id, run.label,
                    result.timedOut() ? "timed-out" : "exit=" + result.exitCode(), result.ms());
        }
        for (String line : result.output()) {
            log.info("deploy id={}{} command output: {}", run.id, run.label, line);
        }
        return result;
    }

    /** Why the command failed, and its last line of output. */
    String failure(CommandResult result) {
        String why = result.timedOut()
                ? "deploy.command timed out after " + options.commandTimeout().toSeconds()
                + " s; its process group was killed"
                : "deploy.command exited with status " + result.exitCode();
        return why + (result.output().isEmpty() ? "" : ": " + result.output().get(result.output().size() - 1));
    }

    /**
     * {@code deploy.check.*} in {@code dir}, in phase HEALTH_CHECK; each failed try is logged and told to the
     * live log. Null when it passed or none is configured.
     */
    HealthCheck.Failure check(DeployRun run, Path dir, ObjectId tip) throws InterruptedException {
        if (health == null) {
            return null;
        }
        run.mark(Phase.HEALTH_CHECK);
        Consumer<String> live = output.get();
        return health.run(dir, run.from, tip.name(), branch, line -> {
            String masked = redactor.redact(line);
            log.warn("deploy id={}{} {}", run.id, run.label, masked);
            live.accept(masked);
        });
    }
}
