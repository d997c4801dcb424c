package dev.pullhook.git;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Repository;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Housekeeping, like {@code git gc --auto}: every fetch adds a pack file, and object lookups slow down as
 * they pile up; once there are more than {@code gc.autoPackLimit} (default 50) they are repacked.
 */
final class AutoGc {
    private AutoGc() {
    }

    /** @return how many pack files there were when it ran, or 0 when nothing needed doing */
    static int ifManyPacks(Repository r) throws GitAPIException {
        int limit = r.getConfig().getInt("gc", "autopacklimit", 50);
        int packs;
        try (Stream<Path> files = Files.list(r.getDirectory().toPath().resolve("objects/pack"))) {
            packs = (int) files.filter(f -> f.getFileName().toString().endsWith(".pack")).count();
        } catch (IOException e) {
            return 0;
        }
        if (limit <= 0 || packs <= limit) {
            return 0;
        }
        // JGit keeps replaced packs for an hour by default (gc.prunePackExpire), so that a reader racing the
        // repack finds them; only this daemon reads this repository and it is not reading now: drop them,
        // or every deploy of that hour would count them and repack again. In memory only, never saved.
        var config = r.getConfig();
        String expire = config.getString("gc", null, "prunepackexpire");
        config.setString("gc", null, "prunepackexpire", "now");
        try {
            new Git(r).gc().call();
            return packs;
        } finally {
            if (expire == null) {
                config.unset("gc", null, "prunepackexpire");
            } else {
                config.setString("gc", null, "prunepackexpire", expire);
            }
        }
    }
}
