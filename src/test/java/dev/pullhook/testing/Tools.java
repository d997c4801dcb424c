package dev.pullhook.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The system programs some tests run for real (nginx, sshd, systemd-analyze, openssl, curl, git). A test
 * whose program is missing is skipped, with the reason and the Debian package that brings it; under
 * {@code CI=true} it fails instead, so that CI cannot pass by skipping ({@code .ci/run} installs them all).
 */
public final class Tools {
    /** Set by CI: a missing program is then a failure, not a skip. */
    public static final boolean CI = "true".equalsIgnoreCase(System.getenv("CI"));

    private Tools() {
    }

    /** {@code /usr/sbin/nginx}. */
    public static Path nginx() {
        return require("nginx", "nginx", "/usr/sbin/nginx");
    }

    /** {@code /usr/sbin/sshd}. */
    public static Path sshd() {
        return require("sshd", "openssh-server", "/usr/sbin/sshd");
    }

    public static Path sshKeygen() {
        return require("ssh-keygen", "openssh-client", "/usr/bin/ssh-keygen");
    }

    public static Path systemdAnalyze() {
        return require("systemd-analyze", "systemd", "/usr/bin/systemd-analyze", "/bin/systemd-analyze");
    }

    public static Path openssl() {
        return onPath("openssl", "openssl");
    }

    public static Path curl() {
        return onPath("curl", "curl");
    }

    /** The git command line (the reference the parity tests compare with, and a git host's server side). */
    public static Path git() {
        return onPath("git", "git");
    }

    /**
     * Headless Chromium, for the status page in a real browser ({@link HeadlessBrowser}): the binary itself, not
     * Debian's {@code /usr/bin} wrapper script, so that the PID the test holds is the browser's.
     */
    public static Path chromium() {
        return require("chromium", "chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell",
                "/usr/lib/chromium/chromium");
    }

    /**
     * The first of {@code candidates} that is an executable file; when there is none, skips the test (or,
     * under {@code CI=true}, fails it), naming the program and its Debian package.
     */
    public static Path require(String program, String debianPackage, String... candidates) {
        for (String c : candidates) {
            if (Files.isExecutable(Path.of(c))) {
                return Path.of(c);
            }
        }
        return missing(program + " is not installed (looked for " + String.join(", ", candidates) + ")", debianPackage);
    }

    /** {@code program} in a folder of the PATH, else as {@link #require}. */
    public static Path onPath(String program, String debianPackage) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return Path.of(dir, program);
            }
        }
        return missing(program + " is not installed (not on the PATH: " + path + ")", debianPackage);
    }

    private static Path missing(String what, String debianPackage) {
        String reason = what + "; install the Debian package " + debianPackage + ", or run .ci/run, which installs it";
        if (CI) {
            return fail(reason + ". CI=true: a test needing it fails rather than being skipped");
        }
        return Assumptions.abort(reason);
    }
}
