package dev.pullhook.git;

import org.eclipse.jgit.dircache.DirCache;

/**
 * A run of index entries by position, {@code from} inclusive to {@code to} exclusive: those of one path
 * (every stage of a conflict), or all those under one folder. The index is sorted by the bytes of its
 * paths, so both are found by binary search.
 */
record EntryRange(int from, int to) {

    /** The entries of {@code path} itself; empty when the index does not track it. */
    static EntryRange of(DirCache index, String path) {
        int at = index.findEntry(path);
        return at < 0 ? new EntryRange(0, 0) : new EntryRange(at, index.nextEntry(at));
    }

    /** The entries whose paths start with {@code folder + "/"}. */
    static EntryRange within(DirCache index, String folder) {
        return new EntryRange(insertionPoint(index, folder + "/"), insertionPoint(index, folder + "0"));  // '0' follows '/'
    }

    boolean isEmpty() {
        return from >= to;
    }

    private static int insertionPoint(DirCache index, String path) {
        int at = index.findEntry(path);
        return at >= 0 ? at : -(at + 1);
    }
}
