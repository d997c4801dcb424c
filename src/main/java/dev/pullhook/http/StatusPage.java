package dev.pullhook.http;

import dev.pullhook.deploy.CommandResult;
import dev.pullhook.deploy.Deployment;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * {@code GET /status} for a browser: a small HTML page of every site (branch, HEAD, queue, the last deploys
 * with outcome and duration, the last command output, the running deploy's live log). Every value is
 * HTML-escaped, since branch names, errors and command output are not ours to trust; the one script, which keeps
 * the page current, is {@link StatusPageScript}, allowed by its hash. It renders; choosing it over JSON is
 * {@link #wanted}, and what the data means is the deploy package's business.
 */
final class StatusPage {
    /** Sent with the page: nothing but its own inline style and script may load or run; it may ask the daemon only. */
    static final String CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src "
            + StatusPageScript.HASH + "; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";
    private static final int DEPLOYS_SHOWN = 10;
    private static final String STYLE = "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:75em;"
            + "padding:0 1em}table{border-collapse:collapse;margin:.4em 0 1em}th,td{border-bottom:1px solid #ddd;"
            + "padding:.25em .7em;text-align:left;vertical-align:top}code,pre{font:12px ui-monospace,monospace}"
            + "pre{background:#f5f5f5;padding:.7em;overflow:auto;white-space:pre-wrap}.deployed{color:#080}"
            + ".failed{color:#b00}.cancelled{color:#777}section{border-top:2px solid #333;margin-top:1.5em}";

    private StatusPage() {
    }

    /**
     * Whether an {@code Accept} header asks for HTML rather than JSON: it names {@code text/html} with a
     * quality above that of {@code application/json} (absent = 0). {@code *}{@code /*} alone, or no header
     * (curl, scripts), keeps the JSON default; a browser's {@code text/html,...,*}{@code /*;q=0.8} gets HTML.
     */
    static boolean wanted(String accept) {
        if (accept == null) {
            return false;
        }
        double html = 0;
        double json = 0;
        for (String part : accept.split(",")) {
            String[] fields = part.split(";");
            String type = fields[0].strip().toLowerCase(Locale.ROOT);
            double q = 1;
            for (int i = 1; i < fields.length; i++) {
                String f = fields[i].strip();
                if (f.startsWith("q=") || f.startsWith("Q=")) {
                    try {
                        q = Double.parseDouble(f.substring(2));
                    } catch (NumberFormatException e) {
                        q = 0;
                    }
                }
            }
            if (type.equals("text/html")) {
                html = Math.max(html, q);
            } else if (type.equals("application/json")) {
                json = Math.max(json, q);
            }
        }
        return html > 0 && html > json;
    }

    static String render(Collection<SiteEndpoint> sites, Instant now) {
        StringBuilder h = new StringBuilder(8192);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>pullhook status</title><style>").append(STYLE).append("</style><script>")
                .append(StatusPageScript.SOURCE).append("</script></head>\n<body>\n")
                .append("<h1>pullhook</h1>\n<p>").append(esc(now.truncatedTo(ChronoUnit.SECONDS).toString()))
                .append(" &middot; ").append(sites.size()).append(sites.size() == 1 ? " site" : " sites")
                .append(" &middot; the same as JSON: <code>curl /status</code></p>\n");
        for (SiteEndpoint site : sites) {
            site(h, site);
        }
        return h.append("</body></html>\n").toString();
    }

    private static void site(StringBuilder h, SiteEndpoint site) {
        List<Deployment> deploys = site.deploys().history().recent();
        // what the script compares with /status to know when to fetch the page again
        h.append("<section data-state=\"").append(esc(site.deploys().state().toString())).append("\" data-last=\"")
                .append(deploys.isEmpty() ? "" : deploys.get(0).id()).append("\">\n<h2>")
                .append(site.name().isEmpty() ? "default site" : "site " + esc(site.name())).append("</h2>\n<table>\n");
        row(h, "webhook", "<code>POST " + esc(site.config().webhookPath()) + "</code>");
        row(h, "branch", "<code>" + esc(site.config().remote()) + "/" + esc(site.config().branch()) + "</code>");
        row(h, "HEAD", "<code>" + esc(site.deploys().head().orElse("(none)")) + "</code>");
        row(h, "queue", esc(site.deploys().state().toString()));
        h.append("</table>\n");
        site.deploys().live().active().ifPresent(log -> h.append("<h3>Deploy ").append(log.id())
                .append(" now</h3>\n<pre class=\"live\" data-log=\"").append(esc(DeployLogRoute.path(site, log.id())))
                .append("\"></pre>\n"));
        h.append("<h3>Last deploys</h3>\n");
        if (deploys.isEmpty()) {
            h.append("<p>none yet</p>\n");
        } else {
            deploys(h, deploys.subList(0, Math.min(DEPLOYS_SHOWN, deploys.size())));
        }
        h.append("<h3>Last command output</h3>\n");
        Deployment withCommand = deploys.stream().filter(d -> d.command() != null).findFirst().orElse(null);
        if (withCommand == null) {
            h.append("<p>no deploy.command has run</p>\n");
        } else {
            CommandResult c = withCommand.command();
            h.append("<p>deploy ").append(withCommand.id()).append(": ")
                    .append(c.timedOut() ? "timed out" : "exit " + c.exitCode()).append(", ").append(c.ms())
                    .append(" ms</p>\n<pre>");
            for (String line : c.output()) {
                h.append(esc(line)).append('\n');
            }
            h.append("</pre>\n");
        }
        h.append("</section>\n");
    }

    /** The table of the last deploys, newest first. */
    private static void deploys(StringBuilder h, List<Deployment> shown) {
        h.append("<table>\n<tr><th>id</th><th>started</th><th>trigger</th><th>outcome</th><th>duration</th>"
                + "<th>from</th><th>to</th><th>error</th></tr>\n");
        for (Deployment d : shown) {
            String outcome = d.outcome().toString();
            h.append("<tr><td>").append(d.id())
                    .append("</td><td>").append(esc(d.started().truncatedTo(ChronoUnit.SECONDS).toString()))
                    .append("</td><td>").append(esc(d.trigger().toString()))
                    .append("</td><td class=\"").append(esc(outcome)).append("\">").append(esc(outcome))
                    .append("</td><td>").append(d.ms()).append(" ms")
                    .append("</td><td><code>").append(esc(abbrev(d.from())))
                    .append("</code></td><td><code>").append(esc(abbrev(d.to())))
                    .append("</code></td><td>").append(esc(d.error()))
                    .append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static void row(StringBuilder h, String name, String html) {
        h.append("<tr><th>").append(name).append("</th><td>").append(html).append("</td></tr>\n");
    }

    private static String abbrev(String commit) {
        return commit == null ? "" : commit.substring(0, Math.min(7, commit.length()));
    }

    /** Text made safe for HTML content and quoted attribute values. */
    static String esc(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                // control characters (a terminal's colour codes in command output) are shown, not passed on
                default -> out.append(c < 0x20 && c != '\t' || c == 0x7f ? '\uFFFD' : c);
            }
        }
        return out.toString();
    }
}
