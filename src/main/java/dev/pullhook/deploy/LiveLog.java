package dev.pullhook.deploy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One site's {@link DeployLog}s: the running deploy's, the queued ones', and those of the last {@link #KEPT}
 * finished deploys (fewer when together they pass {@link #MAX_BYTES}), so that {@code GET /deploys/<id>/log}
 * and {@code pullhook deploy --follow} can watch a deploy as it runs and read it afterwards. Only in memory:
 * a restart forgets them (the history keeps each deploy's last lines). {@link DeployService} feeds it; it
 * knows nothing of HTTP. Thread-safe.
 */
public final class LiveLog {
    /** Finished deploys whose log is kept. */
    public static final int KEPT = 20;
    /** The finished logs of one site together hold at most this much text. */
    public static final long MAX_BYTES = 2L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** By deploy id, oldest first. */
    private final Map<Long, DeployLog> logs = new LinkedHashMap<>();
    /** The log of the job on the worker now, which {@code deploy.command}'s output goes to. */
    private volatile DeployLog current;

    /** A job was queued under {@code id}: its log exists from now on, so a follower may wait for it. */
    synchronized void queued(long id) {
        logs.computeIfAbsent(id, DeployLog::new).append(DeployLog.Kind.PHASE, "queued");
        trim();
    }

    /** The job {@code id} starts on the worker. */
    synchronized void begin(long id) {
        current = logs.computeIfAbsent(id, DeployLog::new);
        trim();
    }

    /** A phase of the running job begins. */
    void phase(Phase phase) {
        DeployLog log = current;
        if (log != null) {
            log.append(DeployLog.Kind.PHASE, phase.toString());
        }
    }

    /**
     * Where the running job's lines of {@code deploy.command}'s output go (masked and cut already; from the
     * command's reader thread): its log, and only its log, however long a process it left keeps writing.
     */
    java.util.function.Consumer<String> output() {
        DeployLog log = current;
        return log == null ? line -> { } : line -> log.append(DeployLog.Kind.OUTPUT, line);
    }

    /** The job ended: its outcome is the log's last event. */
    void end(Deployment d) {
        DeployLog log;
        synchronized (this) {
            log = logs.computeIfAbsent(d.id(), DeployLog::new);
            if (current == log) {
                current = null;
            }
        }
        log.append(DeployLog.Kind.END, outcome(d));
        synchronized (this) {
            trim();
        }
    }

    /** A start or poll check found nothing to do: it was no deploy, and its id is handed out again. */
    synchronized void discard(long id) {
        DeployLog log = logs.remove(id);
        if (current == log) {
            current = null;
        }
        if (log != null) {
            log.close("not a deploy: nothing to do");
        }
    }

    /** The daemon stops: readers of logs that will not end any more stop too. */
    synchronized void close() {
        for (DeployLog log : logs.values()) {
            log.close("the daemon is stopping");
        }
        current = null;
    }

    /** The log of deploy {@code id}, if it is kept. */
    public synchronized Optional<DeployLog> get(long id) {
        return Optional.ofNullable(logs.get(id));
    }

    /** The oldest unfinished log (the running deploy's, else the next queued one's), if any. */
    public synchronized Optional<DeployLog> active() {
        for (DeployLog log : logs.values()) {
            if (!log.finished()) {
                return Optional.of(log);
            }
        }
        return Optional.empty();
    }

    /** The outcome as the {@code end} event's JSON: the history's fields, without the output already streamed. */
    static String outcome(Deployment d) {
        try {
            return JSON.writeValueAsString(d.view().withoutOutput());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Drops the oldest finished logs past {@link #KEPT} or {@link #MAX_BYTES}. Must hold the lock. */
    private void trim() {
        List<DeployLog> finished = new ArrayList<>();
        long bytes = 0;
        for (DeployLog log : logs.values()) {
            if (log.finished()) {
                finished.add(log);
                bytes += log.bytes();
            }
        }
        Iterator<DeployLog> oldest = finished.iterator();
        int count = finished.size();
        while (oldest.hasNext() && (count > KEPT || bytes > MAX_BYTES)) {
            DeployLog log = oldest.next();
            logs.remove(log.id());
            count--;
            bytes -= log.bytes();
        }
    }
}
