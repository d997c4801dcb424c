package dev.pullhook.parity;

import dev.pullhook.testing.TreeWriter;
import dev.pullhook.testing.TreeWriter.File;
import dev.pullhook.testing.TreeWriter.Gitlink;
import dev.pullhook.testing.TreeWriter.Leaf;
import dev.pullhook.testing.TreeWriter.Link;
import dev.pullhook.testing.TreeWriter.RawPath;
import org.eclipse.jgit.lib.ObjectId;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static dev.pullhook.parity.RandomFiles.concat;
import static dev.pullhook.parity.RandomFiles.put;
import static dev.pullhook.parity.RandomFiles.relative;
import static dev.pullhook.parity.RandomFiles.text;

/**
 * A seeded stream of pushes for a differential test: new commits made of random changes (adds, edits,
 * deletes, renames, modes, symlinks, file/folder/symlink swaps at depth, {@code .gitattributes} changes with
 * the files they apply to, a filter driver, gitlinks, odd names), jumps over several commits, force-pushes
 * backwards, and now and then a commit pullhook must refuse (a name that is not UTF-8, {@code ident},
 * {@code working-tree-encoding}), followed by one that fixes it. The same seed gives the same commits.
 */
final class CommitGenerator {
    /** A commit pullhook must refuse instead of deploying, and what its error must mention. */
    enum Refusal {
        NOT_UTF8_NAME("docs/bad-", "-name.txt", "UTF-8"),
        IDENT("ident", ".gitattributes"),
        WORKING_TREE_ENCODING("working-tree-encoding", ".gitattributes"),
        LINK_WITH_A_TRAILING_SLASH("docs/up", "symbolic link");

        final String[] mentions;

        Refusal(String... mentions) {
            this.mentions = mentions;
        }

