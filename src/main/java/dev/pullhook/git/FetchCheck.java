package dev.pullhook.git;

import org.eclipse.jgit.errors.ConfigInvalidException;
import org.eclipse.jgit.errors.CorruptObjectException;
import org.eclipse.jgit.errors.MissingObjectException;
import org.eclipse.jgit.lib.Config;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectChecker;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevObject;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.AbstractTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * What a fetch brought, checked before anything trusts it, as git's fetch checks it:
 * <ul>
 *   <li><b>connectivity</b> ({@code check_connected}): every object reachable from the new tip that is not
 *       reachable from the refs the repository already had is present;</li>
 *   <li><b>fsck</b> ({@code transfer.fsckObjects=true}, {@code git.fsck}): each of those commits and trees
 *       passes JGit's {@link ObjectChecker} (names such as {@code .git}, {@code ..}, their NTFS and HFS+
 *       spellings, duplicate entries, modes, order, malformed commits), and every {@code .gitmodules} blob
 *       passes git's submodule checks (no option-like URL, name or path, no {@code ..} in a name).</li>
 * </ul>
 * As git does, it trusts what the old refs reach. It compares each new commit's tree with its parents' and
 * enters only what differs, so a push of three files costs a few tree reads, not a walk of the whole tree.
 */
final class FetchCheck {
    private FetchCheck() {
    }

    /**
     * JGit's object checker as git's {@code transfer.fsckObjects} runs on Linux, for JGit's own pack parser
     * too: not the macOS or Windows variants, which also refuse names that differ only in case or hold a
     * ':', as Linux allows; the HFS+ and NTFS spellings of {@code .git} git refuses everywhere are added by
     * {@link #verify}.
     */
    static ObjectChecker checker() {
        return new ObjectChecker();
    }

    /** An object the fetch brought fails a check, or is missing. */
    static final class Failed extends Exception {
        private static final long serialVersionUID = 1L;
        final ObjectId object;
        final String rule;
        /** True when an object is missing here (a fetch with the pack protocol can bring it). */
        final boolean missing;

        Failed(ObjectId object, String rule, String detail, boolean missing) {
            super(detail, null, false, false);
            this.object = object;
            this.rule = rule;
            this.missing = missing;
        }
    }

    /**
     * @param tip     the fetched tip (a commit, or a tag of one)
     * @param trusted the ids the repository's refs pointed at before the fetch
     * @param fsck    also check each new object as {@code transfer.fsckObjects} does
     */
    static void verify(Repository r, ObjectId tip, Collection<ObjectId> trusted, boolean fsck)
            throws IOException, Failed {
        try (ObjectReader reader = r.newObjectReader(); RevWalk rw = new RevWalk(reader)) {
            Verifier v = new Verifier(reader, fsck);
            RevObject start;
            try {
                start = rw.parseAny(tip);
                while (start.getType() == Constants.OBJ_TAG) {
                    v.check(start, Constants.OBJ_TAG);
                    start = rw.parseAny(((org.eclipse.jgit.revwalk.RevTag) start).getObject());
                }
            } catch (MissingObjectException e) {
                throw new Failed(e.getObjectId(), "missingObject", "the fetched tip " + tip.name() + " is missing", true);
            }
            if (start.getType() != Constants.OBJ_COMMIT) {
                return;  // the caller reports a branch that does not point at a commit
            }
            rw.markStart((RevCommit) start);
            for (ObjectId id : trusted) {
                try {
                    RevObject o = rw.peel(rw.parseAny(id));
                    if (o instanceof RevCommit c) {
                        rw.markUninteresting(c);
                    }
                } catch (MissingObjectException | org.eclipse.jgit.errors.IncorrectObjectTypeException e) {
                    // a ref to something absent proves nothing; it is simply not trusted
                }
            }
            try {
                for (RevCommit c; (c = rw.next()) != null; ) {
                    v.check(c, Constants.OBJ_COMMIT);
                    for (RevCommit p : c.getParents()) {
                        rw.parseHeaders(p);
                    }
                    v.trees(c);
                }
            } catch (MissingObjectException e) {
                throw new Failed(e.getObjectId(), "missingObject", "object " + e.getObjectId().name()
                        + ", reachable from " + tip.name() + ", is missing", true);
            }
        }
    }

    private static final class Verifier {
        private final ObjectReader reader;
        private final ObjectChecker checker;
        private final Set<ObjectId> checked = new HashSet<>();

        Verifier(ObjectReader reader, boolean fsck) {
            this.reader = reader;
            this.checker = fsck ? checker() : null;
        }

        void check(ObjectId id, int type) throws IOException, Failed {
            byte[] raw = reader.open(id, type).getCachedBytes();
            if (checker == null) {
                return;
            }
            try {
                checker.check(id, type, raw);
            } catch (CorruptObjectException e) {
                throw failed(id, e);
            }
            if (type == Constants.OBJ_TREE) {
                entries(id, raw);
            }
        }

