package dev.pullhook.git;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The temporary file a reset writes beside each file before renaming it over that file ({@link TreeSwitch}):
 * {@code .<name, at most 40 characters>.<16 hex digits>.pullhook-tmp}. A process killed between the write and
 * the rename leaves it behind, where git would list it as untracked; the deploy that recovers from the crash
 * removes every one of them ({@link #removeBelow}).
 */
final class InterruptedWrites {
    private static final String SUFFIX = ".pullhook-tmp";
    private static final Pattern NAME = Pattern.compile("\\..{1,40}\\.[0-9a-f]{16}" + Pattern.quote(SUFFIX),
            Pattern.DOTALL);

    private InterruptedWrites() {
    }

    /** The temporary file for {@code file}, made unique by 8 {@code random} bytes. */
    static Path tempFor(Path file, byte[] random) {
        String name = file.getFileName().toString();
        return file.resolveSibling("." + (name.length() > 40 ? name.substring(0, 40) : name) + "."
                + HexFormat.of().formatHex(random) + SUFFIX);
    }

    /**
     * Deletes the temporary files left below {@code workTree} (no link followed, no {@code .git} folder
     * entered), through {@link TreeSwitch.Folders#delete} like any file a reset removes (a folder they leave
     * empty goes too, as after git's own removal); returns their paths, relative to it.
     */
    static List<String> removeBelow(Path workTree) throws IOException {
        List<String> removed = new ArrayList<>();
        Files.walkFileTree(workTree, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                return dir.getFileName() != null && dir.getFileName().toString().equals(".git") && !dir.equals(workTree)
                        ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() && NAME.matcher(file.getFileName().toString()).matches()) {
                    removed.add(workTree.relativize(file).toString());
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE;  // unreadable: nothing of ours can be in it
            }
        });
        // removed the way a reset removes a file: every folder on the way checked, no link followed
        TreeSwitch.Folders folders = new TreeSwitch.Folders(workTree);
        for (String path : removed) {
            folders.delete(path);
        }
        return removed;
    }
}
