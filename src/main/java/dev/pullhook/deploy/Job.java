package dev.pullhook.deploy;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** One job of {@link DeployService}'s queue, and every request it covers (more may join a deploy until it starts). */
final class Job {
    final long id;
    final Deployer.Kind kind;
    final Trigger trigger;
    final List<String> deliveries = new CopyOnWriteArrayList<>();
    final CompletableFuture<Deployment> done = new CompletableFuture<>();
    /** The commit the newest push covered by this deploy named, or null. */
    volatile String pushed;
    /** What {@link DeployService#onStarted} was told, once the deploy knew its commit; worker only. */
    DeployService.Started started;

    Job(long id, Deployer.Kind kind, Trigger trigger) {
        this.id = id;
        this.kind = kind;
        this.trigger = trigger;
    }

    List<String> deliveries() {
        return List.copyOf(deliveries);
    }
}
