package dev.pullhook.git;

import dev.pullhook.config.GitAuth;
import org.eclipse.jgit.api.TransportCommand;
import org.eclipse.jgit.transport.SshTransport;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.transport.sshd.SshdSessionFactory;
import org.eclipse.jgit.transport.sshd.SshdSessionFactoryBuilder;
import org.eclipse.jgit.util.FS;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * The credentials of the remote, applied to every command that talks to it: SSH with exactly the
 * configured key and known_hosts (no {@code ~/.ssh/config}; host keys checked strictly, never trusted on
 * first use), HTTPS with a user and password or token given to JGit directly (never written to
 * {@code .git/config}). Also turns JGit's authentication errors into what to do about them.
 */
final class RemoteAuth implements AutoCloseable {
    private final GitAuth auth;
    private final SshdSessionFactory ssh;
    /** For hosts other than the origin's: host keys checked as strictly, but no deploy key offered. */
    private SshdSessionFactory anonymousSsh;

    RemoteAuth(GitAuth auth) {
        this.auth = auth;
        this.ssh = auth.sshKey() == null && auth.knownHosts() == null ? null : sshFactory(auth);
    }

    private static SshdSessionFactory sshFactory(GitAuth auth) {
        return sshFactory(auth, true);
    }

    private static SshdSessionFactory sshFactory(GitAuth auth, boolean withKey) {
        File home = FS.DETECTED.userHome();
        SshdSessionFactoryBuilder b = new SshdSessionFactoryBuilder()
                .setHomeDirectory(home)
                .setSshDirectory(auth.sshKey() != null ? auth.sshKey().getParent().toFile() : new File(home, ".ssh"))
                .setConfigFile(f -> null);
        if (!withKey) {
            b.setDefaultIdentities(f -> List.of());
        } else if (auth.sshKey() != null) {
            b.setDefaultIdentities(f -> List.of(auth.sshKey()));
        }
        if (auth.knownHosts() != null) {
            b.setDefaultKnownHostsFiles(f -> List.of(auth.knownHosts()));
        }
        return b.build(null);
    }

    /** Applies the configured credentials to a command that talks to the remote. */
    <C extends TransportCommand<C, ?>> C apply(C command) {
        if (ssh != null) {
            command.setTransportConfigCallback(this::useSsh);
        }
        if (auth.httpsUsername() != null && auth.httpsPassword() != null) {
            command.setCredentialsProvider(credentials());
        }
        return command;
    }

    /** Applies the configured credentials to a transport opened directly. */
    Transport apply(Transport transport) {
        useSsh(transport);
        if (auth.httpsUsername() != null && auth.httpsPassword() != null) {
            transport.setCredentialsProvider(credentials());
        }
        return transport;
    }

    /**
     * Applies the credentials to a submodule command: the deploy key and the HTTPS password go only to the
     * origin's own host ({@code originHost}), the password only over https; other hosts get no credentials
     * (their SSH host keys are still checked strictly). With {@code fsck}, what they send is checked as
     * {@code transfer.fsckObjects} checks it.
     */
    <C extends TransportCommand<C, ?>> C forSubmodules(C command, String originHost, boolean fsck) {
        command.setTransportConfigCallback(t -> {
            boolean origin = originHost != null && originHost.equalsIgnoreCase(t.getURI().getHost());
            if (t instanceof SshTransport st) {
                st.setSshSessionFactory(origin && ssh != null ? ssh : anonymousSsh());
            }
            if (fsck) {
                t.setObjectChecker(FetchCheck.checker());
            }
        });
        if (auth.httpsUsername() != null && auth.httpsPassword() != null) {
            UsernamePasswordCredentialsProvider credentials = credentials();
            command.setCredentialsProvider(new org.eclipse.jgit.transport.CredentialsProvider() {
                @Override
                public boolean isInteractive() {
                    return false;
                }

                @Override
                public boolean supports(org.eclipse.jgit.transport.CredentialItem... items) {
                    return credentials.supports(items);
                }

                @Override
                public boolean get(org.eclipse.jgit.transport.URIish uri, org.eclipse.jgit.transport.CredentialItem... items) {
                    boolean toOrigin = "https".equalsIgnoreCase(uri.getScheme()) && originHost != null
                            && originHost.equalsIgnoreCase(uri.getHost());
                    return toOrigin && credentials.get(uri, items);
                }
            });
        }
        return command;
    }

    private synchronized SshdSessionFactory anonymousSsh() {
        if (anonymousSsh == null) {
            anonymousSsh = sshFactory(auth, false);
        }
        return anonymousSsh;
    }

    private void useSsh(Transport transport) {
        if (ssh != null && transport instanceof SshTransport st) {
            st.setSshSessionFactory(ssh);
        }
    }

    private UsernamePasswordCredentialsProvider credentials() {
        return new UsernamePasswordCredentialsProvider(auth.httpsUsername(),
                new String(auth.httpsPassword().bytes(), StandardCharsets.UTF_8));
    }

    /** Adds what to do to the JGit messages sysadmins meet most. */
    String explain(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("server key did not validate") || m.contains("host key")) {
            return message + " (the remote's SSH host key is not in " + (auth.knownHosts() == null
                    ? "~/.ssh/known_hosts" : "git.ssh.known.hosts " + auth.knownHosts())
                    + "; add it with ssh-keyscan after checking its fingerprint)";
        }
        if (m.contains("no more authentication methods") || m.contains("auth fail")) {
            return message + " (the remote refused the SSH key " + (auth.sshKey() == null ? "in ~/.ssh" : auth.sshKey())
                    + "; is it added as a deploy key?)";
        }
        if (m.contains("not authorized") || m.contains("authentication is required")) {
            return message + " (check git.https.username and the password or token)";
        }
        if (m.contains("pkix path building failed") || m.contains("unable to find valid certification path")) {
            return message + " (the remote's TLS certificate is not signed by an authority this Java trusts: add"
                    + " an internal CA to the system's certificates with update-ca-certificates, which Debian's Java"
                    + " also reads, or give java -Djavax.net.ssl.trustStore=<file>)";
        }
        if (m.contains("certificateexpired") || m.contains("validity check failed")) {
            return message + " (the remote's TLS certificate has expired or is not valid yet)";
        }
        if (m.contains("no subject alternative") || m.contains("no name matching")) {
            return message + " (the remote's TLS certificate is for another host name than the remote URL's)";
        }
        return message;
    }

    @Override
    public synchronized void close() {
        if (ssh != null) {
            ssh.close();
        }
        if (anonymousSsh != null) {
            anonymousSsh.close();
        }
    }
}
