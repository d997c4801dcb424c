package dev.pullhook.git;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Removal of what a pushed tree may have put on disk (a file, a link, a folder of either), never following
 * a link: the one way a deploy deletes a tree, in the working copy (files in the way, clean, saved files)
 * and in atomic mode's release folders.
 */
public final class NoFollow {
    private NoFollow() {
    }

    /** Removes a file, a link (not what it points to) or a folder with everything in it, following no link. */
    public static void removeTree(Path path) throws IOException {
        FileStat stat = FileStat.of(path);
        if (stat == null) {
            return;
        }
        if (!stat.isDirectory()) {
            Files.delete(path);
            return;
        }
        Files.walkFileTree(path, new SimpleFileVisitor<>() {  // does not follow links
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
