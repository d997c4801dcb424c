package dev.pullhook.git;

import org.eclipse.jgit.errors.NotSupportedException;
import org.eclipse.jgit.errors.TransportException;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.RepositoryCache;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.BasePackFetchConnection;
import org.eclipse.jgit.transport.FetchConnection;
import org.eclipse.jgit.transport.PackTransport;
import org.eclipse.jgit.transport.PushConnection;
import org.eclipse.jgit.transport.RemoteConfig;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.transport.UploadPack;
import org.eclipse.jgit.util.FS;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.URISyntaxException;
import java.util.List;

/**
 * A remote that is a repository on this machine (a path or {@code file://} URL, such as a bare repository
 * that developers push to over SSH), fetched from a repository handle kept open between deploys.
 * JGit's own local transport opens the remote afresh for every fetch and so loads its pack index,
 * bitmap index and reverse index again each time (several MB on a big repository, and as many
 * collections of the small heap); this one serves the fetch with JGit's {@link UploadPack} in a thread,
 * exactly as JGit's does, from the kept handle, which notices new packs and moved refs by itself; or, for
 * the usual push of a few files, without the protocol at all ({@link DirectFetch}).
 * Any other remote (SSH, HTTPS, a bundle file, a configured {@code uploadpack} command) is left to JGit.
 */
final class LocalRemote implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalRemote.class);

    private final File gitDir;
    private final Repository repo;

    private LocalRemote(File gitDir, Repository repo) {
        this.gitDir = gitDir;
        this.repo = repo;
    }

    /**
     * Where a remote on this machine is: its git folder, its URL as configured (what messages name), and
     * which of its tags a fetch takes along ({@code remote.<name>.tagOpt}; git's default follows tags).
     */
    record Location(File gitDir, URIish uri, TagOpt tagOpt) {
    }

    /**
     * Where {@code remoteName} is, when that remote is a repository on this machine that JGit's own
     * transport would serve in-process (a path or {@code file://} URL, no {@code uploadpack} command);
     * otherwise null.
     */
    static Location locate(Repository local, String remoteName) {
        try {
            RemoteConfig remote = new RemoteConfig(local.getConfig(), remoteName);
            List<URIish> uris = remote.getURIs();
            if (uris.size() != 1 || !RemoteConfig.DEFAULT_UPLOAD_PACK.equals(remote.getUploadPack())) {
                return null;
            }
            URIish uri = uris.get(0);
            if (uri.getHost() != null || uri.getPort() > 0 || uri.getUser() != null || uri.getPath() == null
                    || !(uri.getScheme() == null || "file".equals(uri.getScheme()))) {
                return null;
            }
            File base = local.isBare() ? local.getDirectory() : local.getWorkTree();
            File gitDir = RepositoryCache.FileKey.resolve(local.getFS().resolve(base, uri.getPath()), local.getFS());
            return gitDir == null ? null : new Location(gitDir, uri, remote.getTagOpt());
        } catch (URISyntaxException | RuntimeException e) {
            return null;  // JGit's transport reports what is wrong with it
        }
    }

    /** Opens the repository in {@code gitDir} to fetch from it. */
    static LocalRemote open(File gitDir, FS fs) throws IOException {
        return new LocalRemote(gitDir, new FileRepositoryBuilder().setFS(fs).setGitDir(gitDir).setMustExist(true)
                .build());
    }

    File gitDir() {
        return gitDir;
    }

    /**
     * Fetches {@code remoteRef} into {@code trackingRef} of {@code local} by copying objects
     * ({@link DirectFetch}); null when that is not the way for this fetch (then {@link #transport}).
     */
    ObjectId copyBranch(Repository local, String remoteRef, String trackingRef, Location location,
                        java.util.function.BooleanSupplier cancelled, DirectFetch.Verification verify) throws IOException {
        return DirectFetch.fetch(repo, local, remoteRef, trackingRef, location.uri().toString(), location.tagOpt(),
                cancelled, verify);
    }

    /** Where {@code ref} of the remote points now ({@code git ls-remote}); null if it has no such ref. */
    ObjectId tip(String ref) throws IOException {
        Ref r = repo.exactRef(ref);
        return r == null ? null : r.getObjectId();
    }

    /** A transport that fetches from the kept repository, taking tags along as the remote's config says. */
    Transport transport(Repository local, Location location) {
        Transport transport = new Fetching(local, location.uri());
        transport.setTagOpt(location.tagOpt());
        return transport;
    }

    @Override
    public void close() {
        repo.close();
    }

    private final class Fetching extends Transport implements PackTransport {
        Fetching(Repository local, URIish uri) {
            super(local, uri);
        }

        @Override
        public FetchConnection openFetch() throws TransportException {
            return new Connection(this);
        }

        @Override
        public PushConnection openPush() throws NotSupportedException {
            throw new NotSupportedException("pullhook never pushes");
        }

        @Override
        public void close() {
            // the repository stays open for the next fetch
        }
    }

    /** JGit's in-process fetch connection: UploadPack in a thread, joined by two pipes. */
    private final class Connection extends BasePackFetchConnection {
        private Thread worker;

        Connection(Fetching transport) throws TransportException {
            super(transport);
            PipedInputStream fromServer = new PipedInputStream();
            PipedOutputStream serverOut;
            // the client can write a burst of "have" lines before it reads: the buffer must hold them
            PipedInputStream toServer = new PipedInputStream(MIN_CLIENT_BUFFER);
            PipedOutputStream clientOut;
            try {
                serverOut = new PipedOutputStream(fromServer);
                clientOut = new PipedOutputStream(toServer);
            } catch (IOException e) {
                throw new TransportException(uri, "cannot connect pipes", e);
            }
            worker = new Thread(() -> {
                try {
                    new UploadPack(repo).upload(toServer, serverOut, null);
                } catch (IOException | RuntimeException e) {
                    // the client side sees the pipe close and reports the failure
                    log.debug("upload-pack for {} ended: {}", gitDir, e.toString());
                } finally {
                    closeQuietly(toServer);
                    closeQuietly(serverOut);
                }
            }, "pullhook-upload-pack");
            worker.setDaemon(true);
            worker.start();
            init(fromServer, clientOut);
            readAdvertisedRefs();
        }

        @Override
        public void close() {
            super.close();
            try {
                if (worker != null) {
                    worker.join();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                worker = null;
            }
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // the other side reports
        }
    }
}
