package dev.pullhook.config;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A config file's text as keys and values, each with the line it starts on. The syntax is exactly
 * {@link Properties#load(java.io.Reader)}'s (each logical line goes through it), with two differences for
 * people editing by hand: a UTF-8 byte-order mark at the start (Windows editors write one) is skipped instead
 * of becoming part of the first key, and a key set twice is a problem naming both lines instead of the last
 * one silently winning. It checks no key: that is {@link ConfigLoader}'s work.
 */
final class PropertiesFile {
    /** One key's value and the line (1-based) where its entry starts. */
    record Entry(String value, int line) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();

    private PropertiesFile() {
    }

    /** Parses {@code text}, a whole file. */
    static PropertiesFile parse(String text) {
        PropertiesFile file = new PropertiesFile();
        String body = text.startsWith("\uFEFF") ? text.substring(1) : text;
        try (BufferedReader in = new BufferedReader(new StringReader(body))) {
            StringBuilder logical = new StringBuilder();
            int start = 0;
            int number = 0;
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                number++;
                if (logical.length() == 0) {
                    String lead = line.stripLeading();
                    if (lead.isEmpty() || lead.startsWith("#") || lead.startsWith("!")) {
                        continue;  // a comment never continues onto the next line
                    }
                    start = number;
                } else {
                    logical.append('\n');
                }
                logical.append(line);
                if (!continues(line)) {
                    file.add(logical.toString(), start);
                    logical.setLength(0);
                }
            }
            if (logical.length() > 0) {
                file.add(logical.toString(), start);
            }
        } catch (IOException e) {
            throw new IllegalStateException("reading a string", e);
        }
        return file;
    }

    /** A line ending in an odd number of backslashes goes on in the next one. */
    private static boolean continues(String line) {
        int n = 0;
        for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) {
            n++;
        }
        return n % 2 == 1;
    }

    private void add(String logicalLine, int line) {
        Properties one = new Properties();
        try {
            one.load(new StringReader(logicalLine));
        } catch (IOException | IllegalArgumentException e) {
            // a malformed \\uXXXX escape: name the line, not its text (which may hold anything)
            problems.add("line " + line + ": cannot be read (" + e.getMessage() + ")");
            return;
        }
        for (String key : one.stringPropertyNames()) {
            Entry earlier = entries.get(key);
            if (earlier != null) {
                problems.add(key + ": set twice, on line " + earlier.line() + " and on line " + line
                        + "; keep one of them");
            } else {
                entries.put(key, new Entry(one.getProperty(key), line));
            }
        }
    }

    /** The keys in the order they first appear. */
    Map<String, Entry> entries() {
        return entries;
    }

    /** Keys set twice, lines that cannot be read. */
    List<String> problems() {
        return problems;
    }
}
