package dev.pullhook.git;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.errors.ConfigInvalidException;
import org.eclipse.jgit.lib.Config;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.submodule.SubmoduleWalk;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.treewalk.TreeWalk;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Submodules are untrusted input: their URLs come from the pushed {@code .gitmodules}. As git does since
 * 2.38.1 ({@code protocol.file.allow=user}), only {@code https}, {@code ssh} and scp-like URLs are followed
 * by default; {@code file://} URLs and local paths (which would clone any repository of this server into
 * the site) and plain {@code http} only when the operator allows them ({@code deploy.submodules.allow});
 * transport helpers ({@code ext::}) and URLs that look like options never. Relative URLs are resolved
 * against the parent's remote first, as git does. Names, paths and URLs are also checked as git's fsck
 * checks them. The update itself is JGit's ({@code git submodule update --init --recursive}), with the
 * deploy credentials offered to the origin's own host only ({@link RemoteAuth#forSubmodules}).
 */
final class Submodules {
    private static final Pattern SCHEME = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*)://");
    private static final Pattern SCP_LIKE = Pattern.compile("^(?:[^@/]+@)?(\\[[^]]+]|[^:/\\[]+):.*");
    private static final int MAX_DEPTH = 8;

    private Submodules() {
    }

    /** A submodule that may not be followed; nothing was changed. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Checks the {@code .gitmodules} of {@code tree} (if any) before anything changes: every submodule's
     * name, path and (resolved) URL.
     */
    static void checkTree(Repository r, ObjectId tree, Set<String> allowed) throws IOException, Refused {
        String text;
        try (ObjectReader reader = r.newObjectReader(); TreeWalk tw = TreeWalk.forPath(r, reader,
                Constants.DOT_GIT_MODULES, tree)) {
            if (tw == null) {
                return;
            }
            text = new String(reader.open(tw.getObjectId(0), Constants.OBJ_BLOB).getCachedBytes(),
                    StandardCharsets.UTF_8);
        }
        Config modules = new Config();
        try {
            modules.fromText(text);
        } catch (ConfigInvalidException e) {
            throw new Refused(".gitmodules cannot be read (" + e.getMessage() + ")");
        }
        for (String name : modules.getSubsections("submodule")) {
            checkName(name);
            String path = modules.getString("submodule", name, "path");
            if (path != null && path.startsWith("-")) {
                throw new Refused("submodule \"" + name + "\" has the path \"" + path + "\", which looks like an option"
                        + " (gitmodulesPath)");
            }
            String url = modules.getString("submodule", name, "url");
            if (url != null) {
                checkUrl(name, resolve(r, url), allowed);
            }
        }
    }

    /** The host of {@code remote}'s URL: a submodule there gets the remote's credentials. Null when there is none. */
    static String originHost(Repository r, String remote) {
        String url = r.getConfig().getString("remote", remote, "url");
        try {
            return url == null ? null : new URIish(url).getHost();
        } catch (URISyntaxException e) {
            return null;  // a URL JGit cannot read has no host to send credentials to
        }
    }

    /**
     * {@code git submodule update --init --recursive}: each submodule checked out at the commit the tree
     * records, its URL checked first at every level.
     *
     * @return how many submodules were updated
     */
    static int update(Repository r, RemoteAuth auth, String originHost, Set<String> allowed, int timeoutSeconds,
                      boolean fsck) throws IOException, GitAPIException, Refused {
        return update(r, auth, originHost, allowed, timeoutSeconds, fsck, 0);
    }

    private static int update(Repository r, RemoteAuth auth, String originHost, Set<String> allowed, int timeout,
                              boolean fsck, int depth) throws IOException, GitAPIException, Refused {
        if (depth > MAX_DEPTH) {
            return 0;
        }
        ObjectId head = r.resolve(Constants.HEAD + "^{tree}");
        if (head != null) {
            checkTree(r, head, allowed);
        }
        Git git = new Git(r);
        git.submoduleInit().call();
        boolean fetch = false;
        try (SubmoduleWalk walk = SubmoduleWalk.forIndex(r)) {
            while (walk.next()) {
                checkName(walk.getModuleName());
                String url = walk.getConfigUrl();
                if (url != null) {
                    checkUrl(walk.getModuleName(), url, allowed);
                }
                checkReachable(r.getWorkTree().toPath(), walk.getPath());
                try (Repository sub = walk.getRepository()) {
                    // as git submodule update: fetch a cloned submodule only when it lacks the recorded commit
                    fetch |= sub != null && !sub.getObjectDatabase().has(walk.getObjectId());
                }
            }
        } catch (ConfigInvalidException e) {
            throw new Refused(".gitmodules cannot be read (" + e.getMessage() + ")");
        }
        int updated = auth.forSubmodules(git.submoduleUpdate(), originHost, fsck).setFetch(fetch).setTimeout(timeout)
                .call().size();
        try (SubmoduleWalk walk = SubmoduleWalk.forIndex(r)) {
            while (walk.next()) {
                try (Repository sub = walk.getRepository()) {
                    if (sub != null) {
                        updated += update(sub, auth, originHost, allowed, timeout, fsck, depth + 1);
                    }
                }
            }
        }
        return updated;
    }

    /** Refuses a submodule whose folder, or a folder on the way to it, is a link or a file: never cloned through. */
    private static void checkReachable(java.nio.file.Path workTree, String path) throws Refused {
        java.nio.file.Path p = workTree;
        for (String part : path.split("/")) {
            p = p.resolve(part);
            FileStat stat = FileStat.of(p);
            if (stat != null && !stat.isDirectory()) {
                throw new Refused("submodule path " + path + " holds a " + stat.kind() + " at " + workTree.relativize(p)
                        + ", not a folder; not followed");
            }
        }
    }

    private static void checkName(String name) throws Refused {
        if (name.startsWith("-") || name.equals("..") || name.startsWith("../") || name.startsWith("..\\")
                || name.contains("/../") || name.contains("\\..\\") || name.endsWith("/..") || name.endsWith("\\..")) {
            throw new Refused("submodule \"" + name + "\" has a name git refuses (gitmodulesName)");
        }
    }

    /** A relative URL resolved against the parent's remote, as {@code git submodule init} does; others as they are. */
    private static String resolve(Repository r, String url) throws IOException {
        if (url.startsWith("./") || url.startsWith("../")) {
            return SubmoduleWalk.getSubmoduleRemoteUrl(r, url);
        }
        return url;
    }

    /** Refuses a URL that the policy does not allow, naming its kind and the key that would allow it. */
    static void checkUrl(String name, String url, Set<String> allowed) throws Refused {
        String kind = kind(url);
        if (kind.equals("https") || kind.equals("ssh")) {
            return;
        }
        String what = "submodule \"" + name + "\" has the URL " + Redactor.redact(url);
        switch (kind) {
            case "option" -> throw new Refused(what + ", which looks like a command-line option (gitmodulesUrl):"
                    + " git refuses it too, whatever deploy.submodules.allow says");
            case "helper" -> throw new Refused(what + ", a transport helper (such as ext::) that runs commands:"
                    + " never followed, whatever deploy.submodules.allow says");
            case "file", "http" -> {
                if (!allowed.contains(kind)) {
                    throw new Refused(what + ", which is " + (kind.equals("file")
                            ? "a repository on this server (file:// or a local path)" : "plain http")
                            + ": not followed unless deploy.submodules.allow names " + kind);
                }
            }
            default -> throw new Refused(what + ", of a kind pullhook does not follow (" + kind
                    + "); use https or ssh (deploy.submodules.allow can add only file and http)");
        }
    }

    /** https, ssh, http, file, option, helper, or the URL's scheme. */
    static String kind(String url) {
        if (url.startsWith("-")) {
            return "option";
        }
        Matcher m = SCHEME.matcher(url);
        if (m.find()) {
            String scheme = m.group(1).toLowerCase(Locale.ROOT);
            return switch (scheme) {
                case "https", "http", "file" -> scheme;
                case "ssh", "git+ssh", "ssh+git" -> "ssh";
                default -> scheme;
            };
        }
        if (url.contains("::")) {
            return "helper";
        }
        if (SCP_LIKE.matcher(url).matches() && !url.startsWith("/") && !url.startsWith(".")) {
            return "ssh";
        }
        return "file";
    }
}
