package dev.pullhook.config;

import java.nio.file.Path;

/**
 * Credentials for the remote ({@code git.*} keys). All optional: without them JGit uses the service user's
 * {@code ~/.ssh} and no HTTPS credentials.
 *
 * @param sshKey        private key file for SSH remotes ({@code git.ssh.key}), or null
 * @param knownHosts    the only host keys trusted for SSH remotes ({@code git.ssh.known.hosts}), or null
 * @param httpsUsername user name for HTTPS remotes ({@code git.https.username}), or null
 * @param httpsPassword its password or token (file {@code git.https.password.file} or the systemd
 *                      credential {@code git-password}), or null
 */
public record GitAuth(Path sshKey, Path knownHosts, String httpsUsername, Secret httpsPassword) {
    public static final GitAuth NONE = new GitAuth(null, null, null, null);

    @Override
    public String toString() {
        return "git.ssh.key=" + (sshKey == null ? "(none)" : "\"" + sshKey + "\"")
                + " git.ssh.known.hosts=" + (knownHosts == null ? "(none)" : "\"" + knownHosts + "\"")
                + " git.https.username=" + (httpsUsername == null ? "(none)" : "\"" + httpsUsername + "\"")
                + " git.https.password=" + (httpsPassword == null ? "(none)" : "**** (" + httpsPassword.source() + ")");
    }
}
