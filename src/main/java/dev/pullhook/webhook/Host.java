package dev.pullhook.webhook;

import java.util.Locale;

/** The sender of a webhook, recognised from its headers; {@link #MANUAL} when no host header is present. */
public enum Host {
    BITBUCKET_CLOUD, BITBUCKET_DC, GITHUB, GITLAB, GITEA, FORGEJO, GOGS, MANUAL;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
