package dev.pullhook.http;

import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.DeploymentView;
import dev.pullhook.webhook.RecentDeliveries;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /status} as JSON: the unnamed (or only) site's fields at the top level, as a one-site daemon has
 * always answered, and every site under {@code sites}. Only the shape: the values come from each site's
 * deploy queue and delivery log.
 */
final class StatusJson {
    private StatusJson() {
    }

    static Map<String, Object> of(Collection<SiteEndpoint> sites) {
        Map<String, Object> body = new LinkedHashMap<>();
        List<Map<String, Object>> all = new ArrayList<>();
        for (SiteEndpoint site : sites) {
            all.add(site(site));
        }
        if (!all.isEmpty()) {
            body.putAll(all.get(0));
            body.remove("name");
        }
        body.put("sites", all);
        return body;
    }

    /** One site: where it is served, what it deploys, its queue, recent deploys and deliveries. */
    static Map<String, Object> site(SiteEndpoint site) {
        List<DeploymentView> recent = new ArrayList<>();
        for (Deployment d : site.deploys().history().recent()) {
            recent.add(d.view());
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", site.name());
        body.put("path", site.config().webhookPath());
        body.put("branch", site.config().branch());
        body.put("remote", site.config().remote());
        body.put("head", site.deploys().head().orElse(null));
        body.put("state", site.deploys().state().toString());
        body.put("deploys", recent);
        List<Map<String, Object>> seen = new ArrayList<>();
        for (RecentDeliveries.Entry e : site.receiver().deliveries().recent(site.config().historySize())) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("delivery", e.id());
            m.put("host", e.host().toString());
            m.put("event", e.event());
            m.put("at", e.at().toString());
            m.put("outcome", e.outcome().toString());
            m.put("deploy", e.deployId() == 0 ? null : e.deployId());
            seen.add(m);
        }
        body.put("deliveries", seen);
        return body;
    }
}
