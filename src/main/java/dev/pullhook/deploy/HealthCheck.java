package dev.pullhook.deploy;

import dev.pullhook.config.CheckOptions;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs {@code deploy.check.command} and then GETs {@code deploy.check.url}, after {@code deploy.command}:
 * each passes on exit status 0 / the expected HTTP status, and is tried {@code 1 + deploy.check.retries}
 * times with a short growing pause between tries (an application often needs a moment to come up). The
 * command runs like {@code deploy.command} ({@link DeployCommand}: same folder, same environment hygiene,
 * output masked into the live log). Says what failed; what to do about it is its caller's business: the
 * {@link Deployer} keeps or restores the commit before, {@link AtomicRelease} does not switch the release in.
 */
final class HealthCheck {
    /** The pause before the n-th retry is n times this, so 3 retries wait 0.5 + 1 + 1.5 s at most. */
    static final long BACKOFF_MS = 500;

    /** Which check failed and why, for the history ({@code check}) and the error. */
    record Failure(String check, String why) {
    }

    private final CheckOptions options;
    private final DeployCommand command;
    private final HttpClient http;

    HealthCheck(CheckOptions options, Path workDir, SecretRedactor redactor, Supplier<Consumer<String>> output) {
        this.options = options;
        this.command = options.command() == null ? null
                : new DeployCommand(options.command(), workDir, options.timeout(), redactor, output);
        this.http = options.url() == null ? null : HttpClient.newBuilder()
                .connectTimeout(options.timeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * Runs the configured checks; null when all passed.
     *
     * @param dir  where the command runs: {@code repo.path}, or an atomic deploy's new release
     * @param note told one line per failed try (for the log and the live log)
     */
    Failure run(Path dir, String from, String to, String branch, Consumer<String> note) throws InterruptedException {
        if (command != null) {
            String why = tries(() -> commandProblem(dir, from, to, branch), note);
            if (why != null) {
                return new Failure("command", "deploy.check.command " + why);
            }
        }
        if (http != null) {
            String why = tries(this::urlProblem, note);
            if (why != null) {
                return new Failure("url", "deploy.check.url " + why);
            }
        }
        return null;
    }

    private interface Try {
        String problem() throws InterruptedException;
    }

    /** The last try's problem, or null as soon as one passes. */
    private String tries(Try one, Consumer<String> note) throws InterruptedException {
        String why = null;
        for (int attempt = 0; attempt <= options.retries(); attempt++) {
            if (attempt > 0) {
                Thread.sleep(BACKOFF_MS * attempt);
            }
            why = one.problem();
            if (why == null) {
                return null;
            }
            note.accept("health check try " + (attempt + 1) + " of " + (options.retries() + 1) + " failed: " + why);
        }
        return why;
    }

    private String commandProblem(Path dir, String from, String to, String branch) {
        try {
            CommandResult r = command.run(dir, from, to, branch);
            if (r.succeeded()) {
                return null;
            }
            String last = r.output().isEmpty() ? "" : ": " + r.output().get(r.output().size() - 1);
            return (r.timedOut() ? "timed out after " + options.timeout().toSeconds() + " s"
                    : "exited with status " + r.exitCode()) + last;
        } catch (IOException e) {
            return "could not run: " + e.getMessage();
        }
    }

    private String urlProblem() throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(options.url()).GET().timeout(options.timeout())
                .header("User-Agent", "pullhook-health-check").build();
        try {
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == options.status() ? null
                    : "answered " + response.statusCode() + ", expected " + options.status();
        } catch (java.net.http.HttpTimeoutException e) {
            return "did not answer within " + options.timeout().toSeconds() + " s";
        } catch (IOException e) {
            return "could not be reached (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
        }
    }
}
