package dev.pullhook.http;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.DeploymentView;
import dev.pullhook.webhook.RecentDeliveries;

import java.util.ArrayList;
import java.util.List;

/**
 * One site in {@code GET /status}, the shape Jackson writes for the daemon and reads for {@code pullhook
 * status}: where it is served, what it deploys, its queue, its recent deploys ({@link DeploymentView}) and
 * deliveries. Field names and order are a contract scripts read ({@code StatusJsonTest}).
 *
 * @param head  HEAD's commit, or null for an empty working copy
 * @param state the queue's {@code DeployService.State}, lower case
 */
@JsonPropertyOrder({"name", "path", "branch", "remote", "head", "state", "deploys", "deliveries"})
@JsonIgnoreProperties(ignoreUnknown = true)
public record SiteStatus(String name, String path, String branch, String remote, String head, String state,
                         List<DeploymentView> deploys, List<Delivery> deliveries) {

    /** A delivery seen: its id, host and event, when, what came of it, and the deploy it joined (or null). */
    @JsonPropertyOrder({"delivery", "host", "event", "at", "outcome", "deploy"})
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Delivery(String delivery, String host, String event, String at, String outcome, Long deploy) {
    }

    /** {@code /status} as a client reads it: every site (the top level's copy of the first is left aside). */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record All(List<SiteStatus> sites) {
    }

    static SiteStatus of(SiteEndpoint site) {
        List<DeploymentView> recent = new ArrayList<>();
        for (Deployment d : site.deploys().history().recent()) {
            recent.add(d.view());
        }
        List<Delivery> seen = new ArrayList<>();
        for (RecentDeliveries.Entry e : site.receiver().deliveries().recent(site.config().historySize())) {
            seen.add(new Delivery(e.id(), e.host().toString(), e.event(), e.at().toString(), e.outcome().toString(),
                    e.deployId() == 0 ? null : e.deployId()));
        }
        return new SiteStatus(site.name(), site.config().webhookPath(), site.config().branch(),
                site.config().remote(), site.deploys().head().orElse(null), site.deploys().state().toString(),
                recent, seen);
    }
}
