package dev.pullhook.http;

import dev.pullhook.config.SiteConfig;
import dev.pullhook.deploy.DeployService;
import dev.pullhook.webhook.WebhookReceiver;

/** One site as the HTTP layer sees it: its settings, the receiver of its webhooks and its deploy queue. */
public record SiteEndpoint(SiteConfig config, WebhookReceiver receiver, DeployService deploys) {
    public String name() {
        return config.name();
    }
}
