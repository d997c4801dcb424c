package dev.pullhook;

import dev.pullhook.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The docs a newcomer reads: README.md stays short, every page's relative links and anchors resolve, each
 * page under docs/ opens with a table of contents, log lines quoted anywhere name a logger and a message
 * that exist in src/main/java, the configuration reference lists every key ConfigLoader knows, and the
 * README's test command is the one CI runs. Reads files only (no build output, no daemon): milliseconds.
 */
class DocsTest {
    /** README.md's limit in bytes: 15 KB, whichever way a kilobyte is counted. */
    static final int README_LIMIT = 15_000;
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path MAIN_SOURCES = ROOT.resolve("src/main/java");

    /**
     * A line as SLF4J Simple prints it: {@code [thread] [LEVEL] Logger - message}, the thread optional (it may
     * itself hold brackets: {@code sshd-JGitSshClient[14f89efc]-nio2-thread-3}), with or without a timestamp
     * or journald's prefix before it.
     */
    static final Pattern LOG_LINE = Pattern.compile("(?:^|\\s)(?:\\[[^\\]\\s]+(?:\\[[^\\]]*\\][^\\]\\s]*)*\\] )?"
            + "\\[(TRACE|DEBUG|INFO|WARN|ERROR)\\] ([A-Za-z_$][\\w$]*) - (.+)$");
    private static final Pattern HEADING = Pattern.compile("^(#{1,6})\\s+(.+?)\\s*#*\\s*$");
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");
    private static final Pattern CODE_SPAN = Pattern.compile("`([^`]+)`");
    private static final Pattern LOGGER_DECLARATION = Pattern.compile(
            "getLogger\\(\\s*(\\w+)\\.class\\s*\\)|String LOGGER = \"dev\\.pullhook\\.(?:\\w+\\.)*(\\w+)\"");

    @Test
    void readmeIsShortEnoughToReadInMinutes() throws IOException {
        long size = Files.size(ROOT.resolve("README.md"));
        assertTrue(size <= README_LIMIT, "README.md is " + size + " bytes, more than " + README_LIMIT
                + ": move the detail to a page under docs/ and link it");
    }

    @Test
    void everyRelativeLinkPointsAtAFileAndAnAnchorThatExist() {
        List<String> broken = new ArrayList<>();
        for (Path page : pages()) {
            for (String target : Markdown.read(page).links) {
                String problem = linkProblem(page, target);
                if (problem != null) {
                    broken.add(ROOT.relativize(page) + ": (" + target + ") " + problem);
                }
            }
        }
        assertEquals(List.of(), broken);
    }

