package dev.pullhook.deploy;

import dev.pullhook.git.GitException;
import dev.pullhook.git.ReleaseStore;
import org.eclipse.jgit.lib.ObjectId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * How {@code deploy.mode=atomic} deploys a fetched commit and rolls back, in place of the reset: a new release
 * folder checked out from the shared store, the command and the health check there, then {@code current}
 * switched to it in one rename ({@link Releases}) and old releases pruned ({@link OldReleases}); a rollback
 * switches {@code current} back to a release that is still there.
 */
final class AtomicRelease {
    /** Logs as {@link Deployer}: operators grep for its lines under that name. */
    private static final Logger log = LoggerFactory.getLogger(Deployer.class);

    private final Releases releases;
    private final OldReleases oldReleases;
    private final ReleaseStore store;
    private final PostDeploy post;

    AtomicRelease(Releases releases, OldReleases oldReleases, ReleaseStore store, PostDeploy post) {
        this.releases = releases;
        this.oldReleases = oldReleases;
        this.store = store;
        this.post = post;
    }

    /**
     * The commit into a new release folder, the command and the health check there, then {@code current}
     * switched to it in one rename and old releases pruned. Any failure before the switch removes the new
     * folder and leaves {@code current} as it was.
     */
    Deployment release(DeployRun run, ObjectId tip) throws GitException, StepFailed, IOException, InterruptedException {
        run.requireTime("current");
        run.goesTo(tip);
        CrashMarker crash = run.crash;
        if (crash != null && (crash.phase() == Phase.RELEASE || crash.phase() == Phase.COMMAND
                || crash.phase() == Phase.HEALTH_CHECK)) {
            oldReleases.removeUnfinished(run.id);
        }
        run.mark(Phase.RELEASE);
        Path dir = releases.create(tip.name(), Instant.now());
        String unchanged = "; current still points to " + releases.current().map(p -> p.getFileName().toString())
                .orElse("nothing");
        CommandResult result = null;
        boolean switched = false;
        try {
            int files = store.checkout(tip, dir);
            log.info("deploy id={}{} release {} written: {} paths", run.id, run.label, dir.getFileName(), files);
            result = post.command(run, dir, tip);
            if (result != null && !result.succeeded()) {
                return run.failed(tip.name(), Phase.COMMAND, post.failure(result) + unchanged, result);
            }
            HealthCheck.Failure failure = post.check(run, dir, tip);
            if (failure != null) {
                return run.failed(tip.name(), Phase.HEALTH_CHECK, "health check failed: " + failure.why()
                        + "; the release was not switched in" + unchanged, result, failure.check(), null);
            }
            run.mark(Phase.SWITCH);
            releases.switchTo(dir);
            switched = true;
        } catch (GitException e) {
            // the reset's words say "nothing was changed": true of current here too
            throw new GitException(e.phase(), e.getMessage() + unchanged, e.getCause());
        } finally {
            if (!switched) {
                oldReleases.remove(run.id, dir);
            }
        }
        store.moveBranch(tip);
        oldReleases.prune(run.id);
        return done(run, tip, dir, result);
    }

    /** A rollback: {@code current} back to the newest release of {@code tip} in one rename, or a new one. */
    Deployment switchBack(DeployRun run, ObjectId tip)
            throws GitException, StepFailed, IOException, InterruptedException {
        Path kept = releases.newestOf(tip.name()).orElse(null);
        if (kept == null) {
            log.info("deploy id={}{} no release of {} is left; making a new one", run.id, run.label,
                    Deployment.abbrev(tip.name()));
            return release(run, tip);
        }
        run.goesTo(tip);
        run.mark(Phase.SWITCH);
        releases.switchTo(kept);
        store.moveBranch(tip);
        return done(run, tip, kept, null);
    }

    private static Deployment done(DeployRun run, ObjectId tip, Path release, CommandResult result) {
        long ms = run.ms();
        log.info("deploy done id={}{} trigger={} deliveries={} from={} to={} ms={} release={}", run.id, run.label,
                run.trigger, run.deliveries, Deployment.abbrev(run.from), Deployment.abbrev(tip.name()), ms,
                release.getFileName());
        return run.deployed(ms, tip.name(), result);
    }
}
