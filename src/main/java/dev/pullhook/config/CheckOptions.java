package dev.pullhook.config;

import java.net.URI;
import java.time.Duration;

/**
 * The health check that runs after {@code deploy.command} (the {@code deploy.check.*} keys): a command, a URL,
 * or both. A check that fails fails the deploy; what happens to the working copy then is
 * {@link DeployOptions#rollbackOnFailure()}'s business, not this record's.
 *
 * @param command {@code deploy.check.command}: run like {@code deploy.command}, passes on exit status 0; or null
 * @param url     {@code deploy.check.url}: an http or https URL answered by a GET; or null
 * @param status  {@code deploy.check.status}: the status the URL must answer
 * @param timeout {@code deploy.check.timeout.seconds}: the limit of one try (the request, or the command)
 * @param retries {@code deploy.check.retries}: tries after the first failed one, with a short backoff
 */
public record CheckOptions(String command, URI url, int status, Duration timeout, int retries) {

    /** Whether any check is configured. */
    public boolean any() {
        return command != null || url != null;
    }

    @Override
    public String toString() {
        return "deploy.check.command=" + (command == null ? "(none)" : "\"" + command + "\"")
                + " deploy.check.url=" + (url == null ? "(none)" : "\"" + url + "\"")
                + " deploy.check.status=" + status
                + " deploy.check.timeout.seconds=" + timeout.toSeconds()
                + " deploy.check.retries=" + retries;
    }
}