        /**
         * What JGit's checker lets through: the NTFS and HFS+ spellings of .git, which git's fsck refuses on
         * every platform, and modes git and JGit would write differently (git's badFilemode: 100645 is a
         * plain file to git and an executable to JGit).
         */
        private static void entries(ObjectId tree, byte[] raw) throws Failed {
            for (int p = 0; p < raw.length; ) {
                int name = p;
                while (name < raw.length && raw[name] != ' ') {
                    name++;
                }
                if (!ResetPlan.canonicalMode(raw, p, name)) {
                    throw new Failed(tree, "badFilemode", "the tree has an entry of mode "
                            + new String(raw, p, name - p, StandardCharsets.US_ASCII)
                            + ", which git and JGit would check out differently", false);
                }
                int end = name + 1;
                while (end < raw.length && raw[end] != 0) {
                    end++;
                }
                if (PathRules.isNtfsDotGit(raw, name + 1, end) || PathRules.isHfsDotGit(raw, name + 1, end)) {
                    throw new Failed(tree, "hasDotgit", "the tree holds " + PathRules.quote(raw, name + 1, end)
                            + ", an NTFS or HFS+ spelling of .git", false);
                }
                p = end + 1 + Constants.OBJECT_ID_LENGTH;
            }
        }

        /** The trees and blobs of {@code c} that none of its parents has at the same path. */
        void trees(RevCommit c) throws IOException, Failed {
            for (RevCommit p : c.getParents()) {
                if (p.getTree().equals(c.getTree())) {
                    return;  // the same tree as a parent's: checked with it, or trusted
                }
            }
            if (!checked.add(c.getTree().copy())) {
                return;
            }
            check(c.getTree(), Constants.OBJ_TREE);
            try (TreeWalk tw = new TreeWalk(reader)) {
                tw.addTree(c.getTree());
                for (RevCommit p : c.getParents()) {
                    tw.addTree(p.getTree());
                }
                tw.setFilter(new NewInFirst());
                while (tw.next()) {
                    FileMode mode = tw.getFileMode(0);
                    ObjectId id = tw.getObjectId(0);
                    AbstractTreeIterator t = tw.getTree(0, AbstractTreeIterator.class);
                    int from = t.getNameOffset();
                    int to = from + t.getNameLength();
                    if (mode == FileMode.TREE) {
                        if (checked.add(id)) {
                            check(id, Constants.OBJ_TREE);
                            tw.enterSubtree();
                        }
                    } else if (mode != FileMode.GITLINK) {  // a gitlink's commit lives in another repository
                        if (checked.add(id) && !reader.has(id, Constants.OBJ_BLOB)) {
                            throw new MissingObjectException(id, Constants.OBJ_BLOB);
                        }
                        if (checker != null && PathRules.isDotGitmodules(t.getEntryPathBuffer(), from, to)) {
                            gitmodules(id);
                        }
                    }
                }
            }
        }

        /** git's fsck checks of a {@code .gitmodules} file: parseable, no option-like URL, name or path. */
        private void gitmodules(ObjectId blob) throws IOException, Failed {
            Config c = new Config();
            try {
                c.fromText(new String(reader.open(blob, Constants.OBJ_BLOB).getCachedBytes(), StandardCharsets.UTF_8));
            } catch (ConfigInvalidException e) {
                throw new Failed(blob, "gitmodulesParse", ".gitmodules cannot be parsed", false);
            }
            for (String name : c.getSubsections("submodule")) {
                String url = c.getString("submodule", name, "url");
                String path = c.getString("submodule", name, "path");
                if (name.startsWith("-") || name.equals("..") || name.startsWith("../") || name.contains("/../")
                        || name.endsWith("/..") || name.contains("\\..\\") || name.startsWith("..\\")
                        || name.endsWith("\\..")) {
                    throw new Failed(blob, "gitmodulesName", ".gitmodules names a submodule \"" + name + "\"", false);
                }
                if (url != null && url.startsWith("-")) {
                    throw new Failed(blob, "gitmodulesUrl", ".gitmodules gives submodule \"" + name
                            + "\" a URL that looks like an option", false);
                }
                if (path != null && path.startsWith("-")) {
                    throw new Failed(blob, "gitmodulesPath", ".gitmodules gives submodule \"" + name
                            + "\" a path that looks like an option", false);
                }
            }
        }
    }

    private static Failed failed(ObjectId id, CorruptObjectException e) {
        ObjectChecker.ErrorType type = e.getErrorType();
        String rule = type != null ? type.getMessageId()
                : String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("mode") ? "badFilemode" : "badObject";
        return new Failed(id, rule, e.getMessage(), false);
    }

    /** Entries of the first tree that no other tree has, with the same mode, at the same path. */
    private static final class NewInFirst extends StatelessFilter {
        @Override
        public boolean include(TreeWalk walk) {
            if (walk.getRawMode(0) == 0) {
                return false;
            }
            for (int i = 1; i < walk.getTreeCount(); i++) {
                if (walk.getRawMode(i) == walk.getRawMode(0) && walk.idEqual(0, i)) {
                    return false;
                }
            }
            return true;
        }

    }
}
