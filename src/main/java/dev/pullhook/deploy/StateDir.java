package dev.pullhook.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * pullhook's own files for one working copy ({@code state.dir}): a lock held for the daemon's lifetime (so
 * two pullhooks never deploy the same working copy), the marker of a deploy in progress (left behind only if
 * the process died mid-deploy), and the deploy history as JSON lines, bounded in size. Only the daemon's user
 * may read them ({@link PrivateFiles}): a file added here goes in {@link #FILES} and is opened through
 * {@link PrivateFiles#open}.
 */
public final class StateDir implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StateDir.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ZERO = "0".repeat(40);
    /** Every file pullhook keeps in the folder; each is narrowed to {@code 0600} at open. */
    static final List<String> FILES = List.of("lock", "deploy.running", "history.jsonl", "history.jsonl.tmp",
            "deliveries", "deliveries.new");

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private int appendedSinceTrim;

    private StateDir(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Creates the folder if needed ({@code 0700}), takes its lock, and narrows the permissions of what is
     * already there (the folder to at most {@code 0750}, its files to {@code 0600}), with a warning for each.
     *
     * @throws AlreadyLocked when another process (a running daemon) holds it
     */
    public static StateDir open(Path dir) throws IOException, AlreadyLocked {
        PrivateFiles.folder(dir);
        for (String name : FILES) {
            PrivateFiles.tighten(dir.resolve(name));
        }
        FileChannel channel = PrivateFiles.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new AlreadyLocked(dir.resolve("lock"));
        }
        return new StateDir(dir, channel, lock);
    }

    public Path path() {
        return dir;
    }

    /** Who holds a state folder, as {@link #probe} finds it. */
    public enum Holder {
        /** no pullhook has used it yet: there is no lock file (or no folder) */
        NOBODY_YET,
        /** a pullhook used it, and none runs for it now */
        FREE,
        /** a running pullhook holds it */
        DAEMON
    }

    /**
     * Whether a running pullhook holds {@code dir}, found without creating or changing anything there: a
     * command run as root must leave nothing behind (a root-owned lock file) that the service user could
     * then not open.
     *
     * @throws IOException when the lock file cannot be opened (e.g. permission denied)
     */
    public static Holder probe(Path dir) throws IOException {
        Path lockFile = dir.resolve("lock");
        if (!Files.exists(lockFile)) {
            if (dev.pullhook.config.FileAccess.explain(lockFile, dev.pullhook.config.FileAccess.Need.READ) != null) {
                throw new java.nio.file.AccessDeniedException(lockFile.toString());
            }
            return Holder.NOBODY_YET;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock();
            if (lock == null) {
                return Holder.DAEMON;
            }
            lock.release();
            return Holder.FREE;
        } catch (OverlappingFileLockException e) {
            return Holder.DAEMON;  // a daemon in this very JVM (tests)
        }
    }

    /**
     * Why {@code dir} cannot be used as a state folder: {@code cannot use /var/lib/x: cannot create lock:
     * permission denied for user pullhook (needs write on /var/lib/x, which is root:root 0755)}.
     */
    public static String problem(Path dir, IOException e) {
        Path failed = e instanceof java.nio.file.FileSystemException f && f.getFile() != null ? Path.of(f.getFile()) : dir;
        String what = failed.equals(dir) ? "" : (Files.exists(failed) ? "cannot open " : "cannot create ")
                + (failed.startsWith(dir) ? dir.relativize(failed) : failed) + ": ";
        return "cannot use " + dir + ": " + what + dev.pullhook.config.FileAccess.explain(failed,
                dev.pullhook.config.FileAccess.Need.WRITE, e);
    }

    /** The marker's line is padded to this many characters, so that each phase overwrites the last in place. */
    private static final int MARKER_WIDTH = 160;

    private Path marker() {
        return dir.resolve("deploy.running");
    }

    private Path historyFile() {
        return dir.resolve("history.jsonl");
    }

    /** The marker of an interrupted deploy, or null when the last deploy ended normally. */
    CrashMarker interruptedDeploy() {
        try {
            return Files.exists(marker()) ? CrashMarker.parse(Files.readString(marker(), StandardCharsets.UTF_8).strip())
                    : null;
        } catch (IOException e) {
            return CrashMarker.parse("unreadable marker " + marker());
        }
    }

    /**
     * Records that deploy {@code id} is in {@code phase}; left behind only if the process dies. Written in
     * place, padded to one length, not truncated and rewritten: ext4 flushes a file truncated to zero when
     * it is closed (auto_da_alloc), 0.2-0.4 ms here for each of a deploy's three phases.
     */
    void markRunning(long id, Trigger trigger, Phase phase) {
        String line = CrashMarker.line(id, trigger, phase, ProcessHandle.current().pid(), Instant.now());
        byte[] bytes = (String.format("%-" + MARKER_WIDTH + "s", line) + "\n").getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = PrivateFiles.open(marker(), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes), 0);
            if (ch.size() > bytes.length) {
                ch.truncate(bytes.length);  // a longer line before (a marker left by an older version)
            }
        } catch (IOException e) {
            log.warn("state cannot write {}: {}", marker(), e.getMessage());
        }
    }

    void clearRunning() {
        try {
            Files.deleteIfExists(marker());
        } catch (IOException e) {
            log.warn("state cannot remove {}: {}", marker(), e.getMessage());
        }
    }

    /** The last {@code max} deploys, newest first. A damaged line is skipped with a warning. */
    public List<Deployment> loadHistory(int max) {
        List<Deployment> all = new ArrayList<>();
        if (!Files.exists(historyFile())) {
            return all;
        }
        try {
            List<String> lines = Files.readAllLines(historyFile(), StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0 && all.size() < max; i--) {
                String line = lines.get(i);
                if (line.isBlank()) {
                    continue;
                }
                try {
                    all.add(fromJson(line));
                } catch (IOException | RuntimeException e) {
                    log.warn("state skipping damaged line {} of {}", i + 1, historyFile());
                }
            }
        } catch (IOException e) {
            log.warn("state cannot read {}: {}", historyFile(), e.getMessage());
        }
        return all;
    }

    /** Appends one deploy; now and then rewrites the file to keep only the newest {@code keep}. */
    void append(Deployment d, int keep) {
        try {
            byte[] line = (JSON.writeValueAsString(toJson(d)) + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel ch = PrivateFiles.open(historyFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                writeFully(ch, line);
            }
            if (++appendedSinceTrim >= keep) {
                trim(keep);
                appendedSinceTrim = 0;
            }
        } catch (IOException e) {
            log.warn("state cannot write {}: {}", historyFile(), e.getMessage());
        }
    }

    private void trim(int keep) throws IOException {
        List<String> lines = Files.readAllLines(historyFile(), StandardCharsets.UTF_8);
        if (lines.size() <= keep) {
            return;
        }
        Path tmp = dir.resolve("history.jsonl.tmp");
        // a new file, never one left over (whose permissions it would keep, and hand on to the history)
        Files.deleteIfExists(tmp);
        String kept = String.join("\n", lines.subList(lines.size() - keep, lines.size())) + "\n";
        try (FileChannel ch = PrivateFiles.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, kept.getBytes(StandardCharsets.UTF_8));
        }
        try {
            Files.move(tmp, historyFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, historyFile(), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void writeFully(FileChannel ch, byte[] bytes) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /**
     * Writes and reads back a sample history line in memory, so that the first deploy after a start does
     * not pay for the JSON writer's first run (about 6 ms of a cold small-site deploy's answer).
     */
    static void warmUp() {
        Deployment sample = new Deployment(0, Trigger.WEBHOOK, List.of("delivery"), Instant.EPOCH, 0, ZERO, ZERO,
                Deployment.Outcome.DEPLOYED, null, null, new CommandResult(0, false, 0, List.of("output")));
        try {
            fromJson(JSON.writeValueAsString(toJson(sample)));
        } catch (IOException | RuntimeException e) {
            log.debug("state warm-up: {}", e.toString());
        }
    }

    static DeploymentView toJson(Deployment d) {
        return d.view();
    }

    private static Deployment fromJson(String line) throws IOException {
        return JSON.readValue(line, DeploymentView.class).toDeployment();
    }

    @Override
    public void close() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // closing at exit: nothing left to do
        }
    }

    /** Another process holds the state folder's lock. */
    public static final class AlreadyLocked extends Exception {
        private static final long serialVersionUID = 1L;

        AlreadyLocked(Path lockFile) {
            super("another pullhook is running for this working copy (it holds " + lockFile + ")");
        }
    }
}
