package dev.pullhook.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Finds one site's secrets and credential files for {@link ConfigLoader}: the webhook secret, GitLab's
 * signing token, the HTTPS password and the report token, each from the systemd credential, its file key or the environment
 * (and the secret, last, from the file the installed unit loads it from), and the SSH key files. Reads a
 * secret file strictly (one line, nothing around it) and warns when others may read it. Each problem names
 * its key and never holds the secret.
 */
final class SecretFinder {
    private final Map<String, String> env;
    private final Consumer<String> warnings;
    private final Map<String, Path> installedCredentials;
    /** False for a command that only reads the daemon's /status: then no secret is looked for. */
    private final boolean secretsNeeded;
    /** Relative file names are resolved against the config file's folder. */
    private final Path baseDir;
    private final List<String> problems;

    SecretFinder(Map<String, String> env, Consumer<String> warnings, Map<String, Path> installedCredentials,
                 boolean secretsNeeded, Path baseDir, List<String> problems) {
        this.env = env;
        this.warnings = warnings;
        this.installedCredentials = installedCredentials;
        this.secretsNeeded = secretsNeeded;
        this.baseDir = baseDir;
        this.problems = problems;
    }

    /**
     * The unnamed site's secret: credential {@code webhook-secret}, {@code webhook.secret.file},
     * {@code PULLHOOK_SECRET}, then the file the installed unit loads the credential from; a named site's:
     * credential {@code webhook-secret-<name>}, {@code site.<name>.webhook.secret.file},
     * {@code PULLHOOK_SITE_<NAME>_SECRET} (and its installed file, if one is known). Never shared.
     */
    Secret webhookSecret(String p, String site, String secretFile) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? ConfigLoader.SECRET_CREDENTIAL : ConfigLoader.SECRET_CREDENTIAL + "-" + site;
        String envName = site.isEmpty() ? ConfigLoader.SECRET_ENV : ConfigLoader.envName("site." + site + ".secret");
        Path cred = credential(credentialName);
        if (cred != null) {
            return checked(p, readSecretFile(cred, "systemd credential " + credentialName, p + "webhook.secret"));
        }
        if (secretFile != null) {
            Path file = baseDir.resolve(secretFile).normalize();
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                problems.add(p + "webhook.secret.file: " + unusableFile(file));
                return null;
            }
            warnIfOthersCanRead(file, p + "webhook.secret.file");
            return checked(p, readSecretFile(file, "file " + file, p + "webhook.secret.file"));
        }
        String fromEnv = env.get(envName);
        if (fromEnv != null && !fromEnv.strip().isEmpty()) {
            return checked(p, new Secret(fromEnv.strip(), "environment " + envName));
        }
        Path installed = installedCredentials.get(credentialName);
        if (installed != null && (Files.exists(installed) || FileAccess.explain(installed, FileAccess.Need.READ) != null)) {
            if (!Files.isReadable(installed)) {
                problems.add(p + "webhook.secret: not set, and " + unusableFile(installed) + " (the unit's credential "
                        + credentialName + "); run as root or as the service user, or set " + p + "webhook.secret.file");
                return null;
            }
            return checked(p, readSecretFile(installed, "file " + installed + " (credential " + credentialName
                    + " of the systemd unit)", p + "webhook.secret"));
        }
        problems.add(p + "webhook.secret: missing (set " + p + "webhook.secret.file, the systemd credential "
                + credentialName + ", or " + envName
                + (installed == null ? "" : ", or write it to " + installed + " as the unit's LoadCredential= names it")
                + ")");
        return null;
    }

    /**
     * GitLab's signing token (Standard Webhooks), found like the secret: the systemd credential
     * {@code webhook-signing-key}, the file {@code webhook.signing.key.file}, the environment. Optional;
     * {@code whsec_<base64>}, as GitLab shows it.
     */
    Secret signingKey(String p, String site, String keyFile) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? ConfigLoader.SIGNING_KEY_CREDENTIAL : ConfigLoader.SIGNING_KEY_CREDENTIAL + "-" + site;
        String envName = ConfigLoader.envName((site.isEmpty() ? "" : "site." + site + ".") + "webhook.signing.key");
        String key = p + "webhook.signing.key";
        Secret found = null;
        Path cred = credential(credentialName);
        if (cred != null) {
            found = readSecretFile(cred, "systemd credential " + credentialName, key);
        } else if (keyFile != null) {
            Path file = baseDir.resolve(keyFile).normalize();
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                problems.add(p + "webhook.signing.key.file: " + unusableFile(file));
                return null;
            }
            warnIfOthersCanRead(file, p + "webhook.signing.key.file");
            found = readSecretFile(file, "file " + file, p + "webhook.signing.key.file");
        } else if (env.get(envName) != null && !env.get(envName).isBlank()) {
            found = new Secret(env.get(envName).strip(), "environment " + envName);
        }
        if (found != null && ConfigLoader.signingKeyBytes(found) == null) {
            problems.add(key + ": not a signing token (expected whsec_ followed by base64, as GitLab shows it; from "
                    + found.source() + ")");
            return null;
        }
        return found;
    }

    /** {@code git.ssh.*} and {@code git.https.*}: the key files must be readable, the password is found like a secret. */
    GitAuth gitAuth(String p, String site, Map<String, String> v) {
        if (!secretsNeeded) {  // nothing is fetched: the key files and the password stay unread
            return new GitAuth(v.containsKey("git.ssh.key") ? baseDir.resolve(v.get("git.ssh.key")).normalize() : null,
                    v.containsKey("git.ssh.known.hosts") ? baseDir.resolve(v.get("git.ssh.known.hosts")).normalize() : null,
                    v.get("git.https.username"), null);
        }
        Path key = existingFile(p + "git.ssh.key", v.get("git.ssh.key"));
        Path knownHosts = existingFile(p + "git.ssh.known.hosts", v.get("git.ssh.known.hosts"));
        if (v.containsKey("git.ssh.key") && !v.containsKey("git.ssh.known.hosts")) {
            problems.add(p + "git.ssh.known.hosts: required with git.ssh.key (host keys are checked strictly, never"
                    + " trusted on first use; make it with ssh-keyscan and check the fingerprint)");
        }
        String user = v.get("git.https.username");
        Secret password = null;
        String credentialName = site.isEmpty() ? ConfigLoader.GIT_PASSWORD_CREDENTIAL : ConfigLoader.GIT_PASSWORD_CREDENTIAL + "-" + site;
        Path cred = credential(credentialName);
        int before = problems.size();
        if (cred != null) {
            password = readSecretFile(cred, "systemd credential " + credentialName, p + "git.https.password.file");
        } else if (v.containsKey("git.https.password.file")) {
            Path file = existingFile(p + "git.https.password.file", v.get("git.https.password.file"));
            if (file != null) {
                warnIfOthersCanRead(file, p + "git.https.password.file");
                password = readSecretFile(file, "file " + file, p + "git.https.password.file");
            }
        } else if (user != null && installedCredentials.containsKey(credentialName)) {
            Path installed = installedCredentials.get(credentialName);
            if (Files.exists(installed)) {
                password = readSecretFile(installed, "file " + installed + " (credential " + credentialName
                        + " of the systemd unit)", p + "git.https.password.file");
            }
        }
        if (user != null && password == null && problems.size() == before) {
            problems.add(p + "git.https.password.file: required with git.https.username (or the systemd credential "
                    + credentialName + ")");
        }
        if (user == null && password != null) {
            problems.add(p + "git.https.username: required with a git password or token");
        }
        return new GitAuth(key, knownHosts, user, password);
    }

    /**
     * The token a site reports its deploys with: the systemd credential {@code report-token} (a named site's:
     * {@code report-token-<name>}), else the file {@code report.token.file}. Never an environment variable, never
     * the config file itself. Null without secrets (a command that only reads {@code /status}).
     */
    Secret reportToken(String p, String site, Map<String, String> v) {
        if (!secretsNeeded) {
            return null;
        }
        String credentialName = site.isEmpty() ? ConfigLoader.REPORT_TOKEN_CREDENTIAL : ConfigLoader.REPORT_TOKEN_CREDENTIAL + "-" + site;
        Path cred = credential(credentialName);
        if (cred != null) {
            return readSecretFile(cred, "systemd credential " + credentialName, p + "report.token.file");
        }
        if (v.containsKey("report.token.file")) {
            Path file = existingFile(p + "report.token.file", v.get("report.token.file"));
            if (file == null) {
                return null;
            }
            warnIfOthersCanRead(file, p + "report.token.file");
            return readSecretFile(file, "file " + file, p + "report.token.file");
        }
        problems.add(p + "report.token.file: required with report.host (a file holding the host's access token, mode"
                + " 0600, or the systemd credential " + credentialName + ")");
        return null;
    }

    /** {@code $CREDENTIALS_DIRECTORY/<name>} when systemd handed that credential over, else null. */
    private Path credential(String name) {
        String credentials = env.get("CREDENTIALS_DIRECTORY");
        if (credentials == null || credentials.isBlank()) {
            return null;
        }
        Path cred = Path.of(credentials, name);
        return Files.isRegularFile(cred) ? cred : null;
    }

    /** The file {@code value} names, which must be a readable file; null (and a problem) when it is not. */
    private Path existingFile(String key, String value) {
        if (value == null) {
            return null;
        }
        Path file = baseDir.resolve(value).normalize();
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            problems.add(key + ": " + unusableFile(file));
            return null;
        }
        return file;
    }

    /** Why a file that should be read cannot be: missing, a folder, or which permission the user lacks. */
    private static String unusableFile(Path file) {
        String denied = FileAccess.explain(file, FileAccess.Need.READ);
        if (denied != null) {
            return "cannot read " + file + ": " + denied;
        }
        if (Files.isDirectory(file)) {
            return file + " is a folder, not a file";
        }
        return file + " does not exist (user " + FileAccess.user() + ")";
    }

    /**
     * A secret file's one line. One final line end ({@code \n}, or {@code \r\n} from a Windows editor) is
     * what {@code echo} and editors add, and is dropped; anything else around the secret (spaces, tabs, a
     * second line, a byte-order mark) is a problem naming the file, never guessed away: the git host signs
     * with exactly what was pasted into it, and a guess would make every signature fail without a word.
     * Nothing of the secret itself is ever put into a problem.
     */
    private Secret readSecretFile(Path file, String source, String key) {
        String value;
        try {
            value = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            problems.add(key + ": " + file + " is not UTF-8 text");
            return null;
        } catch (IOException e) {
            problems.add(key + ": cannot read " + file + ": " + FileAccess.explain(file, FileAccess.Need.READ, e));
            return null;
        }
        if (value.startsWith("\uFEFF")) {
            problems.add(key + ": " + file + " starts with a byte-order mark (an editor's UTF-8 BOM), which would"
                    + " become part of the secret; save the file without it");
            return null;
        }
        if (value.endsWith("\r\n")) {
            value = value.substring(0, value.length() - 2);
        } else if (value.endsWith("\n")) {
            value = value.substring(0, value.length() - 1);
        }
        if (value.isEmpty()) {
            problems.add(key + ": " + file + " is empty");
            return null;
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            problems.add(key + ": " + file + " has more than one line; it must hold the secret alone, on one line");
            return null;
        }
        if (!value.strip().equals(value)) {
            problems.add(key + ": " + file + " has spaces or tabs before or after the secret (only one final newline"
                    + " is allowed); remove them, and use the same secret at the git host");
            return null;
        }
        return new Secret(value, source);
    }

    private Secret checked(String p, Secret secret) {
        if (secret != null && secret.length() < 16) {
            warnings.accept(p + "webhook.secret: only " + secret.length()
                + " bytes long; use 32 or more random characters (openssl rand -hex 32)");
        }
        return secret;
    }

    private void warnIfOthersCanRead(Path file, String key) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                warnings.accept(key + ": " + file + " is readable by every user; chmod 600 it");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // not a POSIX file system: nothing to check
        }
    }
}
