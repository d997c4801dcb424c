package dev.pullhook.git;

import org.eclipse.jgit.attributes.Attributes;
import org.eclipse.jgit.dircache.DirCacheCheckout;
import org.eclipse.jgit.lib.Config;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.AbstractTreeIterator;
import org.eclipse.jgit.treewalk.EmptyTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.OrTreeFilter;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a hard reset from HEAD to a commit writes and deletes, checked before anything is written: every
 * name the target brings (or that the reset rewrites because it was edited) passes {@link PathRules}, the
 * target has no two entries of one name, and no attribute asks for something pullhook cannot do as git
 * does ({@code ident}, {@code working-tree-encoding}, a filter driver git would run differently). Unchanged
 * folders are skipped by tree id, as git's own reset skips them: a 3-file push is a 3-entry plan.
 * It also says whether the fast path ({@link TreeSwitch}) can do the reset, and if not, why.
 */
final class ResetPlan {
    /** At most this many changed paths for the fast path; more go the reference way. */
    static final int MAX_FAST_CHANGES = 5_000;

    /** One path that differs between HEAD and the target; {@code newMode} MISSING: deleted. */
    record Change(String path, byte[] rawPath, FileMode oldMode, ObjectId oldId, FileMode newMode, ObjectId newId,
                  DirCacheCheckout.CheckoutMetadata metadata) {
        boolean deleted() {
            return newMode == FileMode.MISSING;
        }
    }

    final ObjectId head;
    final ObjectId headTree;
    final ObjectId target;
    final ObjectId targetTree;
    /** Paths that differ between HEAD's tree and the target's, files only (no folders), in tree order. */
    final List<Change> changes;
    /** Paths the target has that are not in {@link #changes} but are rewritten (edited locally). */
    final Set<String> rewritten;
    /** The tracked paths found edited, deleted or staged, which the reset puts back. */
    final Set<String> edited;
    /** Edited paths the target does not have (staged additions): the reset deletes them too. */
    final Set<String> extraDeleted;
    /** Why {@link TreeSwitch} should not do this reset (the reference does), or null. */
    final String notFast;

    private ResetPlan(ObjectId head, ObjectId headTree, ObjectId target, ObjectId targetTree, List<Change> changes,
                      Set<String> rewritten, Set<String> edited, String notFast) {
        this.head = head;
        this.headTree = headTree;
        this.target = target;
        this.targetTree = targetTree;
        this.changes = changes;
        this.rewritten = rewritten;
        this.edited = Set.copyOf(edited);
        Set<String> deleted = new HashSet<>(edited);
        deleted.removeAll(rewritten);
        for (Change c : changes) {
            deleted.remove(c.path());
        }
        this.extraDeleted = Set.copyOf(deleted);
        this.notFast = notFast;
    }

    /** A refusal: the target cannot be deployed as git would deploy it. Nothing was changed. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Plans the reset from {@code head} (null: nothing checked out) to {@code target}.
     *
     * @param edited tracked paths found edited, deleted or staged: the reset rewrites them too
     * @throws Refused when the target holds something git would not check out, or pullhook cannot write as git
     */
    static ResetPlan of(Repository repo, ObjectId head, ObjectId target, Collection<String> edited)
            throws IOException, Refused {
        try (ObjectReader reader = repo.newObjectReader(); RevWalk rw = new RevWalk(reader);
             TreeWalk tw = new TreeWalk(repo, reader)) {
            ObjectId headTree = head == null ? null : rw.parseCommit(head).getTree().copy();
            ObjectId targetTree = rw.parseCommit(target).getTree().copy();
            tw.setOperationType(TreeWalk.OperationType.CHECKOUT_OP);
            if (headTree == null) {
                tw.addTree(new EmptyTreeIterator());
            } else {
                tw.addTree(headTree);
            }
            tw.setHead(tw.addTree(targetTree));  // attributes come from the tree being checked out, as git takes them
            TreeFilter filter = TreeFilter.ANY_DIFF;
            Set<String> extra = new HashSet<>();
            for (String p : edited) {
                if (!p.startsWith("... (")) {
                    extra.add(p);
                }
            }
            if (!extra.isEmpty()) {
                filter = OrTreeFilter.create(filter, new Paths(extra));
            }
            tw.setFilter(filter);
            Walker walker = new Walker(repo, tw, target, extra);
            walker.run();
            return new ResetPlan(head, headTree, target, targetTree, walker.changes, walker.rewritten, extra,
                    head == null ? "nothing is checked out yet" : walker.notFast);
        }
    }

