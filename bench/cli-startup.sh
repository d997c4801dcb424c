#!/usr/bin/env bash
# What picocli would add to every `pullhook` run: bench/cli-startup.sh     (about a minute; RUNS=41 for more)
#
# Issue 18 asks for picocli "unless it costs more than ~30 ms of start-up". This times, interleaved, RUNS
# times each, with the JVM options of the unit (serial GC, C1 only, the JDK's default CDS archive):
#   jar      java -jar JAR version                      the real command line (hand-parsed), as shipped
#   plain    a main class that prints the version       the JVM's own floor, JAR on the class path
#   picocli  pullhook's seven commands and their options, declared with picocli 4.7.7 annotations, parsing
#            "version" and printing the version         JAR and picocli on the class path
# and prints the medians of the wall time and of the CPU time (user + system). picocli's cost is
# picocli - plain. Needs the jar (mvn -o -q package -DskipTests) and picocli 4.7.7 in ~/.m2 (else it runs
# `mvn dependency:get` once).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JAR=${JAR:-target/pullhook.jar}
RUNS=${RUNS:-21}
OPTS=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto)
PICOCLI=${PICOCLI:-$HOME/.m2/repository/info/picocli/picocli/4.7.7/picocli-4.7.7.jar}
[[ -f $JAR ]] || { echo "no $JAR: mvn -o -q package -DskipTests" >&2; exit 2; }
[[ -f $PICOCLI ]] || mvn -B -q dependency:get -Dartifact=info.picocli:picocli:4.7.7
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/Plain.java" <<'JAVA'
public class Plain {
    public static void main(String[] args) {
        System.out.println("pullhook dev");
    }
}
JAVA
cat > "$work/PicoPullhook.java" <<'JAVA'
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "pullhook", description = "deploy a git working copy on verified webhooks",
        subcommands = {PicoPullhook.Serve.class, PicoPullhook.Demo.class, PicoPullhook.Check.class,
                PicoPullhook.Deploy.class, PicoPullhook.Rollback.class, PicoPullhook.Status.class,
                PicoPullhook.Version.class},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:done", "1:the work failed", "2:the command line, the config or a file's permissions are wrong"})
public class PicoPullhook implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "the config") Path config;
    @Option(names = "--demo", description = "the same as the demo command") boolean demo;
    @Option(names = "--version", description = "the same as the version command") boolean version;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "this text") boolean help;

    public Integer call() {
        return 0;
    }

    static class ConfigOptions {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "the config") Path config;
        @Option(names = {"-h", "--help"}, usageHelp = true, description = "this text") boolean help;
    }

    static class SiteOption {
        @Option(names = "--site", paramLabel = "NAME", description = "one site") String site;
    }

    @Command(name = "serve", description = "serve the webhooks of every site until stopped")
    static class Serve implements Callable<Integer> {
        @Mixin ConfigOptions options;
        public Integer call() { return 0; }
    }

    @Command(name = "demo", description = "try it: serve throwaway repositories")
    static class Demo implements Callable<Integer> {
        @Option(names = {"-h", "--help"}, usageHelp = true) boolean help;
        public Integer call() { return 0; }
    }

    @Command(name = "check", description = "check the config, each working copy and its remote")
    static class Check implements Callable<Integer> {
        @Mixin ConfigOptions options;
        @Mixin SiteOption site;
        public Integer call() { return 0; }
    }

    @Command(name = "deploy", description = "deploy now")
    static class Deploy implements Callable<Integer> {
        @Mixin ConfigOptions options;
        @Mixin SiteOption site;
        public Integer call() { return 0; }
    }

    @Command(name = "rollback", description = "put the working copy back on the commit deployed before")
    static class Rollback implements Callable<Integer> {
        @Mixin ConfigOptions options;
        @Mixin SiteOption site;
        public Integer call() { return 0; }
    }

    @Command(name = "status", description = "show what the running daemon is doing")
    static class Status implements Callable<Integer> {
        @Mixin ConfigOptions options;
        @Mixin SiteOption site;
        public Integer call() { return 0; }
    }

    @Command(name = "version", description = "print the version")
    static class Version implements Callable<Integer> {
        @Option(names = {"-h", "--help"}, usageHelp = true) boolean help;
        public Integer call() {
            System.out.println("pullhook dev");
            return 0;
        }
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new PicoPullhook()).setExpandAtFiles(false);
        System.exit(cli.execute(args));
    }
}
JAVA
javac -d "$work" -cp "$PICOCLI" "$work/Plain.java" "$work/PicoPullhook.java"

run() {  # name, then the java arguments: appends "wall_ms cpu_ms" to $work/name
    local name=$1 start end
    shift
    start=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$work/time" java "${OPTS[@]}" "$@" >/dev/null
    end=$(date +%s%N)
    echo "$(((end - start) / 1000000)) $(awk '{printf "%d", ($1 + $2) * 1000}' "$work/time")" >> "$work/$name"
}
median() {  # file, column
    awk -v c="$2" '{print $c}' "$1" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

for _ in $(seq "$RUNS"); do
    run jar -jar "$JAR" version
    run plain -cp "$JAR:$work" Plain version
    run picocli -cp "$JAR:$PICOCLI:$work" PicoPullhook version
done
echo "medians of $RUNS runs, ms (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-8s %6s %6s\n' "" wall cpu
for name in jar plain picocli; do
    printf '%-8s %6s %6s\n' "$name" "$(median "$work/$name" 1)" "$(median "$work/$name" 2)"
done
echo "picocli costs $(( $(median "$work/picocli" 1) - $(median "$work/plain" 1) )) ms wall," \
    "$(( $(median "$work/picocli" 2) - $(median "$work/plain" 2) )) ms CPU more than plain"
