package dev.pullhook.webhook;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A delivery's body as JSON, strictly: exactly one value, no key twice, read from the body or from the
 * URL-encoded {@code payload} field of GitHub's and Gitea's form deliveries. What is wrong is said without
 * echoing the input, which may be long or hostile.
 */
final class JsonBody {
    private static final ObjectMapper JSON = new ObjectMapper()
            // two values for one key is ambiguous: reject rather than guess which one a host meant
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // one JSON value and nothing after it: "{...} garbage" is not what a host sends
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonBody() {
    }

    /** The body's one JSON value: the body itself, or the {@code payload} field of a form delivery. */
    static JsonNode read(String contentType, byte[] body) throws BadBody {
        if (body.length == 0) {
            throw new BadBody("body is empty");
        }
        byte[] jsonBytes = body;
        String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
        if (type.startsWith("application/x-www-form-urlencoded")) {
            jsonBytes = formPayload(body);
        }
        try {
            JsonNode root = JSON.readTree(jsonBytes);
            if (root == null || root.isMissingNode()) {
                throw new BadBody("body is empty");
            }
            return root;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
            throw new BadBody("body is not valid JSON" + where + ": " + problem(e));
        } catch (IOException e) {
            throw new BadBody("body cannot be read as JSON");
        }
    }

    /** Jackson's own words without the echo of the input, which may be long or hostile. */
    private static String problem(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        if (m == null) {
            return "syntax error";
        }
        int quote = m.indexOf('\'');
        String cut = quote > 0 ? m.substring(0, quote).strip() : m;
        return PushEventParser.printable(cut.length() > 80 ? cut.substring(0, 80) : cut);
    }

    /** GitHub's and Gitea's form content type: the JSON is the URL-encoded {@code payload} field. */
    private static byte[] formPayload(byte[] body) throws BadBody {
        String form = new String(body, StandardCharsets.US_ASCII);
        byte[] payload = null;
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            if (name.equals("payload")) {
                if (payload != null) {
                    // as with duplicate JSON keys: two values are ambiguous
                    throw new BadBody("form body has more than one payload field");
                }
                try {
                    payload = URLDecoder.decode(eq < 0 ? "" : pair.substring(eq + 1), StandardCharsets.UTF_8)
                            .getBytes(StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw new BadBody("form field payload is not URL-encoded");
                }
            }
        }
        if (payload == null) {
            throw new BadBody("form body has no payload field");
        }
        return payload;
    }

    /** The JSON of a form delivery ({@code payload=<json>}), or null when {@code body} is not one. */
    static byte[] formJson(String contentType, byte[] body) {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) {
            return null;
        }
        try {
            return formPayload(body);
        } catch (BadBody e) {
            return null;
        }
    }

    /** Why a body is not what its host said: the words are fit for the 400's reason. */
    static final class BadBody extends Exception {
        private static final long serialVersionUID = 1L;

        BadBody(String message) {
            super(message, null, false, false);
        }
    }
}
