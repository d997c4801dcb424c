package dev.pullhook.git;

import org.eclipse.jgit.treewalk.filter.TreeFilter;

/** A tree filter that keeps no state between entries: it needs no copy, and never makes the walk recursive. */
abstract class StatelessFilter extends TreeFilter {
    @Override
    public boolean shouldBeRecursive() {
        return false;
    }

    @Override
    public TreeFilter clone() {
        return this;
    }
}