        /** Makes the files {@code m} (plus {@code raw} paths) a tree of this kind. */
        void apply(Map<String, Leaf> m, List<RawPath> raw) {
            String attributes = m.get(".gitattributes") instanceof File f
                    ? new String(f.content(), StandardCharsets.UTF_8) : "";
            switch (this) {
                case NOT_UTF8_NAME -> raw.add(new RawPath(concat("docs/bad-".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xff, (byte) 0xfe}, "-name.txt".getBytes(StandardCharsets.UTF_8)),
                        text("a name that is not UTF-8\n")));
                case IDENT -> {
                    m.put(".gitattributes", text(attributes + "*.id ident\n"));
                    m.put("docs/version.id", text("$Id$\n"));
                }
                case WORKING_TREE_ENCODING -> {
                    m.put(".gitattributes", text(attributes + "*.utf16 working-tree-encoding=UTF-16\n"));
                    m.put("docs/page.utf16", text("stored as UTF-8, written as UTF-16 by git\n"));
                }
                // git writes the link's bytes as they are; Java makes links from a Path, which drops the slash
                case LINK_WITH_A_TRAILING_SLASH -> m.put("docs/up", new Link("../"));
            }
        }
    }

    /** One push: the new tip of origin's branch, what it changed, and whether pullhook must refuse it. */
    record Push(ObjectId tip, String story, Refusal refusal) {
    }

    static final String GITIGNORE = "*.log\nbuild/\n";
    private static final String[] ATTRIBUTES = {null, "* text=auto\n", "* text=auto\n*.txt eol=crlf\n*.bin binary\n",
        "*.txt eol=crlf\n*.raw -text\n", "*.up filter=upper\n*.txt eol=crlf\n",
        "* text=auto\n*.up filter=upper\n*.bin binary\n*.raw -text\n"};

    private final Random rnd;
    private final TreeWriter writer;
    private final List<ObjectId> libCommits;
    private final String libUrl;
    private final boolean refusals;
    /** The commits pushed so far that deploy (refused ones are not here), and each one's files. */
    private final List<ObjectId> good = new ArrayList<>();
    private final List<TreeMap<String, Leaf>> models = new ArrayList<>();
    private TreeMap<String, Leaf> current;
    private ObjectId tip;
    private Refusal pendingFix;
    private final RandomFiles files;

    /**
     * @param libCommits commits of a second repository a gitlink may point at (empty: no gitlinks)
     * @param libUrl     its URL for {@code .gitmodules}
     * @param refusals   whether to push commits pullhook must refuse
     */
    CommitGenerator(Random rnd, TreeWriter writer, List<ObjectId> libCommits, String libUrl, boolean refusals) {
        this.rnd = rnd;
        this.writer = writer;
        this.libCommits = libCommits;
        this.libUrl = libUrl;
        this.refusals = refusals;
        this.files = new RandomFiles(rnd);
    }

    /** The first commit, before site and twin are cloned. */
    ObjectId initial() {
        TreeMap<String, Leaf> m = new TreeMap<>();
        m.put("README.md", text("Readme of the parity site\n"));
        m.put(".gitignore", text(GITIGNORE));
        m.put("src/main.txt", text(files.content("txt")));
        m.put("src/util/helper.txt", text(files.content("txt")));
        m.put("docs/guide.md", text(files.content("md")));
        m.put("bin/run.sh", new File(files.content("sh").getBytes(StandardCharsets.UTF_8), true));
        m.put("assets/logo.bin", new File(files.binary(), false));
        m.put("links/readme", new Link("../README.md"));
        return commit(m, List.of(), "initial");
    }

    /** The next push. */
    Push next() {
        if (pendingFix != null) {
            Refusal fixed = pendingFix;
            pendingFix = null;
            return newCommit("fix after the refused " + fixed.name().toLowerCase(java.util.Locale.ROOT) + ": ");
        }
        int dice = rnd.nextInt(100);
        if (dice < 8 && good.size() > 2) {
            int back = rnd.nextInt(good.size() - 1);
            current = models.get(back);
            tip = good.get(back);
            good.add(tip);
            models.add(current);
            return new Push(tip, "force-push back to commit #" + back, null);
        }
        if (dice < 15) {
            int n = 3 + rnd.nextInt(6);
            StringBuilder story = new StringBuilder("jump over " + n + " commits:");
            for (int i = 0; i < n; i++) {
                story.append(" {").append(mutateAndCommit()).append('}');
            }
            return new Push(tip, story.toString(), null);
        }
        if (dice < 20 && refusals) {
            return refused(Refusal.values()[rnd.nextInt(Refusal.values().length)]);
        }
        return newCommit("");
    }

    private Push newCommit(String prefix) {
        String story = prefix + mutateAndCommit();
        return new Push(tip, story, null);
    }

    private String mutateAndCommit() {
        TreeMap<String, Leaf> m = new TreeMap<>(current);
        List<String> done = new ArrayList<>();
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
            String d = mutate(m);
            if (d != null) {
                done.add(d);
            }
        }
        String story = String.join(", ", done);
        commit(m, List.of(), story);
        return story;
    }

    private Push refused(Refusal kind) {
        TreeMap<String, Leaf> m = new TreeMap<>(current);
        List<RawPath> raw = new ArrayList<>();
        kind.apply(m, raw);
        // the commit goes on top of the deployed one; the next push starts again from the deployed files
        ObjectId bad = writer.commit(m, raw, tip, "must be refused: " + kind);
        tip = bad;
        pendingFix = kind;
        return new Push(bad, "push pullhook must refuse: " + kind, kind);
    }

    private ObjectId commit(TreeMap<String, Leaf> m, List<RawPath> raw, String message) {
        tip = writer.commit(m, raw, tip, message);
        current = m;
        good.add(tip);
        models.add(m);
        return tip;
    }

    /** One random change to {@code m}; what it did, or null when it did nothing. */
    private String mutate(TreeMap<String, Leaf> m) {
        int op = rnd.nextInt(100);
        if (op < 16) {
            String path = files.newPath();
            put(m, path, files.newFile(path));
            return "add " + path;
        } else if (op < 32) {
            String path = files.pick(m, File.class);
            if (path == null) {
                return null;
            }
            File old = (File) m.get(path);
            m.put(path, new File(files.newFile(path).content(), old.executable()));
            return "edit " + path;
        } else if (op < 40) {
            String path = files.pick(m, Leaf.class);
            if (path == null) {
                return null;
            }
            m.remove(path);
            return "delete " + path;
        } else if (op < 44) {
            String dir = files.pickDir(m);
            if (dir == null) {
                return null;
            }
            m.subMap(dir + "/", dir + "0").clear();
            return "delete folder " + dir;
        } else if (op < 52) {
            String from = files.pick(m, Leaf.class);
            if (from == null) {
                return null;
            }
            String to = rnd.nextBoolean() ? files.dir() + from.substring(from.lastIndexOf('/') + 1)
                    : files.newPath();
            Leaf leaf = m.remove(from);
            put(m, to, leaf);
            return "rename " + from + " -> " + to;
        } else if (op < 60) {
            String path = files.pick(m, File.class);
            if (path == null) {
                return null;
            }
            File f = (File) m.get(path);
            m.put(path, new File(f.content(), !f.executable()));
            return "chmod " + (f.executable() ? "-x " : "+x ") + path;
        } else if (op < 68) {
            return symlink(m);
        } else if (op < 76) {
            return swapAtDepth(m);
        } else if (op < 84) {
            return attributes(m);
        } else if (op < 90) {
            return gitlink(m);
        } else if (op < 96) {
            String path = files.oddPath();
            put(m, path, files.newFile(path));
            return "add odd name " + path;
        } else {
            String path = files.pick(m, Leaf.class);
            if (path == null) {
                return null;
            }
            if (m.get(path) instanceof File) {
                String target = files.pick(m, File.class);
                m.put(path, new Link(relative(path, target == null ? "gone" : target)));
                return "file -> symlink " + path;
            }
            m.put(path, files.newFile(path));
            return "symlink -> file " + path;
        }
    }

    private String symlink(TreeMap<String, Leaf> m) {
        String path = files.dir() + "link-" + files.next();
        String target;
        int kind = rnd.nextInt(3);
        if (kind == 0) {
            target = files.pick(m, Leaf.class);
        } else if (kind == 1) {
            target = files.pickDir(m);
        } else {
            target = "missing/nowhere-" + files.next();
        }
        String t = relative(path, target == null ? "gone" : target);
        put(m, path, new Link(t));
        return "symlink " + path + " -> " + t + (kind == 2 ? " (dangling)" : kind == 1 ? " (folder)" : "");
    }

    /** {@code p} file <-> {@code p/q/r}; {@code a/b} symlink -> folder -> file -> symlink. */
    private String swapAtDepth(TreeMap<String, Leaf> m) {
        if (rnd.nextBoolean()) {
            if (m.get("p") instanceof File) {
                put(m, "p/q/r", files.newFile("p/q/r"));
                put(m, "p/q/s.txt", files.newFile("p/q/s.txt"));
                return "swap file p -> folder p/q/r";
            }
            put(m, "p", files.newFile("p"));
            return "swap folder p/q/r -> file p";
        }
        Leaf now = m.get("a/b");
        if (now instanceof Link) {
            put(m, "a/b/c.txt", files.newFile("a/b/c.txt"));
            return "swap symlink a/b -> folder";
        }
        if (now == null && !m.subMap("a/b/", "a/b0").isEmpty()) {
            put(m, "a/b", files.newFile("a/b"));
            return "swap folder a/b -> file";
        }
        put(m, "a/b", new Link(rnd.nextBoolean() ? "../docs" : "../src/main.txt"));
        return "swap a/b -> symlink";
    }

    private String attributes(TreeMap<String, Leaf> m) {
        List<String> done = new ArrayList<>();
        if (rnd.nextInt(4) == 0) {
            if (m.remove("docs/.gitattributes") == null) {
                m.put("docs/.gitattributes", text("*.md eol=crlf\n"));
                done.add("docs/.gitattributes *.md eol=crlf");
            } else {
                done.add("remove docs/.gitattributes");
            }
        } else {
            String a = ATTRIBUTES[rnd.nextInt(ATTRIBUTES.length)];
            if (a == null) {
                m.remove(".gitattributes");
            } else {
                m.put(".gitattributes", text(a));
            }
            done.add(".gitattributes=" + (a == null ? "(none)" : a.strip().replace('\n', '|')));
        }
        // Every file changes in the same commit: a file that kept its blob across a change of how it is
        // checked out would be left to chance by git itself (rewritten only if its index entry happens to be
        // racily clean at that moment), so no deploy result could be expected of it.
        int rewritten = 0;
        for (Map.Entry<String, Leaf> e : new ArrayList<>(m.entrySet())) {
            if (e.getValue() instanceof File && !RandomFiles.RESERVED.contains(e.getKey())) {
                put(m, e.getKey(), files.newFile(e.getKey()));
                rewritten++;
            }
        }
        String path = files.newPath();
        if (path != null) {
            put(m, path, files.newFile(path));
            done.add("write " + path);
        }
        done.add("rewrite all " + rewritten + " files");
        return String.join(" + ", done);
    }

    private String gitlink(TreeMap<String, Leaf> m) {
        if (libCommits.isEmpty()) {
            return null;
        }
        if (!(m.get("ext/lib") instanceof Gitlink) || rnd.nextInt(3) == 0) {
            ObjectId c = libCommits.get(rnd.nextInt(libCommits.size()));
            m.put("ext/lib", new Gitlink(c));
            m.put(".gitmodules", text("[submodule \"lib\"]\n\tpath = ext/lib\n\turl = " + libUrl + "\n"));
            return "gitlink ext/lib at " + c.abbreviate(7).name();
        }
        m.remove("ext/lib");
        m.remove(".gitmodules");
        return "remove gitlink ext/lib";
    }
}
