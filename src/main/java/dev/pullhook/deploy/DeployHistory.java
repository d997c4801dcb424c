package dev.pullhook.deploy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** The most recent deploys, newest first, bounded in size. Thread-safe. */
public final class DeployHistory {
    private final int capacity;
    private final Deque<Deployment> entries = new ArrayDeque<>();

    public DeployHistory(int capacity) {
        this.capacity = capacity;
    }

    public synchronized void add(Deployment d) {
        entries.addFirst(d);
        while (entries.size() > capacity) {
            entries.removeLast();
        }
    }

    /** Newest first. */
    public synchronized List<Deployment> recent() {
        return new ArrayList<>(entries);
    }
}
