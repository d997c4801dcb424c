package dev.pullhook.http;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /status} as JSON: the unnamed (or only) site's fields at the top level, as a one-site daemon has
 * always answered, and every site under {@code sites}, each a {@link SiteStatus}. Only the shape: the values
 * come from each site's deploy queue and delivery log.
 */
final class StatusJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private StatusJson() {
    }

    static Map<String, Object> of(Collection<SiteEndpoint> sites) {
        List<SiteStatus> all = sites.stream().map(SiteStatus::of).toList();
        Map<String, Object> body = new LinkedHashMap<>();
        if (!all.isEmpty()) {
            body.putAll(JSON.convertValue(all.get(0), new TypeReference<LinkedHashMap<String, Object>>() {
            }));
            body.remove("name");
        }
        body.put("sites", all);
        return body;
    }
}
