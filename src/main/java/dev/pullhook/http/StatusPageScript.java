package dev.pullhook.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The one script of the {@link StatusPage}, inline and allowed by its hash in the page's
 * {@code Content-Security-Policy} (nothing else may run, nothing may load but from the daemon itself). It keeps
 * the page current without a reload: it follows the running deploy's log ({@code EventSource} on each
 * {@code <pre data-log>}, the URL relative to the page so a path prefix of a proxy is kept), and every 5 s
 * compares {@code /status} with each site's {@code data-state} and {@code data-last}; on a change, or when a
 * followed deploy ends, it fetches the page again and swaps its body. It reads what the server escaped and
 * adds text nodes only. Without JavaScript the page is as before, only still.
 */
final class StatusPageScript {
    static final String SOURCE = """
            document.addEventListener('DOMContentLoaded', function () {
              var streams = [];
              function follow() {
                document.querySelectorAll('pre[data-log]').forEach(function (pre) {
                  var es = new EventSource(pre.getAttribute('data-log'));
                  streams.push(es);
                  function add(text) { pre.appendChild(document.createTextNode(text + '\\n')); }
                  es.addEventListener('phase', function (e) { add('[' + e.data + ']'); });
                  es.addEventListener('output', function (e) { add(e.data); });
                  es.addEventListener('skipped', function (e) { add('[' + e.data + ' earlier lines are no longer kept]'); });
                  es.addEventListener('end', refresh);
                  es.addEventListener('cut', refresh);
                });
              }
              function refresh() {
                streams.forEach(function (es) { es.close(); });
                streams = [];
                fetch(location.href, {headers: {Accept: 'text/html'}, cache: 'no-store'})
                  .then(function (r) { return r.text(); })
                  .then(function (html) {
                    document.body.innerHTML = new DOMParser().parseFromString(html, 'text/html').body.innerHTML;
                    follow();
                  }).catch(function () {});
              }
              function poll() {
                fetch('status', {headers: {Accept: 'application/json'}, cache: 'no-store'})
                  .then(function (r) { return r.json(); })
                  .then(function (json) {
                    var shown = document.querySelectorAll('section[data-state]');
                    var changed = shown.length !== json.sites.length;
                    json.sites.forEach(function (s, i) {
                      var last = s.deploys.length ? String(s.deploys[0].id) : '';
                      if (!changed && (shown[i].getAttribute('data-state') !== s.state
                          || shown[i].getAttribute('data-last') !== last)) {
                        changed = true;
                      }
                    });
                    if (changed) { refresh(); }
                  }).catch(function () {});
              }
              follow();
              setInterval(poll, 5000);
            });
            """;

    /** The CSP source that allows exactly {@link #SOURCE}: {@code 'sha256-<base64>'}. */
    static final String HASH = "'sha256-" + sha256(SOURCE) + "'";

    private StatusPageScript() {
    }

    private static String sha256(String text) {
        try {
            return Base64.getEncoder().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
