package dev.pullhook.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM options of a child JVM a test starts to run pullhook (a daemon, a command) where that JVM's own
 * options are not what the test is about: those of {@code pullhook.service} and {@code /usr/bin/pullhook}
 * (the serial collector, C1 only), and a class-data archive of the child's class path. The first child
 * daemon of a build that may make it ({@link #launch(String, boolean)}) writes the archive as it exits
 * ({@code -XX:ArchiveClassesAtExit}, under {@code target/test-cds/}, named by the JDK and by each class-path
 * entry's path, size and time); the later ones map it ({@code -Xshare:auto}: an archive that is missing or
 * does not fit only makes a start slower, and says nothing). Measured on a child daemon (start, warm-up, one
 * deploy, stop): about 7 s of CPU with the JVM's defaults, 3.5 s with the unit's collector and compiler,
 * 2.3 s with the archive as well (1.6 s without the warm-up); making the archive costs its maker ~2.5 s once.
 * Not for a test of the JVM's options (SystemdUnitIT, DebianPackageIT).
 */
public final class ChildJvm {
    private static final Path DIR = Path.of(System.getProperty("user.dir"), "target", "test-cds");
    /** A claim older than this was left by a test JVM that died while its child wrote the archive. */
    private static final Duration STALE_CLAIM = Duration.ofMinutes(10);
    private static final AtomicInteger MADE = new AtomicInteger();

    private ChildJvm() {
    }

    /** The {@code java} of the JVM running the tests. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * The options for a child JVM of this test JVM's {@code java} that runs {@code classPath} (the value of
     * {@code -cp}, or the jar of {@code -jar}).
     *
     * @param mayMake whether this child may be the one to make the archive: a daemon that deploys and
     *                stops with SIGTERM (it loads what the later children load); not a short command
     */
    public static Launch launch(String classPath, boolean mayMake) {
        List<String> options = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        String key = key(classPath);
        if (key == null) {
            return new Launch(options, null, null, null);  // a folder on the class path: no archive for it
        }
        Path archive = DIR.resolve(key + ".jsa");
        List<String> quiet = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");
        if (Files.isRegularFile(archive)) {
            options.addAll(List.of("-Xshare:auto", "-XX:SharedArchiveFile=" + archive));
            options.addAll(quiet);
            return new Launch(options, null, null, null);
        }
        Path claim = DIR.resolve(key + ".making");
        if (!mayMake || !claimed(claim)) {
            return new Launch(options, null, null, null);
        }
        Path making = DIR.resolve(key + "." + ProcessHandle.current().pid() + "-" + MADE.incrementAndGet() + ".tmp");
        options.add("-XX:ArchiveClassesAtExit=" + making);
        options.addAll(quiet);
        return new Launch(options, claim, making, archive);
    }

    /**
     * What a test does with the options: put them before {@code -cp} or {@code -jar}, and hand over the
     * process once started, so that an archive it writes as it exits is put in place for the next child.
     */
    public static final class Launch {
        private final List<String> options;
        private final Path claim;
        private final Path making;
        private final Path archive;
        private final AtomicBoolean done = new AtomicBoolean();

        private Launch(List<String> options, Path claim, Path making, Path archive) {
            this.options = List.copyOf(options);
            this.claim = claim;
            this.making = making;
            this.archive = archive;
        }

        public List<String> options() {
            return options;
        }

        /** Returns {@code process}, once told to put its archive in place when it exits. */
        public Process started(Process process) {
            if (claim != null) {
                process.onExit().whenComplete((p, e) -> exited());
            }
            return process;
        }

        /**
         * The child has exited (or never started): its archive, if it wrote one, becomes the one the next
         * children use; if it did not (killed, or it failed to start), the next child that may make one
         * tries. Called again, it does nothing.
         */
        public void exited() {
            if (claim == null || !done.compareAndSet(false, true)) {
                return;
            }
            try {
                if (Files.isRegularFile(making) && Files.size(making) > 0) {
                    Files.move(making, archive, StandardCopyOption.ATOMIC_MOVE);
                    removeOlderBuilds(archive);
                }
            } catch (IOException e) {
                // no archive: only slower starts
            } finally {
                try {
                    Files.deleteIfExists(making);
                    Files.deleteIfExists(claim);
                } catch (IOException e) {
                    // as above
                }
            }
        }
    }

    /**
     * Removes the archives (~30 MB each) made before {@code target/pullhook.jar} was last built: they are of
     * earlier builds, and no longer fit. A JVM that maps one keeps its mapping.
     */
    private static void removeOlderBuilds(Path kept) {
        Path jar = Path.of(System.getProperty("user.dir"), "target", "pullhook.jar");
        try (var files = Files.list(DIR)) {
            if (!Files.isRegularFile(jar)) {
                return;
            }
            FileTime built = Files.getLastModifiedTime(jar);
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (!f.equals(kept) && (name.endsWith(".jsa") || name.endsWith(".tmp"))
                        && Files.getLastModifiedTime(f).compareTo(built) < 0) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException | RuntimeException e) {
            // only disk space
        }
    }

    private static boolean claimed(Path claim) {
        try {
            Files.createDirectories(DIR);
            try {
                Files.createFile(claim);
                return true;
            } catch (FileAlreadyExistsException e) {
                FileTime made = Files.getLastModifiedTime(claim);
                if (made.toInstant().isBefore(Instant.now().minus(STALE_CLAIM))) {
                    Files.deleteIfExists(claim);
                }
                return false;
            }
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Names the archive after the JDK and every class-path entry's path, size and time (which the JVM checks
     * as well), or null when an entry is a folder (a JVM archives classes from jars only).
     */
    private static String key(String classPath) {
        StringBuilder what = new StringBuilder(System.getProperty("java.home")).append('\n')
                .append(System.getProperty("java.vm.version")).append('\n');
        for (String entry : classPath.split(File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath();
            try {
                if (Files.isDirectory(p)) {
                    return null;
                }
                what.append(p).append(' ');
                if (Files.exists(p)) {
                    what.append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis());
                }
                what.append('\n');
            } catch (IOException e) {
                return null;
            }
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(what.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The class path for a child daemon of this JVM's classes: {@code target/pullhook.jar} alone where it is
     * on this JVM's class path (failsafe puts the packaged jar there; shaded, it holds pullhook and every
     * dependency), so that the daemons of the class path and of the jar ({@code -jar}) share one archive;
     * elsewhere (an IDE, {@code mvn test}: folders of classes, which a JVM does not archive) the class path
     * as it is.
     */
    public static String daemonClassPath() {
        String all = System.getProperty("java.class.path");
        for (String entry : all.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (p.endsWith(Path.of("target", "pullhook.jar")) && Files.isRegularFile(p)) {
                return p.toAbsolutePath().toString();
            }
        }
        return all;
    }
}
