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
        LocalRemote.Location location = locate(local);
        if (location == null) {
            return auth.apply(Transport.open(local, remoteName));
        }
        return kept.transport(local, location);
    }

    /** The kept handle of the remote when it is a repository on this machine, with where it is; else null. */
    synchronized Near onThisMachine(Repository local) throws IOException {
        LocalRemote.Location location = locate(local);
        return location == null ? null : new Near(kept, location);
    }

    /** A remote on this machine: its kept handle, and where it is. */
    record Near(LocalRemote remote, LocalRemote.Location location) {
    }

    /** Where the remote is if on this machine, with {@link #kept} open on it; null (none kept) otherwise. */
    private LocalRemote.Location locate(Repository local) throws IOException {
        LocalRemote.Location location = LocalRemote.locate(local, remoteName);
        if (kept != null && (location == null || !kept.gitDir().equals(location.gitDir()))) {
            close();
        }
        if (location != null && kept == null) {
            kept = LocalRemote.open(location.gitDir(), local.getFS());
        }
        return location;
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
