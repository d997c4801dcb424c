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

    /** A history of {@code capacity} holding {@code past}, newest first (as {@link StateDir#loadHistory} gives it). */
    static DeployHistory of(List<Deployment> past, int capacity) {
        DeployHistory history = new DeployHistory(capacity);
        for (int i = past.size() - 1; i >= 0; i--) {
            history.add(past.get(i));
        }
        return history;
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

    /**
     * The commit deployed before {@code head} (the working copy's HEAD, or null): the {@code from} of the newest deploy (not a rollback)
     * that brought HEAD's commit. So after A, B a rollback goes to A, a second one to what came before A,
     * and after A, B, rollback, C it goes to A again. When HEAD was not deployed by pullhook, the newest
     * deployed commit.
     */
    public synchronized String rollbackTarget(String head) {
        String newest = null;
        for (Deployment d : entries) {
            if (d.outcome() != Deployment.Outcome.DEPLOYED || d.to() == null) {
                continue;
            }
            if (newest == null) {
                newest = d.to();
            }
            if (d.trigger() != Trigger.ROLLBACK && d.to().equals(head)) {
                return d.from() != null && !d.from().equals(head) ? d.from() : null;
            }
        }
        return newest != null && !newest.equals(head) ? newest : null;
    }
}
