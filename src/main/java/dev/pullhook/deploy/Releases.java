package dev.pullhook.deploy;

import dev.pullhook.git.NoFollow;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The folders of {@code deploy.mode=atomic} in {@code repo.path}: {@code releases/<UTC time>-<short sha>/}
 * (time to the millisecond, so that names sort in the order the releases were made),
 * each with a note of its full commit beside it ({@code releases/.<name>.commit}, outside what is served), and
 * the {@code current} link, switched by renaming a new link over it (one {@code rename(2)}: a reader sees the
 * old release or the new one, never neither). Knows no git: the release's files are the git layer's business.
 */
final class Releases {
    static final String CURRENT = "current";
    static final String RELEASES = "releases";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;
    private final Path folder;

    Releases(Path root) {
        this.root = root;
        this.folder = root.resolve(RELEASES);
    }

    /** A new, empty release folder for {@code commit}, named after {@code now} and the commit. */
    Path create(String commit, Instant now) throws IOException {
        Files.createDirectories(folder);
        String base = TIME.format(now) + "-" + commit.substring(0, 7);
        for (int n = 1; ; n++) {
            Path dir = folder.resolve(n == 1 ? base : base + "." + n);
            if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.exists(note(dir), LinkOption.NOFOLLOW_LINKS)) {
                Files.writeString(note(dir), commit + "\n", StandardCharsets.US_ASCII);
                Files.createDirectory(dir);
                return dir;
            }
        }
    }

    private static Path note(Path release) {
        return release.resolveSibling("." + release.getFileName() + ".commit");
    }

    /** The full commit a release was made from, or null when its note is missing. */
    String commitOf(Path release) {
        try {
            String text = Files.readString(note(release), StandardCharsets.US_ASCII).strip();
            return text.matches("[0-9a-f]{40}") ? text : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The release {@code current} points to, if it points to one. */
    Optional<Path> current() {
        Path link = root.resolve(CURRENT);
        try {
            if (!Files.isSymbolicLink(link)) {
                return Optional.empty();
            }
            Path target = Files.readSymbolicLink(link);
            Path release = folder.resolve(target.getFileName().toString());
            return Files.isDirectory(release, LinkOption.NOFOLLOW_LINKS) ? Optional.of(release) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Points {@code current} to {@code release} in one rename: a new link {@code current.tmp-<random>} is made,
     * then moved over {@code current}. A {@code current} that is a real folder is refused, never replaced.
     */
    void switchTo(Path release) throws IOException {
        Path link = root.resolve(CURRENT);
        if (Files.exists(link, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(link)) {
            throw new IOException(link + " is not a symbolic link (move it away; deploy.mode=atomic manages it)");
        }
        Path tmp = root.resolve(CURRENT + ".tmp-" + HexFormat.of().formatHex(randomBytes()));
        Files.createSymbolicLink(tmp, Path.of(RELEASES, release.getFileName().toString()));
        try {
            Files.move(tmp, link, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Every release folder, oldest first (their names start with the time they were made). */
    List<Path> all() throws IOException {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .sorted().toList();
        }
    }

    /** The newest release made from {@code commit}, if one is left. */
    Optional<Path> newestOf(String commit) throws IOException {
        List<Path> all = new ArrayList<>(all());
        for (int i = all.size() - 1; i >= 0; i--) {
            if (commit.equals(commitOf(all.get(i)))) {
                return Optional.of(all.get(i));
            }
        }
        return Optional.empty();
    }

    /**
     * Removes the oldest releases beyond the newest {@code keep}, never the current one, and none that
     * {@code kept} says must stay (a release with local edits). Returns those removed.
     */
    List<Path> prune(int keep, Predicate<Path> kept) throws IOException {
        List<Path> all = all();
        Path current = current().orElse(null);
        List<Path> removed = new ArrayList<>();
        for (int i = 0; i < all.size() - keep; i++) {
            Path release = all.get(i);
            if (release.equals(current) || kept.test(release)) {
                continue;
            }
            remove(release);
            removed.add(release);
        }
        return removed;
    }

    /** Deletes a release folder and its note; links inside are removed, never followed. */
    void remove(Path release) throws IOException {
        NoFollow.removeTree(release);
        Files.deleteIfExists(note(release));
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return b;
    }
}
