package dev.pullhook.testing;

import org.eclipse.jgit.errors.RepositoryNotFoundException;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.Daemon;
import org.eclipse.jgit.transport.UploadPack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A real git server for a test's bare {@code origin}: JGit's own {@code git://} daemon on an ephemeral port
 * of 127.0.0.1. While it is {@link #hold() held}, every fetch waits before the server says anything, so a
 * test can keep a deploy running for exactly as long as it needs (a burst arriving during one deploy, a stop
 * during a deploy) without any timing guesswork. Nothing of pullhook is replaced: it fetches over a real
 * socket from a real git server.
 */
public final class GatedGitServer implements AutoCloseable {
    private final Daemon server;
    private final Semaphore waiting = new Semaphore(0);
    private volatile CountDownLatch gate = new CountDownLatch(0);

    private GatedGitServer(Path bareRepo) throws IOException {
        server = new Daemon(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        server.setRepositoryResolver((client, name) -> {
            try {
                return new FileRepositoryBuilder().setGitDir(bareRepo.toFile()).setMustExist(true).build();
            } catch (IOException e) {
                throw new RepositoryNotFoundException(name, e);
            }
        });
        server.setUploadPackFactory((client, repo) -> {
            CountDownLatch current = gate;
            if (current.getCount() > 0) {
                waiting.release();
                try {
                    current.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new UploadPack(repo);
        });
        server.start();
    }

    /** Serves {@code bareRepo} (e.g. {@link TestRepos#origin}) until {@link #close()}. */
    public static GatedGitServer serve(Path bareRepo) {
        try {
            return new GatedGitServer(bareRepo);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The URL to fetch from, for {@link TestRepos#setSiteRemoteUrl}. */
    public String url() {
        return "git://127.0.0.1:" + server.getAddress().getPort() + "/origin.git";
    }

    /** From now on, fetches wait until {@link #release()}. */
    public void hold() {
        gate = new CountDownLatch(1);
    }

    /** Lets every waiting and future fetch go on. */
    public void release() {
        gate.countDown();
    }

    /** Waits (30 s at most) until a fetch has arrived and is being held; true if one did. */
    public boolean awaitHeldFetch() throws InterruptedException {
        return waiting.tryAcquire(Poll.PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        release();
        server.stop();
    }
}
