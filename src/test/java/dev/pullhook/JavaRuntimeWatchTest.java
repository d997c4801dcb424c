package dev.pullhook;

import dev.pullhook.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The watch on the Java runtime's files, on a fake runtime folder: replaced the way dpkg replaces a file (a
 * new file renamed over the old one), it is noticed, and the WARN saying what to do is logged once.
 */
class JavaRuntimeWatchTest {
    @TempDir
    Path home;

    private void write(String file, String content) throws Exception {
        Path target = home.resolve(file);
        Files.createDirectories(target.getParent());
        Path next = target.resolveSibling(target.getFileName() + ".dpkg-new");
        Files.writeString(next, content);
        Files.move(next, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void aRuntimeReplacedOnDiskIsNoticedAndTheWarningSaysToRestartOnce() throws Exception {
        write("release", "JAVA_VERSION=\"17.0.15\"\n");
        write("lib/modules", "old modules");
        write("lib/jspawnhelper", "old helper");
        try (LogCapture log = new LogCapture(); JavaRuntimeWatch watch = new JavaRuntimeWatch(home)) {
            assertNull(watch.check(), "nothing changed yet");
            // same size, same content: still another file (dpkg writes a new one and renames it over the old)
            write("lib/modules", "old modules");
            assertEquals("lib/modules", watch.check());
            write("release", "JAVA_VERSION=\"17.0.16\"\n");
            assertEquals("release", watch.check());
            assertEquals(1, log.linesWith("WARN", "JavaRuntimeWatch - the Java runtime under " + home
                    + " changed on disk since start (lib/modules was replaced; a JDK update?): restart pullhook to run on"
                    + " the new one (systemctl restart pullhook)").size(), log::text);
            assertEquals(1, log.linesWith("changed on disk").size(), "once only: " + log.text());
        }
    }

    @Test
    void aFileThatAppearsOrGoesCountsAsAChange() throws Exception {
        write("release", "JAVA_VERSION=\"17.0.15\"\n");
        try (JavaRuntimeWatch watch = new JavaRuntimeWatch(home)) {
            assertNull(watch.check());
            write("lib/server/libjvm.so", "new");
            assertEquals("lib/server/libjvm.so", watch.check());
        }
    }
}
