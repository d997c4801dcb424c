package dev.pullhook;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limits the shipped files set in front of pullhook and around it, read from the files themselves: the
 * NGINX site bounds body size, body and header time and requests per client, buffers bodies and sends HSTS;
 * the systemd unit makes the JVM exit (and systemd restart it) on OutOfMemoryError. NginxIT runs the site in
 * a real NGINX; bench/load.sh attacks both for a minute each.
 */
class EdgeLimitsTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir"));

    /** The {@code server { ... }} block that listens on 443 (braces inside it balanced). */
    private static String httpsServer() throws IOException {
        String conf = Files.readString(ROOT.resolve("nginx/pullhook.conf")).replaceAll("(?m)#.*$", "");
        int at = conf.indexOf("listen 443 ssl;");
        assertTrue(at > 0, "no listen 443 ssl in nginx/pullhook.conf");
        int start = conf.lastIndexOf("server {", at);
        int depth = 0;
        for (int i = start; i < conf.length(); i++) {
            if (conf.charAt(i) == '{') {
                depth++;
            } else if (conf.charAt(i) == '}' && --depth == 0) {
                return conf.substring(start, i + 1);
            }
        }
        throw new AssertionError("unbalanced braces in nginx/pullhook.conf");
    }

    private static void assertDirective(String block, String regex) {
        assertTrue(Pattern.compile("(?m)^\\s*" + regex + "\\s*;").matcher(block).find(), "missing: " + regex);
    }

    @Test
    void nginxSiteLimitsBodiesTimeAndRequestsPerClientAndSendsHsts() throws IOException {
        String conf = Files.readString(ROOT.resolve("nginx/pullhook.conf")).replaceAll("(?m)#.*$", "");
        Matcher zone = Pattern.compile("(?m)^limit_conn_zone \\$binary_remote_addr zone=(\\w+):\\d+m;").matcher(conf);
        assertTrue(zone.find(), "a limit_conn_zone keyed by the client address, outside the server blocks");
        String https = httpsServer();
        assertDirective(https, "limit_conn " + zone.group(1) + " \\d+");
        assertDirective(https, "client_max_body_size 5m");
        assertDirective(https, "client_body_timeout \\d+s");
        assertDirective(https, "client_header_timeout \\d+s");
        assertDirective(https, "proxy_request_buffering on");
        assertDirective(https, "add_header Strict-Transport-Security \"max-age=\\d{8,}[^\"]*\" always");
    }

    @Test
    void systemdUnitMakesTheJvmExitOnOutOfMemory() throws IOException {
        String unit = Files.readString(ROOT.resolve("systemd/pullhook.service"));
        Matcher exec = Pattern.compile("(?m)^ExecStart=((?:.*\\\\\\n)*.*)$").matcher(unit);
        assertTrue(exec.find(), "no ExecStart");
        String line = exec.group(1).replaceAll("\\\\\\n\\s*", " ");
        assertTrue(line.matches(".* -XX:\\+ExitOnOutOfMemoryError .*-jar .*"), line);
        assertTrue(unit.contains("\nRestart=on-failure\n"), "systemd restarts it after the exit");
    }
}
