package dev.pullhook;

import dev.pullhook.config.Config;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The packages depend one way, the way a webhook walks through them: the command line and the daemon's wiring
 * on top, then {@code http}, {@code metrics} (which observes what the layers below report), {@code webhook}
 * beside {@code report} (which shows deploys on the git host), {@code deploy}, {@code git}, and {@code config},
 * a leaf every package may read. A class may use its own package and the layers below, never one above nor
 * a sibling in its own layer, so a cycle between packages cannot form. The server, git and metrics libraries
 * stay in the layers that own them.
 *
 * <p>Reads the compiled classes: every class named in a class file's constant pool (the classes it uses, its
 * fields' and methods' types and generic signatures; string literals are left out). The one blind spot is a
 * constant javac inlined (a {@code static final} string or number of another class), which leaves no trace.
 */
class PackageLayersTest {
    /**
     * From the top. Siblings in a layer may not use each other, but for the top's: the command line and the
     * daemon's wiring are one. A new package must be placed here.
     */
    private static final List<Set<String>> LAYERS = List.of(
            Set.of("(root)", "cli", "demo"),
            Set.of("http"),
            Set.of("metrics"),
            Set.of("webhook", "report"),
            Set.of("deploy"),
            Set.of("git"),
            Set.of("config"));
    private static final Set<String> TOP = LAYERS.get(0);
    /** Each library (by its package prefix) and the pullhook packages allowed to use it. */
    private static final Map<String, Set<String>> LIBRARIES = Map.of(
            "org/eclipse/jgit/", union(TOP, Set.of("git", "deploy")),
            "org/apache/sshd/", union(TOP, Set.of("git")),
            "org/eclipse/jetty/", union(TOP, Set.of("http")),
            "io/javalin/", union(TOP, Set.of("http")),
            "jakarta/servlet/", union(TOP, Set.of("http")),
            "io/prometheus/", Set.of("metrics"));
    private static final Pattern PULLHOOK_CLASS = Pattern.compile("dev/pullhook/(?:([a-z0-9_]+)/)?[A-Za-z0-9_$]+(?=[;<>/]|$)");

    /** Every pullhook class (by its package) and what it refers to. */
    private static final Map<String, Set<String>> USES = new TreeMap<>();

    @BeforeAll
    static void readClasses() throws Exception {
        Path location = Path.of(Config.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isDirectory(location)) {
            read(location);
        } else {
            try (FileSystem jar = FileSystems.newFileSystem(URI.create("jar:" + location.toUri()), Map.of())) {
                read(jar.getPath("/"));
            }
        }
        assertFalse(USES.isEmpty(), "no classes found at " + location);
    }

    private static void read(Path root) throws IOException {
        Path pullhook = root.resolve("dev/pullhook");
        try (Stream<Path> files = Files.walk(pullhook)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                String name = pullhook.relativize(f).toString().replace('\\', '/');
                USES.put(name.substring(0, name.length() - ".class".length()), referencedNames(Files.readAllBytes(f)));
            }
        }
    }

    @Test
    void everyPackageHasALayer() {
        Set<String> unplaced = new TreeSet<>();
        for (String cls : USES.keySet()) {
            if (layer(packageOf(cls)) < 0) {
                unplaced.add(packageOf(cls));
            }
        }
        assertEquals(Set.of(), unplaced, "place each package in PackageLayersTest.LAYERS");
    }

    @Test
    void packagesUseOnlyTheirOwnAndTheLayersBelow() {
        List<String> wrongWay = new ArrayList<>();
        USES.forEach((cls, names) -> {
            String from = packageOf(cls);
            Set<String> reported = new HashSet<>();
            for (String name : names) {
                Matcher m = PULLHOOK_CLASS.matcher(name);
                while (m.find()) {
                    String to = m.group(1) == null ? "(root)" : m.group(1);
                    int fromLayer = layer(from);
                    int toLayer = layer(to);
                    boolean allowed = to.equals(from) || toLayer > fromLayer || (toLayer == 0 && fromLayer == 0);
                    if (!allowed && toLayer >= 0 && fromLayer >= 0 && reported.add(to)) {
                        wrongWay.add(cls + " -> " + m.group());
                    }
                }
            }
        });
        assertEquals(List.of(), wrongWay, "a class may use its own package and the layers below it only: " + LAYERS);

    }

    @Test
    void librariesStayInTheLayersThatOwnThem() {
        List<String> misplaced = new ArrayList<>();
        USES.forEach((cls, names) -> LIBRARIES.forEach((library, allowed) -> {
            if (!allowed.contains(packageOf(cls)) && names.stream().anyMatch(n -> n.contains(library))) {
                misplaced.add(cls + " uses " + library);
            }
        }));
        assertEquals(List.of(), misplaced, "allowed: " + LIBRARIES);
    }

    private static String packageOf(String cls) {
        int slash = cls.indexOf('/');
        return slash < 0 ? "(root)" : cls.substring(0, slash);
    }

    private static int layer(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return -1;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    /**
     * The names in a class file's constant pool (JVMS 4.4) other than string literals: class names, member
     * names and type descriptors and signatures, all in internal form ({@code dev/pullhook/git/WorkingCopy}).
     */
    private static Set<String> referencedNames(byte[] classFile) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile));
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        Set<Integer> literals = new HashSet<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 8 -> literals.add(in.readUnsignedShort());  // CONSTANT_String: a literal, not a reference
                case 7, 16, 19, 20 -> in.readUnsignedShort();
                case 15 -> in.skipBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipBytes(4);
                case 5, 6 -> {
                    in.skipBytes(8);
                    i++;  // a long or double takes two entries
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 1; i < count; i++) {
            if (utf8[i] != null && !literals.contains(i)) {
                names.add(utf8[i]);
            }
        }
        return names;
    }
}
