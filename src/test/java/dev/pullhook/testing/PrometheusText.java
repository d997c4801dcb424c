package dev.pullhook.testing;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scrape in the Prometheus text format (version 0.0.4), read back the way Prometheus reads it, so tests
 * assert on series and values rather than on the text: {@code name{label="value",...} value}. Comment lines
 * ({@code # HELP}, {@code # TYPE}) are kept per metric family; anything else is a parse error, so a
 * malformed exposition fails the test.
 */
public final class PrometheusText {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+-?\\d+)?");
    private static final Pattern LABEL = Pattern.compile("\\s*([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"\\s*(,|$)");

    /** Series key ({@code name} + sorted labels) to value. */
    private final Map<String, Double> samples = new LinkedHashMap<>();
    private final Map<String, String> types = new LinkedHashMap<>();

    private PrometheusText() {
    }

    public static PrometheusText parse(String text) {
        PrometheusText p = new PrometheusText();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] f = line.split(" ", 4);
                if (f.length >= 4 && f[1].equals("TYPE")) {
                    p.types.put(f[2], f[3]);
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a sample line: " + line);
            }
            Map<String, String> labels = new TreeMap<>();
            if (m.group(3) != null && !m.group(3).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(3));
                int end = 0;
                while (end < m.group(3).length() && l.find(end) && l.start() == end) {
                    labels.put(l.group(1), unescape(l.group(2)));
                    end = l.end();
                }
                if (end != m.group(3).length()) {
                    throw new IllegalArgumentException("bad labels in: " + line);
                }
            }
            String key = key(m.group(1), labels);
            if (p.samples.put(key, value(m.group(4))) != null) {
                throw new IllegalArgumentException("series twice: " + key);
            }
        }
        return p;
    }

    private static double value(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    private static String unescape(String v) {
        return v.replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
    }

    private static String key(String name, Map<String, String> labels) {
        return name + labels;
    }

    /** The value of a series given as name and label pairs, or null when the scrape has no such series. */
    public Double value(String name, String... labelPairs) {
        Map<String, String> labels = new TreeMap<>();
        for (int i = 0; i + 1 < labelPairs.length; i += 2) {
            labels.put(labelPairs[i], labelPairs[i + 1]);
        }
        return samples.get(key(name, labels));
    }

    /** The {@code # TYPE} of a metric family, e.g. {@code counter}. */
    public String type(String family) {
        return types.get(family);
    }

    /** Every series, for failure messages. */
    @Override
    public String toString() {
        return samples.toString();
    }
}