    @Test
    void everyDocsPageOpensWithAContentsListOfItsSections() {
        List<String> problems = new ArrayList<>();
        for (Path page : docsPages()) {
            Markdown md = Markdown.read(page);
            String name = ROOT.relativize(page).toString();
            if (md.contents.isEmpty()) {
                problems.add(name + ": no **Contents** list before its first section");
                continue;
            }
            for (var section : md.sections.entrySet()) {
                if (!md.contents.contains(section.getKey())) {
                    problems.add(name + ": section \"" + section.getValue() + "\" is not in its contents (#"
                            + section.getKey() + ")");
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void quotedLogLinesNameARealLoggerAndARealMessage() {
        Sources sources = Sources.read();
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            for (String line : Markdown.read(page).quoted) {
                Matcher m = LOG_LINE.matcher(line);
                if (m.find()) {
                    checked++;
                    String problem = sources.problem(m.group(2), m.group(3));
                    if (problem != null) {
                        wrong.add(ROOT.relativize(page) + ": " + problem + "\n    " + line);
                    }
                }
            }
        }
        assertEquals("", String.join("\n", wrong));
        assertTrue(checked >= 20, "only " + checked + " quoted log lines found: is LOG_LINE still right?");
    }

    @Test
    void theLogLineCheckCatchesAMessageUnderTheWrongLogger() {
        Sources sources = Sources.read();
        String message = "deploy done id=7 trigger=webhook deliveries=[] from=af3bfad to=8ab4b39 ms=43 fetch_ms=18"
                + " check_ms=3 reset_ms=25 reset=changed-paths git_ms=40";
        // the README once quoted this under DeployService; the line comes from Deployer
        assertNotNull(sources.problem("DeployService", message));
        assertEquals(null, sources.problem("Deployer", message));
        assertNotNull(sources.problem("Deployer", "deploy finished id=7"), "a message no format starts");
        assertNotNull(sources.problem("NoSuchClass", "deploy done id=7"), "a logger that does not exist");
        assertNotNull(sources.problem("Deployer", "deploy done id=7 trigger=webhook ms=43"),
                "fields in the wrong order or missing, without an ellipsis");
        assertEquals(null, sources.problem("Deployer", "deploy done id=7 trigger=webhook ..."), "an abbreviated line");
    }

    @Test
    void configurationReferenceListsEveryKeyWithItsDefaultAndEnvironmentVariable() throws IOException {
        String loader = Files.readString(MAIN_SOURCES.resolve("dev/pullhook/config/ConfigLoader.java"));
        String reference = Files.readString(ROOT.resolve("docs/configuration.md"));
        Matcher m = Pattern.compile("d\\.put\\(\"([a-z.]+)\",\\s*(null|\"([^\"]*)\"|[^;]*)\\);").matcher(loader);
        List<String> problems = new ArrayList<>();
        int keys = 0;
        while (m.find()) {
            keys++;
            String key = m.group(1);
            String row = reference.lines().filter(l -> l.startsWith("| `" + key + "` |")).findFirst().orElse(null);
            if (row == null) {
                problems.add(key + ": no row in docs/configuration.md");
                continue;
            }
            String[] cells = row.split("\\|");
            String defaultCell = cells.length > 2 ? cells[2].strip() : "";
            if (m.group(2).equals("null") && !defaultCell.startsWith("—") && !defaultCell.startsWith("`<")) {
                // no default: "—", or one computed from another key ("`<repo.path>/.git/pullhook`")
                problems.add(key + ": has no default, the row says " + defaultCell);
            } else if (m.group(3) != null && !defaultCell.startsWith("`" + m.group(3) + "`")) {
                problems.add(key + ": default is " + m.group(3) + ", the row says " + defaultCell);
            }
            if (!row.contains("`" + ConfigLoader.envName(key) + "`")) {
                problems.add(key + ": the row does not name " + ConfigLoader.envName(key));
            }
        }
        Matcher credential = Pattern.compile("static final String \\w+_CREDENTIAL = \"([^\"]+)\"").matcher(loader);
        while (credential.find()) {
            if (!reference.contains("`" + credential.group(1) + "`")) {
                problems.add("the systemd credential " + credential.group(1) + " is not in docs/configuration.md");
            }
        }
        assertTrue(keys >= 40, "only " + keys + " keys found in ConfigLoader: has DEFAULTS moved?");
        assertEquals(List.of(), problems);
    }

    @Test
    void theReadmeTestCommandIsWhatCiRuns() throws IOException {
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        String command = null;
        for (int i = 0; i + 1 < readme.size(); i++) {
            if (readme.get(i).startsWith("# run the whole test suite")) {
                command = readme.get(i + 1).strip();
                break;
            }
        }
        assertNotNull(command, "README.md has no \"# run the whole test suite\" line before its test command");
        String wanted = command;
        List<String> ci = Files.readAllLines(ROOT.resolve(".ci/run"));
        assertTrue(ci.stream().anyMatch(l -> l.strip().equals(wanted)), ".ci/run does not run `" + wanted + "`");
    }

    /** README.md, SECURITY.md and docs/*.md. */
    private static List<Path> pages() {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("SECURITY.md")));
        pages.addAll(docsPages());
        return pages;
    }

    private static List<Path> docsPages() {
        try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
            List<Path> pages = files.filter(p -> p.toString().endsWith(".md")).sorted().toList();
            assertFalse(pages.isEmpty(), "no docs/*.md");
            return pages;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Why a link from {@code page} to {@code target} is broken, or null when it works (or is not relative). */
    private static String linkProblem(Path page, String target) {
        if (target.matches("[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
            return null;  // https:, mailto: ...
        }
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        String anchor = hash < 0 ? null : target.substring(hash + 1);
        Path resolved = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
        if (!resolved.startsWith(ROOT)) {
            return "points outside the repository";
        }
        if (!Files.exists(resolved)) {
            return "no such file " + ROOT.relativize(resolved);
        }
        if (anchor == null) {
            return null;
        }
        if (!resolved.toString().endsWith(".md")) {
            return "an anchor in a file that is not Markdown";
        }
        Set<String> anchors = Markdown.read(resolved).anchors;
        return anchors.contains(anchor) ? null : "no heading with the anchor #" + anchor + " in "
                + ROOT.relativize(resolved);
    }

    /** What the checks need from one Markdown page. */
    static final class Markdown {
        /** Anchors of every heading, as GitHub makes them. */
        final Set<String> anchors = new LinkedHashSet<>();
        /** Anchor and text of each {@code ##} heading. */
        final Map<String, String> sections = new LinkedHashMap<>();
        /** Link targets outside code. */
        final List<String> links = new ArrayList<>();
        /** Lines of fenced code blocks, and inline code spans: where log lines are quoted. */
        final List<String> quoted = new ArrayList<>();
        /** The anchors linked from the "**Contents**" list before the first {@code ##} heading. */
        final Set<String> contents = new LinkedHashSet<>();

        private static final Map<Path, Markdown> CACHE = new HashMap<>();

        static synchronized Markdown read(Path file) {
            return CACHE.computeIfAbsent(file, Markdown::parse);
        }

        private static Markdown parse(Path file) {
            Markdown md = new Markdown();
            Map<String, Integer> seen = new HashMap<>();
            String fence = null;
            boolean inContents = false;
            boolean beforeSections = true;
            List<String> lines;
            try {
                lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (String line : lines) {
                String trimmed = line.strip();
                if (fence != null) {
                    if (trimmed.startsWith(fence)) {
                        fence = null;
                    } else {
                        md.quoted.add(line);
                    }
                    continue;
                }
                if (trimmed.startsWith("```") || trimmed.startsWith("~~~")) {
                    fence = trimmed.substring(0, 3);
                    continue;
                }
                Matcher code = CODE_SPAN.matcher(line);
                while (code.find()) {
                    md.quoted.add(code.group(1));
                }
                String prose = CODE_SPAN.matcher(line).replaceAll("");
                Matcher heading = HEADING.matcher(line);
                if (heading.matches()) {
                    String anchor = slug(heading.group(2));
                    int n = seen.merge(anchor, 1, Integer::sum);
                    String unique = n == 1 ? anchor : anchor + "-" + (n - 1);
                    md.anchors.add(unique);
                    if (heading.group(1).length() == 2) {
                        md.sections.put(unique, heading.group(2));
                        beforeSections = false;
                    }
                }
                if (beforeSections && trimmed.equals("**Contents**")) {
                    inContents = true;
                }
                Matcher link = LINK.matcher(prose);
                while (link.find()) {
                    md.links.add(link.group(1));
                    if (inContents && beforeSections && link.group(1).startsWith("#")) {
                        md.contents.add(link.group(1).substring(1));
                    }
                }
            }
            return md;
        }

        /** GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as hyphens. */
        static String slug(String heading) {
            String text = heading.replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1").replace("`", "");
            StringBuilder out = new StringBuilder();
            text.toLowerCase(Locale.ROOT).codePoints().forEach(c -> {
                if (Character.isLetterOrDigit(c) || c == '-' || c == '_') {
                    out.appendCodePoint(c);
                } else if (c == ' ') {
                    out.append('-');
                }
            });
            return out.toString();
        }
    }

    /**
     * The string literals of src/main/java by logger name: a logger {@code X} is declared with
     * {@code getLogger(X.class)}, usually in X.java, sometimes in a helper of X. Literals joined with
     * {@code +} count as one, so a format split over lines is whole.
     */
    static final class Sources {
        private final Map<String, List<String>> literalsByLogger = new TreeMap<>();
        private final Set<String> classes = new LinkedHashSet<>();
        private static Sources cached;

        static synchronized Sources read() {
            if (cached == null) {
                cached = new Sources();
                try (Stream<Path> files = Files.walk(MAIN_SOURCES)) {
                    for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                        String name = file.getFileName().toString();
                        cached.classes.add(name.substring(0, name.length() - ".java".length()));
                        String source = Files.readString(file, StandardCharsets.UTF_8);
                        Matcher m = LOGGER_DECLARATION.matcher(source);
                        while (m.find()) {
                            String logger = m.group(1) != null ? m.group(1) : m.group(2);  // by class, or by name (Cli's "Main")
                            cached.literalsByLogger.computeIfAbsent(logger, k -> new ArrayList<>())
                                    .addAll(literals(source));
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return cached;
        }

        /**
         * Why {@code logger - message} cannot come from src/main/java, or null when it can: the logger must be
         * a class there with a logger of that name, and one of the literals in that logger's files must be a
         * format the message follows (its text up to each {@code {}} found in order; a message abbreviated
         * with an ellipsis may stop early). A literal without {@code {}} must equal the message.
         */
        String problem(String logger, String message) {
            if (!classes.contains(logger)) {
                return "logger " + logger + ": no such class in src/main/java";
            }
            List<String> literals = literalsByLogger.get(logger);
            if (literals == null) {
                return "logger " + logger + ": no getLogger(" + logger + ".class) in src/main/java";
            }
            for (String format : literals) {
                if (follows(message, format)) {
                    return null;
                }
            }
            return "message not logged by " + logger + " (no format of its sources starts \""
                    + message.substring(0, Math.min(40, message.length())) + "\")";
        }

        static boolean follows(String message, String format) {
            if (!format.contains("{}")) {
                return message.equals(format);
            }
            String[] parts = format.split("\\{}", -1);
            if (parts[0].isEmpty() || !message.startsWith(parts[0])) {
                return false;
            }
            int at = parts[0].length();
            boolean abbreviated = message.contains("...") || message.contains("…");
            for (int i = 1; i < parts.length; i++) {
                if (parts[i].isEmpty()) {
                    continue;
                }
                int found = message.indexOf(parts[i], at);
                if (found < 0) {
                    return abbreviated;
                }
                at = found + parts[i].length();
            }
            return true;
        }

        /** The string literals of a Java source, those joined by {@code +} as one; comments and chars skipped. */
        static List<String> literals(String source) {
            List<String> out = new ArrayList<>();
            StringBuilder current = null;
            int i = 0;
            int n = source.length();
            while (i < n) {
                char c = source.charAt(i);
                if (source.startsWith("//", i)) {
                    i = source.indexOf('\n', i) < 0 ? n : source.indexOf('\n', i);
                } else if (source.startsWith("/*", i)) {
                    i = source.indexOf("*/", i + 2) < 0 ? n : source.indexOf("*/", i + 2) + 2;
                } else if (c == '\'') {
                    i = skipQuoted(source, i, '\'');
                } else if (source.startsWith("\"\"\"", i)) {
                    int end = source.indexOf("\"\"\"", i + 3);
                    end = end < 0 ? n : end;
                    out.add(source.substring(source.indexOf('\n', i) + 1, end).stripIndent());
                    i = end + 3;
                    current = null;
                } else if (c == '"') {
                    int end = skipQuoted(source, i, '"');
                    String text = unescape(source.substring(i + 1, end - 1));
                    if (current == null) {
                        current = new StringBuilder();
                        out.add(null);
                    }
                    current.append(text);
                    out.set(out.size() - 1, current.toString());
                    i = end;
                    int next = i;
                    while (next < n && Character.isWhitespace(source.charAt(next))) {
                        next++;
                    }
                    if (next < n && source.charAt(next) == '+') {
                        next++;
                        while (next < n && Character.isWhitespace(source.charAt(next))) {
                            next++;
                        }
                        if (next < n && source.charAt(next) == '"' && !source.startsWith("\"\"\"", next)) {
                            i = next;
                            continue;  // "a" + "b": one literal
                        }
                    }
                    current = null;
                } else {
                    i++;
                }
            }
            return out;
        }

        /** The index after the closing quote of the literal that opens at {@code start}. */
        private static int skipQuoted(String source, int start, char quote) {
            int i = start + 1;
            while (i < source.length() && source.charAt(i) != quote) {
                i += source.charAt(i) == '\\' ? 2 : 1;
            }
            return Math.min(i + 1, source.length());
        }

        private static String unescape(String s) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\\' && i + 1 < s.length()) {
                    char e = s.charAt(++i);
                    out.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        default -> e;
                    });
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }
    }
}