    /** The modes git writes as it reads them; any other is written differently by git and by JGit. */
    private static final java.util.Set<String> CANONICAL = java.util.Set.of("100644", "100755", "120000", "40000",
            "160000");

    /** Whether the octal mode {@code raw[from, to)} of a tree entry is one git and JGit check out alike. */
    static boolean canonicalMode(byte[] raw, int from, int to) {
        return CANONICAL.contains(new String(raw, from, to - from, java.nio.charset.StandardCharsets.US_ASCII));
    }

    /**
     * The given paths and the folders on their way. Unlike JGit's {@code PathFilterGroup} it never stops the
     * walk (which, or-ed with ANY_DIFF, would end the walk at the last edited path).
     */
    private static final class Paths extends StatelessFilter {
        private final java.util.NavigableSet<String> paths;

        Paths(Set<String> paths) {
            this.paths = new java.util.TreeSet<>(paths);
        }

        @Override
        public boolean include(TreeWalk walk) {
            String path = walk.getPathString();
            if (paths.contains(path)) {
                return true;
            }
            String below = paths.ceiling(path + "/");
            return below != null && below.startsWith(path + "/");
        }

    }

    /** One walk of HEAD against the target, entering only changed (or edited) folders. */
    private static final class Walker {
        private final Repository repo;
        private final TreeWalk tw;
        private final ObjectId target;
        private final Set<String> extra;
        private final List<Change> changes = new ArrayList<>();
        private final Set<String> rewritten = new HashSet<>();
        /** The target's paths seen so far: a second entry of one name is a duplicate (fsck's duplicateEntries). */
        private final Set<String> seen = new HashSet<>();
        private String notFast;

        Walker(Repository repo, TreeWalk tw, ObjectId target, Set<String> extra) {
            this.repo = repo;
            this.tw = tw;
            this.target = target;
            this.extra = extra;
        }

        void run() throws IOException, Refused {
            while (tw.next()) {
                FileMode old = tw.getFileMode(0);
                FileMode nu = tw.getFileMode(1);
                String path = tw.getPathString();
                if (nu != FileMode.MISSING) {
                    checkName(path, nu);
                }
                if (tw.isSubtree()) {
                    tw.enterSubtree();
                    continue;
                }
                if (nu == FileMode.TREE || old == FileMode.TREE) {
                    // a file on one side and a folder on the other: the folder is entered as its own entry
                    if (old != FileMode.TREE && old != FileMode.MISSING) {
                        add(path, old, FileMode.MISSING, null);
                    }
                    continue;
                }
                boolean same = old.equals(nu) && tw.getObjectId(0).equals(tw.getObjectId(1));
                if (same) {
                    if (extra.contains(path)) {
                        rewritten.add(path);
                        if (nu != FileMode.GITLINK) {
                            metadata(path, nu);  // the audit of what it will be written with
                        }
                    }
                    continue;
                }
                add(path, old, nu, nu == FileMode.MISSING || nu == FileMode.GITLINK ? null : metadata(path, nu));
            }
            if (changes.size() > MAX_FAST_CHANGES && notFast == null) {
                notFast = changes.size() + " changed paths";
            }
        }

        private void add(String path, FileMode old, FileMode nu, DirCacheCheckout.CheckoutMetadata metadata) {
            changes.add(new Change(path, tw.getRawPath(), old, tw.getObjectId(0), nu,
                    nu == FileMode.MISSING ? null : tw.getObjectId(1), metadata));
            if (notFast == null) {
                if (old == FileMode.GITLINK || nu == FileMode.GITLINK) {
                    notFast = "a submodule changes (" + path + ")";
                } else if (old == FileMode.SYMLINK || nu == FileMode.SYMLINK) {
                    notFast = "a symbolic link changes (" + path + ")";
                }
            }
        }

        private void checkName(String path, FileMode mode) throws Refused {
            AbstractTreeIterator t = tw.getTree(1, AbstractTreeIterator.class);
            byte[] buf = t.getEntryPathBuffer();
            int from = t.getNameOffset();
            int to = from + t.getNameLength();
            String problem = PathRules.segmentProblem(buf, from, to, mode);
            int raw = tw.getRawMode(1);
            if (problem == null && raw != FileMode.REGULAR_FILE.getBits() && raw != FileMode.EXECUTABLE_FILE.getBits()
                    && raw != FileMode.SYMLINK.getBits() && raw != FileMode.TREE.getBits()
                    && raw != FileMode.GITLINK.getBits()) {
                problem = "its mode " + Integer.toOctalString(raw) + " is one git and JGit write differently (badFilemode)";
            }
            if (problem == null && !seen.add(path)) {
                problem = "the tree holds two entries of this name (duplicateEntries)";
            }
            if (problem != null) {
                throw new Refused("refusing " + target.abbreviate(7).name() + ": its tree holds "
                        + PathRules.quote(tw.getRawPath(), 0, tw.getPathLength()) + ", and " + problem
                        + "; nothing was changed");
            }
        }

