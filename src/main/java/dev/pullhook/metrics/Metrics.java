package dev.pullhook.metrics;

import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.report.ReportOutcome;
import dev.pullhook.report.StatusReporter;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The daemon's Prometheus metrics, per site, in a registry of its own (never the client library's global
 * default, so several daemons in one JVM keep their numbers apart), written in the Prometheus text format
 * for {@code GET /metrics} by the official client. It records what others report (the HTTP layer each
 * webhook's and rollback request's outcome, each site's {@link DeployService} each finished deploy) and reads the queue state when
 * scraped; it decides nothing and knows no HTTP.
 */
public final class Metrics {
    /** The {@code site} label of the unnamed site (the one at {@code /pull-repo}). */
    public static final String DEFAULT_SITE = "default";
    /** Seconds: a deploy is a fetch and a reset (sub-second) up to a long {@code deploy.command}. */
    private static final double[] DURATION_BUCKETS = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
    /** The answers {@code POST /rollback} gives. */
    private static final List<WebhookOutcome> ROLLBACK_OUTCOMES = List.of(WebhookOutcome.ACCEPTED,
            WebhookOutcome.FORBIDDEN, WebhookOutcome.TOO_LARGE, WebhookOutcome.UNAVAILABLE);

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Counter webhooks;
    private final Counter rollbacks;
    private final Counter deploys;
    private final Histogram duration;
    private final Gauge lastSuccess;
    private final Counter reports;
    private final Counter checkFailures;
    private final List<Queue> queues = new CopyOnWriteArrayList<>();
    /**
     * Each watched site's webhook counters by outcome (indexed by ordinal), looked up once: a flood of forged
     * requests would otherwise pay a label lookup per request.
     */
    private final Map<String, CounterDataPoint[]> webhookCounters = new ConcurrentHashMap<>();
    /** The same for each watched site's rollback counters. */
    private final Map<String, CounterDataPoint[]> rollbackCounters = new ConcurrentHashMap<>();

    private record Queue(String site, DeployService deploys) {
    }

    public Metrics() {
        webhooks = counter("pullhook_webhook_requests_total",
                "Requests to a site's webhook (POST /pull-repo), by outcome", "site", "outcome");
        rollbacks = counter("pullhook_rollback_requests_total",
                "Requests to a site's POST /rollback, by outcome: accepted, forbidden, too_large, unavailable",
                "site", "outcome");
        deploys = counter("pullhook_deploys_total",
                "Deploys (rollbacks included) that ended, by outcome: deployed, failed, cancelled", "site", "outcome");
        duration = Histogram.builder()
                .name("pullhook_deploy_duration_seconds")
                .help("How long deploys that ran took (deployed or failed), from the lock to the end of deploy.command")
                .unit(Unit.SECONDS)
                .labelNames("site")
                .classicOnly()
                .classicUpperBounds(DURATION_BUCKETS)
                .withoutExemplars()
                .register(registry);
        lastSuccess = Gauge.builder()
                .name("pullhook_deploy_last_success_timestamp_seconds")
                .help("When the last successful deploy of a site ended (Unix time); absent before the first one")
                .unit(Unit.SECONDS)
                .labelNames("site")
                .withoutExemplars()
                .register(registry);
        reports = counter("pullhook_report_requests_total",
                "Commit statuses posted to the git host (report.*), by outcome: sent; failed (refused, or no"
                        + " 2xx in 3 tries); dropped (queue full, or the daemon stopped first)",
                "site", "host", "outcome");
        checkFailures = counter("pullhook_deploy_check_failures_total",
                "Deploys whose health check (deploy.check.command or deploy.check.url) failed, by check and"
                        + " by what became of the working copy: restored (deploy.rollback.on.failure), kept (the"
                        + " new commit stays), restore_failed; atomic: not_switched",
                "site", "check", "result");
        GaugeWithCallback.builder()
                .name("pullhook_deploy_queue")
                .help("A site's deploy queue: 1 for its current state (idle, running, queued), 0 for the others")
                .labelNames("site", "state")
                .callback(callback -> {
                    for (Queue q : queues) {
                        DeployService.State now = q.deploys().state();
                        for (DeployService.State s : DeployService.State.values()) {
                            callback.call(s == now ? 1 : 0, q.site(), s.toString());
                        }
                    }
                })
                .register(registry);
    }

    private Counter counter(String name, String help, String... labels) {
        return Counter.builder().name(name).help(help).labelNames(labels).withoutExemplars().register(registry);
    }

    /** The {@code site} label of a site: its name, or {@value #DEFAULT_SITE} for the unnamed one. */
    public static String siteLabel(String siteName) {
        return siteName.isEmpty() ? DEFAULT_SITE : siteName;
    }

    /**
     * Starts recording a site: every series of it at 0 (so a rate over a missing series never hides an
     * event), the last successful deploy from its persisted history, and from now on each deploy as it ends.
     */
    public void watch(String siteName, DeployService siteDeploys) {
        String site = siteLabel(siteName);
        webhookCounters.put(siteName, counters(webhooks, site, List.of(WebhookOutcome.values())));
        rollbackCounters.put(siteName, counters(rollbacks, site, ROLLBACK_OUTCOMES));
        for (Deployment.Outcome o : Deployment.Outcome.values()) {
            deploys.initLabelValues(site, o.toString());
        }
        duration.initLabelValues(site);
        for (String check : List.of("command", "url")) {
            for (String result : List.of("restored", "kept", "restore_failed", "not_switched")) {
                checkFailures.initLabelValues(site, check, result);
            }
        }
        siteDeploys.history().recent().stream()
                .filter(d -> d.outcome() == Deployment.Outcome.DEPLOYED)
                .findFirst()
                .ifPresent(d -> lastSuccess.labelValues(site).set(endSeconds(d)));
        queues.add(new Queue(site, siteDeploys));
        siteDeploys.onFinished(d -> deployEnded(site, d));
    }

    /** Starts counting what a site's reporter posts to the git host: every outcome at 0 from now. */
    public void watch(String siteName, StatusReporter reporter) {
        String site = siteLabel(siteName);
        for (ReportOutcome o : ReportOutcome.values()) {
            reports.initLabelValues(site, reporter.host(), o.label());
        }
        reporter.onOutcome(o -> reports.labelValues(site, reporter.host(), o.label()).inc());
    }

    /** One request to a site's webhook ended with {@code outcome}. */
    public void webhook(String siteName, WebhookOutcome outcome) {
        count(webhooks, webhookCounters, siteName, outcome);
    }

    /** Counts one request to a site's {@code POST /rollback}: one of {@link #ROLLBACK_OUTCOMES}. */
    public void rollback(String siteName, WebhookOutcome outcome) {
        count(rollbacks, rollbackCounters, siteName, outcome);
    }

    /** A site's series of {@code counter} for {@code outcomes} (each at 0 from now), indexed by ordinal. */
    private static CounterDataPoint[] counters(Counter counter, String site, List<WebhookOutcome> outcomes) {
        CounterDataPoint[] byOutcome = new CounterDataPoint[WebhookOutcome.values().length];
        for (WebhookOutcome o : outcomes) {
            byOutcome[o.ordinal()] = counter.labelValues(site, o.label());
        }
        return byOutcome;
    }

    private static void count(Counter counter, Map<String, CounterDataPoint[]> watched, String siteName,
                              WebhookOutcome outcome) {
        CounterDataPoint[] byOutcome = watched.get(siteName);
        CounterDataPoint point = byOutcome == null ? null : byOutcome[outcome.ordinal()];
        (point != null ? point : counter.labelValues(siteLabel(siteName), outcome.label())).inc();
    }

    private void deployEnded(String site, Deployment d) {
        deploys.labelValues(site, d.outcome().toString()).inc();
        if (d.outcome() != Deployment.Outcome.CANCELLED) {
            duration.labelValues(site).observe(Unit.millisToSeconds(d.ms()));
        }
        if (d.check() != null) {
            String result = d.restored() != null ? "restored"
                    : d.error() != null && d.error().contains("; restoring ") ? "restore_failed"
                    : d.error() != null && d.error().contains("was not switched in") ? "not_switched" : "kept";
            checkFailures.labelValues(site, d.check(), result).inc();
        }
        if (d.outcome() == Deployment.Outcome.DEPLOYED) {
            lastSuccess.labelValues(site).set(endSeconds(d));
        }
    }

    private static double endSeconds(Deployment d) {
        return Unit.millisToSeconds(d.started().toEpochMilli() + d.ms());
    }

    /** Everything, in the Prometheus text format ({@link #contentType()}). */
    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try {
            writer.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // a ByteArrayOutputStream does not fail
        }
        return out.toByteArray();
    }

    /** {@code text/plain; version=0.0.4; charset=utf-8}. */
    public String contentType() {
        return writer.getContentType();
    }
}
