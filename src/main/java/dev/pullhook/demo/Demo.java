package dev.pullhook.demo;

import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.transport.URIish;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * {@code --demo}: a throwaway setup in a temporary folder (a bare "origin", a developer clone to push
 * from, the deployed working copy, a random secret in a file) so a newcomer sees a deploy happen without
 * writing any configuration. The secret is never printed: the commands read it from its file.
 */
public final class Demo {
    private static final int PREFERRED_PORT = 5000;
    private final Path dir;
    private final Config config;

    private Demo(Path dir, Config config) {
        this.dir = dir;
        this.config = config;
    }

    public static Demo create(ConfigLoader loader) throws ConfigException {
        try {
            Path dir = Files.createTempDirectory("pullhook-demo-");
            Path origin = dir.resolve("origin.git");
            Path dev = dir.resolve("dev");
            Path site = dir.resolve("site");
            PersonIdent who = new PersonIdent("pullhook demo", "demo@pullhook.invalid");
            Git.init().setBare(true).setInitialBranch("main").setDirectory(origin.toFile()).call().close();
            try (Git git = Git.init().setInitialBranch("main").setDirectory(dev.toFile()).call()) {
                git.remoteAdd().setName("origin").setUri(new URIish(origin.toUri().toString())).call();
                StoredConfig devConfig = git.getRepository().getConfig();
                devConfig.setString("branch", "main", "remote", "origin");
                devConfig.setString("branch", "main", "merge", "refs/heads/main");
                devConfig.save();
                Files.writeString(dev.resolve("index.html"), "<h1>Deployed by pullhook</h1>\n");
                git.add().addFilepattern("index.html").call();
                git.commit().setMessage("first page").setAuthor(who).setCommitter(who).call();
                git.push().setRemote("origin").add("main").call();
            }
            Git.cloneRepository().setURI(origin.toUri().toString()).setDirectory(site.toFile())
                    .setBranch("main").call().close();
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            Path secret = dir.resolve("secret");
            Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(secret, HexFormat.of().formatHex(random) + "\n");
            Config config = loader.fromMap(Map.of(
                    "repo.path", site.toString(),
                    "webhook.secret.file", secret.toString(),
                    "server.port", Integer.toString(portIsFree(PREFERRED_PORT) ? PREFERRED_PORT : 0)));
            return new Demo(dir, config);
        } catch (IOException e) {
            throw new ConfigException(List.of("--demo: cannot create the demo folder (" + e.getMessage() + ")"));
        } catch (GitAPIException | java.net.URISyntaxException e) {
            throw new ConfigException(List.of("--demo: cannot create the demo repositories (" + e.getMessage() + ")"));
        }
    }

    private static boolean portIsFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public Config config() {
        return config;
    }

    /** Ready-to-paste commands for the running demo. */
    public String instructions(int port) {
        String url = "http://127.0.0.1:" + port;
        String d = dir.toString();
        return """

                pullhook demo is running on %1$s   (Ctrl-C stops it and removes %2$s)
                  origin (the "git host"):  %2$s/origin.git
                  your clone, push from it: %2$s/dev
                  the deployed site:        %2$s/site

                1. Push a change:
                   cd %2$s/dev && echo "<p>changed at $(date)</p>" >> index.html && git -c user.name=demo -c user.email=demo@example.invalid commit -qam "demo change" && git push -q origin main && cd -

                2. Trigger the deploy by hand: a fresh proof (time, one-time nonce, HMAC-SHA256 under the secret), computed by openssl:
                   t=$(date +%%s) n=$(openssl rand -hex 16); v=$(printf 'pullhook-v1\\nPOST\\n/pull-repo\\n%%s\\n%%s\\n%%s' "$t" "$n" "$(printf '' | sha256sum | cut -d' ' -f1)" | openssl dgst -sha256 -hmac "$(cat %2$s/secret)" -r | cut -d' ' -f1); curl -sS -X POST -H "X-Pullhook-Auth: t=$t, n=$n, v1=$v" '%1$s/pull-repo?wait=true'; echo

                3. See it deployed:
                   cat %2$s/site/index.html; curl -sS %1$s/status; echo
                """.formatted(url, d);
    }

    /** Removes the demo folder. */
    public void cleanUp() {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path folder, IOException e) throws IOException {
                    Files.delete(folder);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort: it is in the temporary folder anyway
        }
    }
}
