package dev.pullhook.config;

import java.util.Collection;
import java.util.Locale;

/**
 * The known name a misspelt one was most likely meant to be, for a "did you mean" hint: the closest by
 * edit distance (insertions, deletions, substitutions and swaps of two neighbours each count one, case
 * ignored), if it is close enough to be a typo; else a known name that starts with it (a key missing its
 * unit, such as {@code deploy.timeout} for {@code deploy.timeout.seconds}).
 */
final class NearestKey {
    private NearestKey() {
    }

    /** The nearest of {@code known} to {@code name}, or null when none is near. */
    static String of(String name, Collection<String> known) {
        String wanted = name.toLowerCase(Locale.ROOT);
        int allowed = Math.max(2, wanted.length() / 5);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(wanted, k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        if (best != null && bestDistance <= allowed) {
            return best;
        }
        for (String k : known) {
            if (k.startsWith(wanted + ".")) {
                return k;
            }
        }
        return null;
    }

    /** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