        /** How the blob is written (eol, smudge filter), refusing what pullhook cannot do as git does. */
        private DirCacheCheckout.CheckoutMetadata metadata(String path, FileMode mode) throws IOException, Refused {
            if (mode == FileMode.SYMLINK) {
                linkTarget(path);
                return new DirCacheCheckout.CheckoutMetadata(org.eclipse.jgit.lib.CoreConfig.EolStreamType.DIRECT, null);
            }
            Attributes attributes = tw.getAttributes();
            if (attributes.isSet("ident")) {
                throw unsupported(path, "the attribute ident ($Id$ expansion)");
            }
            if (attributes.get("working-tree-encoding") != null && !attributes.isUnset("working-tree-encoding")) {
                throw unsupported(path, "the attribute working-tree-encoding");
            }
            String driver = attributes.getValue(Constants.ATTR_FILTER);
            String smudge = null;
            if (driver != null) {
                Config config = repo.getConfig();
                smudge = config.getString(Constants.ATTR_FILTER, driver, "smudge");
                if (config.getString(Constants.ATTR_FILTER, driver, "process") != null && smudge == null) {
                    throw unsupported(path, "the filter driver " + driver + " (filter." + driver
                            + ".process: long-running filter processes are not supported)");
                }
                if (smudge == null && config.getBoolean(Constants.ATTR_FILTER, driver, "required", false)) {
                    throw unsupported(path, "the filter driver " + driver + ", which is required but has no smudge command");
                }
                if (smudge != null && smudge.contains("%f")) {
                    throw unsupported(path, "the filter driver " + driver + " (its smudge command uses %f, which"
                            + " JGit does not replace)");
                }
                if (smudge != null && notFast == null) {
                    notFast = "the filter driver " + driver + " applies to " + path;
                }
            }
            return new DirCacheCheckout.CheckoutMetadata(tw.getEolStreamType(TreeWalk.OperationType.CHECKOUT_OP),
                    smudge == null ? null : tw.getFilterCommand(Constants.ATTR_FILTER_TYPE_SMUDGE));
        }

        /**
         * Refuses a link whose target Java cannot write byte for byte: Java (and JGit) make links from a
         * {@code Path}, which drops a trailing or doubled '/' and cannot hold bytes that are not UTF-8.
         */
        private void linkTarget(String path) throws IOException, Refused {
            byte[] target = tw.getObjectReader().open(tw.getObjectId(1), Constants.OBJ_BLOB).getCachedBytes(4096);
            String why = null;
            String text = new String(target, java.nio.charset.StandardCharsets.UTF_8);
            if (target.length == 0) {
                why = "is empty";
            } else if (!java.util.Arrays.equals(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), target)
                    || text.indexOf('\0') >= 0) {
                why = "is not valid UTF-8 text";
            } else if (!java.nio.file.Path.of(text).toString().equals(text)) {
                why = "has a trailing or doubled '/', which Java drops when it makes a link";
            } else if (!PathRules.namesAreUtf8() && !text.chars().allMatch(c -> c < 0x80)) {
                why = "is not ASCII and this Java writes file names as " + WorkingCopy.fileNamesNotUtf8()
                        + " (start pullhook under a UTF-8 locale, e.g. LANG=C.UTF-8)";
            }
            if (why != null) {
                throw new Refused("refusing " + target(path) + ": the symbolic link " + PathRules.quote(tw.getRawPath(), 0,
                        tw.getPathLength()) + " points to " + PathRules.quote(target, 0, target.length) + ", which "
                        + why + "; pullhook cannot write it as git would; nothing was changed (change the link in the"
                        + " repository)");
            }
        }

        private String target(String path) {
            return this.target.abbreviate(7).name();
        }

        private Refused unsupported(String path, String what) {
            return new Refused("refusing " + target.abbreviate(7).name() + ": " + PathRules.quote(tw.getRawPath(), 0,
                    tw.getPathLength()) + " uses " + what + ", which pullhook does not implement; nothing was changed"
                    + " (remove it from .gitattributes, or deploy this repository with git itself)");
        }
    }
}
