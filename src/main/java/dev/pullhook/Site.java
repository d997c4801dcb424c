package dev.pullhook;

import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.config.DeployOptions;
import dev.pullhook.config.RepoCheck;
import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.deploy.StateDir;
import dev.pullhook.git.GitRepoCheck;
import dev.pullhook.git.WorkingCopy;
import dev.pullhook.http.SiteEndpoint;
import dev.pullhook.report.StatusReporter;
import dev.pullhook.webhook.PushEventParser;
import dev.pullhook.webhook.RecentDeliveries;
import dev.pullhook.webhook.RejectionLog;
import dev.pullhook.webhook.WebhookAuthenticator;
import dev.pullhook.webhook.WebhookReceiver;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Where a site's objects are built from its {@link SiteConfig}, for the daemon, {@code pullhook deploy} /
 * {@code rollback} and {@code pullhook check} alike: its working copy, its state folder, its deploy queue on
 * them, and, in the daemon, the receiver of its webhooks (with its delivery journal) and what reports its
 * deploys to the git host. An instance is a site's working copy with its deploy queue; closing it closes the
 * working copy (the state folder is the caller's, opened before and closed after).
 */
public final class Site implements AutoCloseable {
    /** How many deliveries, and for how long, a site remembers to recognise a redelivery. */
    private static final int DELIVERIES_KEPT = 1000;
    private static final Duration DELIVERIES_FOR = Duration.ofDays(7);

    private final SiteConfig config;
    private final StateDir state;
    private final WorkingCopy workingCopy;
    private final DeployService deploys;

    private Site(SiteConfig config, StateDir state, WorkingCopy workingCopy, DeployService deploys) {
        this.config = config;
        this.state = state;
        this.workingCopy = workingCopy;
        this.deploys = deploys;
    }

    /**
     * The site's working copy at {@code repo.path} (git opens it on first use); in {@code deploy.mode=atomic},
     * the bare {@code repo.path/repo.git} that its releases share and are checked out from.
     */
    public static WorkingCopy workingCopy(SiteConfig site) {
        if (site.deploy().mode() == DeployOptions.Mode.ATOMIC) {
            return WorkingCopy.releaseStore(site.repoPath().resolve(RepoCheck.RELEASE_STORE),
                    site.remote(), site.branch(), site.gitTimeout(), site.gitAuth(), site.git());
        }
        return new WorkingCopy(site.repoPath(), site.remote(), site.branch(), site.gitTimeout(), site.gitAuth(),
                site.git());
    }

    /** Opens a site's {@code state.dir} and takes its lock, or fails naming the key. */
    public static StateDir openState(SiteConfig site) throws ConfigException {
        String key = site.keyPrefix() + "state.dir";
        try {
            return StateDir.open(site.deploy().stateDir());
        } catch (StateDir.AlreadyLocked e) {
            throw new ConfigException(List.of(key + ": " + e.getMessage()));
        } catch (IOException e) {
            throw new ConfigException(List.of(key + ": " + StateDir.problem(site.deploy().stateDir(), e)));
        }
    }

    /**
     * The site's working copy and its deploy queue on a state folder this process holds. Nothing runs until
     * the queue is started or given a job.
     *
     * @param watchTree whether to watch the working tree when {@code deploy.watch} asks for it: only a daemon
     *                  lives long enough for the watch to pay
     */
    public static Site open(SiteConfig config, StateDir state, boolean watchTree) {
        WorkingCopy workingCopy = workingCopy(config);
        try {
            if (watchTree && config.deploy().watch() && config.deploy().mode() == DeployOptions.Mode.IN_PLACE) {
                workingCopy.watchTree();
            }
            return new Site(config, state, workingCopy, new DeployService(workingCopy, config, state));
        } catch (RuntimeException e) {
            workingCopy.close();
            throw e;
        }
    }

    /**
     * What reports a site's deploys to its git host, or null when it has no {@code report.host}; the
     * repository on the host comes from the remote's URL unless {@code report.repo} names it.
     */
    public static StatusReporter reporter(SiteConfig site) throws ConfigException {
        return StatusReporter.of(site, site.report() == null || site.report().repo() != null ? null
                : GitRepoCheck.remoteUrl(site.repoPath(), site.remote()));
    }

    /**
     * The site as the daemon's HTTP layer sees it: the receiver of its webhooks (verified with its secret and
     * signing key, its deliveries journaled in the state folder), its deploy queue, and its reporter, which
     * starts watching the queue here.
     *
     * @param rejections shared by all sites: the budget of logged rejections is per client address
     * @param reporter   null when the site reports nothing
     */
    public SiteEndpoint endpoint(RejectionLog rejections, StatusReporter reporter) {
        WebhookReceiver receiver = new WebhookReceiver(config.name(),
                new WebhookAuthenticator(config.secret().bytes(),
                        config.signingKey() == null ? null : ConfigLoader.signingKeyBytes(config.signingKey())),
                new PushEventParser(config.branch()),
                new RecentDeliveries(DELIVERIES_KEPT, DELIVERIES_FOR, Clock.systemUTC(),
                        state.path().resolve("deliveries")),
                deploys, rejections);
        if (reporter != null) {
            reporter.watch(deploys);
        }
        return new SiteEndpoint(config, receiver, deploys, reporter);
    }

    public WorkingCopy workingCopy() {
        return workingCopy;
    }

    public DeployService deploys() {
        return deploys;
    }

    @Override
    public void close() {
        workingCopy.close();
    }
}
