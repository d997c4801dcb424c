package dev.pullhook.report;

import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ReportOptions;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.Trigger;
import dev.pullhook.deploy.SecretRedactor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Shows one site's deploys on the git host as commit statuses ({@code report.*}): pending when a deploy knows
 * its commit, then success or failure. It never holds up or fails a deploy: the deploy worker only queues a
 * status, and a thread of the site's own posts them in order (so a pending never overwrites the final word),
 * each with up to three tries (after 1 s and 4 s; 10 s each), one WARN line when a status could not be
 * posted, and every outcome counted ({@link #onOutcome}). The token goes only into the request's header:
 * never into a log line, an error or {@code /status}.
 */
public final class StatusReporter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StatusReporter.class);
    /** Waits before the second and the third try. */
    static final List<Duration> BACKOFF = List.of(Duration.ofSeconds(1), Duration.ofSeconds(4));
    /** To connect, and for the whole answer of one try. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** Statuses waiting at most: 32 deploys' worth. A host down for long loses the oldest news, not memory. */
    private static final int QUEUE = 64;
    /** How much of a refusal's body the log line quotes. */
    private static final int QUOTED = 200;
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
    private static volatile HttpClient shared;

    private final String label;
    private final HostApi api;
    private final String repo;
    private final HttpClient http;
    private final List<Duration> backoff;
    private final SecretRedactor redactor;
    private final ThreadPoolExecutor sender;
    private final List<Consumer<ReportOutcome>> listeners = new CopyOnWriteArrayList<>();
    /** Per deploy under way, the commit its statuses go on. */
    private final Map<Long, String> commits = new ConcurrentHashMap<>();

    StatusReporter(SiteConfig site, String repo, HttpClient http, List<Duration> backoff, Duration timeout) {
        ReportOptions options = site.report();
        this.label = site.name().isEmpty() ? "" : " site=" + site.name();
        this.repo = repo;
        this.api = new HostApi(options, repo, site.branch(), timeout);
        this.http = http;
        this.backoff = List.copyOf(backoff);
        this.redactor = new SecretRedactor().registerAll(site.secrets());
        String suffix = site.name().isEmpty() ? "" : "-" + site.name();
        this.sender = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "report" + suffix);
            t.setDaemon(true);
            return t;
        });
        sender.allowCoreThreadTimeOut(true);  // no thread while nothing is to be sent
    }

    /**
     * The reporter of a site that has {@code report.host} set, or null when it has not.
     *
     * @param remoteUrl the URL the site fetches from, to find the repository when {@code report.repo} is unset
     * @throws ConfigException when {@code report.repo} is unset and the URL names no repository on the host
     */
    public static StatusReporter of(SiteConfig site, String remoteUrl) throws ConfigException {
        ReportOptions options = site.report();
        if (options == null) {
            return null;
        }
        String repo = options.repo();
        if (repo == null) {
            repo = HostRepo.fromRemoteUrl(options.host(), remoteUrl, options.api());
            if (repo == null) {
                throw new ConfigException(List.of(site.keyPrefix() + "report.repo: not set, and the URL of remote "
                        + site.remote() + " (" + (remoteUrl == null ? "none" : redact(remoteUrl)) + ") names no "
                        + options.host() + " repository; set it (owner/name, workspace/slug, project/slug, or a"
                        + " GitLab project id or path)"));
            }
        }
        return new StatusReporter(site, repo, client(), BACKOFF, TIMEOUT);
    }

    private static String redact(String url) {
        return new SecretRedactor().redact(url);
    }

    /** One client for the daemon, made when the first site reports (it costs threads and memory). */
    private static HttpClient client() {
        HttpClient c = shared;
        if (c == null) {
            synchronized (StatusReporter.class) {
                if (shared == null) {
                    shared = HttpClient.newBuilder()
                            .connectTimeout(TIMEOUT)
                            .followRedirects(HttpClient.Redirect.NEVER)  // the token goes to report.url only
                            .version(HttpClient.Version.HTTP_1_1)
                            .build();
                }
                c = shared;
            }
        }
        return c;
    }

    /** Starts reporting {@code deploys}; logs where to, once. */
    public StatusReporter watch(DeployService deploys) {
        deploys.onStarted(this::started);
        deploys.onFinished(this::finished);
        log.info("reporting deploys{} to host={} repo={} as {}", label, api.host(), repo,
                api.uri("0".repeat(40)).toString().replace("0".repeat(40), "<commit>"));
        return this;
    }

    /** The {@code report.host} value, for the metric's {@code host} label. */
    public String host() {
        return api.host().key();
    }

    /** Tells {@code listener} how each status ended; called on the reporter's thread (or the deploy worker's, for a drop). */
    public void onOutcome(Consumer<ReportOutcome> listener) {
        listeners.add(listener);
    }

    void started(DeployService.Started s) {
        if (s.to() == null || !COMMIT.matcher(s.to()).matches()) {
            return;
        }
        commits.put(s.id(), s.to());
        String doing = s.trigger() == Trigger.ROLLBACK ? "rolling back" : "deploying";
        queue(new CommitStatus(s.id(), s.to(), CommitStatus.State.PENDING, doing + " (deploy " + s.id() + ")"));
    }

    void finished(Deployment d) {
        String commit = commits.remove(d.id());
        if (commit == null || d.outcome() == Deployment.Outcome.CANCELLED) {
            // it never knew its commit (a manual deploy whose fetch failed; one dropped at shutdown): nothing to show it on
            log.debug("report skipped{} deploy={} outcome={}: no commit to report on", label, d.id(), d.outcome());
            return;
        }
        boolean rollback = d.trigger() == Trigger.ROLLBACK;
        CommitStatus status = d.outcome() == Deployment.Outcome.DEPLOYED
                ? new CommitStatus(d.id(), commit, CommitStatus.State.SUCCESS,
                        (rollback ? "rolled back in " : "deployed in ") + duration(d.ms()))
                : new CommitStatus(d.id(), commit, CommitStatus.State.FAILURE,
                        (rollback ? "rollback failed: " : "failed: ") + redactor.redact(d.error()));
        queue(status);
    }

    /** {@code 850 ms}, {@code 1.2 s}, {@code 3 min 5 s}. */
    static String duration(long ms) {
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        return (ms / 60_000) + " min " + (ms % 60_000) / 1000 + " s";
    }

    private void queue(CommitStatus status) {
        try {
            sender.execute(() -> {
                try {
                    send(status);
                } catch (RuntimeException e) {
                    log.warn("report failed{} host={} state={} commit={} deploy={} error=\"{}\"", label, api.host(),
                            status.state(), abbrev(status.commit()), status.deploy(), redactor.redact(e.toString()));
                    tell(ReportOutcome.FAILED);
                }
            });
        } catch (RejectedExecutionException e) {
            log.warn("report dropped{} host={} state={} commit={} deploy={} reason=\"{}\"", label, api.host(),
                    status.state(), abbrev(status.commit()), status.deploy(),
                    sender.isShutdown() ? "the daemon is stopping" : "queue full: the host has been failing or slow");
            tell(ReportOutcome.DROPPED);
        }
    }

    /** On the reporter's thread: posts one status, with retries; the outcome is logged (once) and counted. */
    private void send(CommitStatus status) {
        HttpRequest request = api.request(status);
        long t0 = System.nanoTime();
        String error = null;
        int tries = 0;
        while (tries <= backoff.size()) {
            if (tries > 0 && !pause(backoff.get(tries - 1))) {
                dropped(status, "the daemon stopped while waiting to try again");
                return;
            }
            tries++;
            try {
                HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                int code = response.statusCode();
                String body = quote(response.body());
                if (code / 100 == 2) {
                    log.info("report sent{} host={} state={} commit={} deploy={} ms={}{}", label, api.host(),
                            status.state(), abbrev(status.commit()), status.deploy(), elapsedMs(t0),
                            tries > 1 ? " tries=" + tries : "");
                    tell(ReportOutcome.SENT);
                    return;
                }
                error = "HTTP " + code + (code / 100 == 3
                        ? " (a redirect, not followed: report.url must be the API's own address)"
                        : body.isEmpty() ? "" : ": " + body);
                if (!retryable(code)) {
                    break;
                }
            } catch (HttpTimeoutException e) {
                error = "no answer within " + TIMEOUT.toSeconds() + " s";
            } catch (ConnectException e) {
                error = "cannot connect: " + (e.getMessage() == null ? "connection refused" : e.getMessage());
            } catch (IOException e) {
                error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                dropped(status, "the daemon stopped while it was being sent");
                return;
            }
        }
        log.warn("report failed{} host={} state={} commit={} deploy={} tries={} url={} error=\"{}\"", label, api.host(),
                status.state(), abbrev(status.commit()), status.deploy(), tries, request.uri(),
                HostApi.cut(redactor.redact(error), 400));
        tell(ReportOutcome.FAILED);
    }

    /** Worth another try: the host's trouble (5xx), too many requests, a timeout on its side, a conflict (GitLab's lock). */
    private static boolean retryable(int code) {
        return code >= 500 || code == 429 || code == 408 || code == 409;
    }

    /** The start of a refusal's body, on one line, for the log; at most a few KiB are read. */
    private String quote(InputStream body) {
        try (body) {
            String text = new String(body.readNBytes(4096), StandardCharsets.UTF_8);
            return HostApi.cut(redactor.redact(text), QUOTED);
        } catch (IOException e) {
            return "";
        }
    }

    private boolean pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void dropped(CommitStatus status, String why) {
        log.warn("report dropped{} host={} state={} commit={} deploy={} reason=\"{}\"", label, api.host(),
                status.state(), abbrev(status.commit()), status.deploy(), why);
        tell(ReportOutcome.DROPPED);
    }

    private void tell(ReportOutcome outcome) {
        for (Consumer<ReportOutcome> l : listeners) {
            try {
                l.accept(outcome);
            } catch (RuntimeException e) {
                log.warn("report listener failed{}: {}", label, e.toString());
            }
        }
    }

    private static String abbrev(String commit) {
        return commit.substring(0, 7);
    }

    private static long elapsedMs(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /**
     * Sends what is queued for up to {@code wait} (the final status of the deploy that the stop let finish),
     * then gives up on the rest: counted as dropped, one line in the log.
     */
    public void close(Duration wait) {
        sender.shutdown();
        try {
            if (!sender.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                // the one being sent, interrupted, logs and counts itself
                List<Runnable> left = sender.shutdownNow();
                if (!left.isEmpty()) {
                    log.warn("report dropped{} statuses={} reason=\"not sent within {} s of stopping\"", label,
                            left.size(), wait.toSeconds());
                }
                for (int i = 0; i < left.size(); i++) {
                    tell(ReportOutcome.DROPPED);
                }
            }
        } catch (InterruptedException e) {
            sender.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
