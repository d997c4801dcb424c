package dev.pullhook.http;

import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.report.StatusReporter;
import dev.pullhook.webhook.WebhookReceiver;

/**
 * One site as the HTTP layer sees it: its settings, the receiver of its webhooks, its deploy queue, and what
 * reports its deploys to the git host (null when it does not).
 */
public record SiteEndpoint(SiteConfig config, WebhookReceiver receiver, DeployService deploys, StatusReporter reporter) {
    public SiteEndpoint(SiteConfig config, WebhookReceiver receiver, DeployService deploys) {
        this(config, receiver, deploys, null);
    }

    public String name() {
        return config.name();
    }
}
