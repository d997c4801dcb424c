package dev.pullhook.git;

import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.transport.Transport;

import java.io.IOException;
import java.net.URISyntaxException;

/**
 * Opens a transport to a working copy's remote for a fetch or an {@code ls-remote}: from a repository
 * handle kept between fetches when the remote is on this machine ({@link LocalRemote}), else JGit's own,
 * with the configured credentials ({@link RemoteAuth}). Follows the remote's URL when it changes.
 */
final class RemoteTransports implements AutoCloseable {
    private final String remoteName;
    private final RemoteAuth auth;
    private LocalRemote kept;

    RemoteTransports(String remoteName, RemoteAuth auth) {
        this.remoteName = remoteName;
        this.auth = auth;
    }

    synchronized Transport open(Repository local) throws URISyntaxException, IOException {
        LocalRemote.Location location = LocalRemote.locate(local, remoteName);
        if (kept != null && (location == null || !kept.gitDir().equals(location.gitDir()))) {
            close();
        }
        if (location == null) {
            return auth.apply(Transport.open(local, remoteName));
        }
        if (kept == null) {
            kept = LocalRemote.open(location.gitDir(), local.getFS());
        }
        return kept.transport(local, location.uri());
    }

    /** Closes the kept handle, if any; the next {@link #open} opens a new one. */
    @Override
    public synchronized void close() {
        if (kept != null) {
            kept.close();
            kept = null;
        }
    }
}
