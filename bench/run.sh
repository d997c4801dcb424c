#!/usr/bin/env bash
# pullhook benchmark: bench/run.sh [small|medium|large|all]   (default: small)
#
# Generates (once, cached under bench/work/) deterministic test repositories, starts its own pullhook
# processes on free loopback ports with the systemd unit's JVM options, runs the six measurements that
# bench/README.md describes, prints one table and updates bench/RESULTS.md. Only talks to 127.0.0.1.
#
# Knobs (environment): JAR (use this jar, never build; JAR_SOURCE says what it was built from, for the
# results), ROUNDS (warm deploys, default 10), FLOOD_ROUNDS (5),
# RESTARTS (first-deploy restarts, 5), STARTS (start-up samples per JVM set-up, 5), WRK_SECONDS (10),
# QUIET_WAIT (wait up to this many seconds for the load average to drop below QUIET_LOAD=1.5; default 0),
# LONG_ROUNDS (extra: this many deploys in a row on one daemon, default 0 = skip),
# PROFILE=1 (record the main daemon with JFR; hot methods in bench/work/SIZE/run/profile.txt).
set -euo pipefail
export LC_ALL=C

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
WORK=$BENCH/work
LIB=$BENCH/lib
RESULTS=$BENCH/RESULTS.md
UNIT=$ROOT/systemd/pullhook.service
JAR=${JAR:-}
JAR_SOURCE=${JAR_SOURCE:-}
ROUNDS=${ROUNDS:-10}
FLOOD_ROUNDS=${FLOOD_ROUNDS:-5}
RESTARTS=${RESTARTS:-5}
STARTS=${STARTS:-5}
WRK_SECONDS=${WRK_SECONDS:-10}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_LOAD=${QUIET_LOAD:-1.5}
LONG_ROUNDS=${LONG_ROUNDS:-0}
PROFILE=${PROFILE:-0}
PY=/usr/bin/python3                # Debian's, for python3-flask; the helpers need nothing more

# size -> "text files, commits, 100 KB binaries, seed, warm-deploy goal as a fraction of the git floor"
declare -A SIZES=(
    [small]="100 50 0 1 0.5"
    [medium]="4980 500 20 2 0.5"
    [large]="50000 2000 0 3 0.8"
)

PIDS=()           # every process this script started and must stop
declare -A STARTED=()   # size -> when its measurements began (UTC)
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------- processes

# stop_pid PID: SIGTERM, up to 15 s to exit, then SIGKILL; then PID leaves PIDS, so a later cleanup can
# never signal another process that was given the same number
stop_pid() {
    local pid=$1 i p kept=()
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
    for p in "${PIDS[@]}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    PIDS=("${kept[@]}")
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ------------------------------------------------------------------------------------------ prerequisites

ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v bc >/dev/null || missing+=(bc)
    "$PY" -c 'import flask' 2>/dev/null || missing+=(python3-flask)
    local tool
    for tool in git curl java javac openssl timeout; do
        command -v "$tool" >/dev/null || die "$tool is needed"
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root, or apt-get install ${missing[*]}"
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

ensure_jar() {
    if [ -n "$JAR" ]; then
        [ -f "$JAR" ] || die "JAR=$JAR does not exist"
        JAR_SOURCE=${JAR_SOURCE:-"unknown (JAR=$JAR)"}
        return 0
    fi
    JAR_SOURCE="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    [ -z "$(git -C "$ROOT" status --porcelain -- src pom.xml 2>/dev/null)" ] || JAR_SOURCE="$JAR_SOURCE + uncommitted changes"
    JAR=$ROOT/target/pullhook.jar
    if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$JAR" -print -quit)" ]; then
        log "building $JAR"
        (cd "$ROOT" && mvn -B -ntp -q -DskipTests package)
    fi
}

# JVM options of the systemd unit's ExecStart (-X.. and -D..), with user.home moved into bench/work and
# without its class-data-sharing flags: the bench trains its own archive and adds it where it says so
unit_jvm_opts() {
    local opts
    opts=$(unit_exec_opts | grep -vE '^-(Duser\.home=|Xshare:|XX:SharedArchiveFile=|Xlog:cds)' || true)
    [ -n "$opts" ] || opts=$'-Xmx64m\n-XX:+UseSerialGC\n-XX:TieredStopAtLevel=1'
    printf '%s\n' "$opts" | tr '\n' ' '
    printf -- '-Duser.home=%s\n' "$WORK/home"
}

unit_exec_opts() {  # every -X.. and -D.. option of the unit's ExecStart, one a line
    sed -n '/^ExecStart=/,/-jar/p' "$UNIT" 2>/dev/null | tr ' \\' '\n\n' | grep -E '^-(X|D)' || true
}

# a bench-only git environment: no system or user config, no auto-gc surprises in the middle of a timing
setup_git_env() {
    mkdir -p "$WORK/home" "$WORK/xdg"
    printf '[user]\n\tname = Bench\n\temail = bench@example.invalid\n[gc]\n\tauto = 0\n' > "$WORK/gitconfig"
    export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$WORK/gitconfig
    if [ ! -s "$WORK/secret" ]; then
        (umask 077 && openssl rand -hex 32 > "$WORK/secret")
    fi
    SIG=sha256=$("$PY" "$LIB/probe.py" sign "$WORK/secret")
}

# --------------------------------------------------------------------------------------------- repositories

text_path() {  # the generator's path of text file $1 (see lib/make_history.py)
    local d=$(($1 / 25))
    printf 'src/g%03d/d%02d/file%05d.txt' $((d / 40)) $((d % 40)) "$1"
}

ensure_repos() {  # ensure_repos SIZE: bare origin + pullhook's working copy + the git CLI's twin
    local size=$1 dir=$WORK/$1 files commits binaries seed goal stamp
    read -r files commits binaries seed goal <<< "${SIZES[$size]}"
    stamp="dir=$dir files=$files commits=$commits binaries=$binaries seed=$seed gen=$(sha1sum < "$LIB/make_history.py" | cut -c1-12)"
    if [ -f "$dir/.generated" ] && [ "$(cat "$dir/.generated")" = "$stamp" ] \
        && [ -d "$dir/origin.git" ] && [ -d "$dir/site/.git" ] && [ -d "$dir/twin/.git" ]; then
        return 0
    fi
    log "$size: generating $files text + $binaries binary files, $commits commits"
    local t0=$EPOCHREALTIME
    rm -rf "$dir"
    mkdir -p "$dir"
    git init -q --bare -b main "$dir/origin.git"
    "$PY" "$LIB/make_history.py" "$files" "$commits" "$binaries" "$seed" \
        | git -C "$dir/origin.git" fast-import --quiet --done
    git -C "$dir/origin.git" repack -adq
    local wc
    for wc in site twin; do
        git clone -q --no-local "$dir/origin.git" "$dir/$wc"    # --no-local: own objects, as from a server
        git -C "$dir/$wc" config gc.auto 0
    done
    echo "$stamp" > "$dir/.generated"
    log "$size: generated in $(calc "$EPOCHREALTIME - $t0" 1) s, tip $(git -C "$dir/origin.git" rev-parse --short main)"
}

# bring both working copies to origin/main with the git CLI (a previous run may have stopped half-way), and
# all three object stores to one pack: JGit keeps one pack per fetch, so without this every run would start
# from a different state (and past 50 packs JGit's auto-gc starts repacking in the background); the origin
# keeps every bench push as loose objects, and after a few runs hundreds of loose commits made each fetch
# walk them all on the serving side (JGit's bitmap walk: 68 ms of 80 on small), which a real server's gc
# would have packed long before
sync_repos() {
    local dir=$WORK/$1 wc
    git -C "$dir/origin.git" repack -adq
    for wc in site twin; do
        git -C "$dir/$wc" fetch -q origin
        git -C "$dir/$wc" reset -q --hard origin/main
        git -C "$dir/$wc" repack -adq
    done
}

packs() {  # packs DIR: "N packs + M loose objects, S MiB"
    local objects=$1/.git/objects
    echo "$(find "$objects/pack" -name '*.pack' | wc -l) packs + $(find "$objects" -path '*/objects/??/*' -type f | wc -l) loose objects, $(du -sm "$objects" | cut -f1) MiB"
}

wait_quiet() {  # bounded: at most QUIET_WAIT seconds
    local i
    for i in $(seq 1 $((QUIET_WAIT / 5))); do
        awk -v limit="$QUIET_LOAD" '{ exit !($1 < limit) }' /proc/loadavg && return 0
        [ "$i" = 1 ] && log "waiting up to ${QUIET_WAIT} s for the load average ($(cut -d' ' -f1 /proc/loadavg)) to drop below $QUIET_LOAD"
        sleep 5
    done
    return 0
}

# a new commit on origin's main changing 3 text files, as a push would bring it (objects land loose in
# the bare repository, like a small push); content and date follow from the commit count: deterministic
push_commit() {
    local size=$1 origin=$WORK/$1/origin.git files n when k i path body
    read -r files _ <<< "${SIZES[$size]}"
    n=$(git -C "$origin" rev-list --count main)
    when=$((1700000000 + 60 * n))
    {
        printf 'commit refs/heads/main\n'
        printf 'author Bench Pusher <bench@example.invalid> %d +0000\n' "$when"
        printf 'committer Bench Pusher <bench@example.invalid> %d +0000\n' "$when"
        body="bench change $n"
        printf 'data %d\n%s\nfrom refs/heads/main^0\n' "${#body}" "$body"
        for k in 1 2 3; do
            i=$(( (n * 7919 + k * 104729) % files ))
            path=$(text_path "$i")
            body=$(printf 'bench change %d of file %d\nline %d: the quick brown fox jumps over the lazy dog\n' "$n" "$i" $(seq 1 12))
            printf 'M 100644 inline %s\ndata %d\n%s\n' "$path" "${#body}" "$body"
        done
        printf '\ndone\n'
    } | git -C "$origin" fast-import --quiet --done
    git -C "$origin" rev-parse main
}

forbidden_count() {  # forbidden_count PORT: webhook requests answered 403 so far, from /metrics
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" \
        | awk '/^pullhook_webhook_requests_total\{.*outcome="forbidden"/ { n += $NF } END { printf "%d\n", n }'
}

at_tip() {  # at_tip SIZE TIP: the working copy is at TIP with no changed tracked file (never writes the index)
    local site=$WORK/$1/site
    [ "$(git -C "$site" rev-parse HEAD)" = "$2" ] \
        && [ -z "$(git -C "$site" --no-optional-locks status --porcelain --untracked-files=no)" ]
}

# ----------------------------------------------------------------------------------------------- daemon

# start_daemon SIZE NAME [JVM options...]: sets DPID, DPORT, DLOG, START_MS (launch to first /health)
start_daemon() {
    try_start_daemon "$@" || { tail -20 "$DLOG" >&2; die "pullhook did not answer /health (log: $DLOG)"; }
}

# the same, but returns 1 instead of stopping the bench when the daemon does not come up
try_start_daemon() {
    local size=$1 name=$2
    shift 2
    local run=$WORK/$size/run
    mkdir -p "$run"
    DPORT=$(free_port)
    DLOG=$run/$name.log
    cat > "$run/config.properties" <<EOF
server.host = 127.0.0.1
server.port = $DPORT
repo.path = $WORK/$size/site
webhook.secret.file = $WORK/secret
webhook.wait.timeout.seconds = 300
EOF
    local opts t0 t1
    read -r -a opts <<< "$(unit_jvm_opts)"
    t0=$EPOCHREALTIME
    # the unit's Environment= (LC_ALL=C, which this script uses for itself, would override its LANG)
    env -u LC_ALL GIT_CONFIG_NOSYSTEM=1 XDG_CONFIG_HOME="$WORK/xdg" LANG=C.UTF-8 \
        java "${opts[@]}" "$@" -jar "$JAR" --config "$run/config.properties" > "$DLOG" 2>&1 &
    DPID=$!
    PIDS+=("$DPID")
    if ! t1=$("$PY" "$LIB/probe.py" health "$DPORT" 60 "$DPID"); then
        stop_pid "$DPID"
        return 1
    fi
    START_MS=$(calc "($t1 - $t0) * 1000" 0)
}

# wait_idle: until the daemon's deploy queue is idle (a deploy-on-start check runs right after start);
# sets IDLE_MS, the time that took
wait_idle() {
    local secs
    secs=$("$PY" "$LIB/probe.py" idle "$DPORT" 300) || die "the deploy queue stayed busy (log: $DLOG)"
    IDLE_MS=$(calc "$secs * 1000" 0)
}

rss_mib() { echo "scale=1; $(ps -o rss= -p "$1") / 1024" | bc; }

# deploy_wait [PAIRS]: one signed POST ?wait=true; prints curl's time_total in ms, and appends
# "time_total_ms deploy_ms" to PAIRS (the deploy's own "ms" from the answer); fails unless it answers 200
deploy_wait() {
    local total server
    total=$(post_wait "$DPORT" 300 deploy) || exit 1   # errexit is off inside $(...): pass the failure on
    if [ -n "${1:-}" ]; then
        server=$(grep -oE '"ms": ?[0-9]+' "$WORK/last-response.json" | head -n 1 | grep -oE '[0-9]+$' || echo 0)
        echo "$total $server" >> "$1"
    fi
    echo "$total"
}

# post_wait PORT MAX_SECONDS WHO: one signed POST /pull-repo?wait=true; prints curl's time_total in ms;
# stops the bench unless it answers 200 (the answer is left in $WORK/last-response.json)
post_wait() {
    local out code secs
    out=$(curl -sS --max-time "$2" -o "$WORK/last-response.json" -w '%{http_code} %{time_total}' -X POST \
        -H "X-Hub-Signature-256: $SIG" -H "X-Pullhook-Auth: $("$PY" "$LIB/probe.py" manual "$WORK/secret" /pull-repo)" "http://127.0.0.1:$1/pull-repo?wait=true") || die "$3 did not answer"
    read -r code secs <<< "$out"
    [ "$code" = 200 ] || die "$3 answered $code: $(cat "$WORK/last-response.json")"
    calc "$secs * 1000" 1
}

# outside_ms PAIRS: median of (time_total - deploy ms): HTTP, queueing, waiting for work that ran first
outside_ms() {
    awk '{ printf "%.1f\n", $1 - $2 }' "$1" > "$WORK/tmp.outside"
    median "$WORK/tmp.outside"
}

git_deploy() {  # the floor: git fetch + git reset --hard on the twin, in ms
    local twin=$WORK/$1/twin t0
    t0=$EPOCHREALTIME
    git -C "$twin" fetch -q origin
    git -C "$twin" reset -q --hard origin/main
    calc "($EPOCHREALTIME - $t0) * 1000" 1
}

# ------------------------------------------------------------------------------------------------ floor

# lib/Floor.java, compiled against the jar (its Javalin, Jetty, Jackson): the stack without pullhook
ensure_floor() {
    local out=$WORK/floor
    if [ ! -f "$out/Floor.class" ] || [ "$LIB/Floor.java" -nt "$out/Floor.class" ] || [ "$JAR" -nt "$out/Floor.class" ]; then
        mkdir -p "$out"
        javac -nowarn -cp "$JAR" -d "$out" "$LIB/Floor.java" || die "cannot compile $LIB/Floor.java"
    fi
}

# start_floor SIZE MODE (javalin|jvm): starts Floor with the unit's JVM options; sets FPID, FPORT
start_floor() {
    local size=$1 mode=$2 opts
    ensure_floor
    read -r -a opts <<< "$(unit_jvm_opts)"
    FPORT=$(free_port)
    env -u LC_ALL LANG=C.UTF-8 java "${opts[@]}" -cp "$JAR:$WORK/floor" Floor "$mode" "$FPORT" \
        > "$WORK/$size/run/floor-$mode.log" 2>&1 &
    FPID=$!
    PIDS+=("$FPID")
    if [ "$mode" = javalin ]; then
        "$PY" "$LIB/probe.py" health "$FPORT" 60 "$FPID" > /dev/null || die "Floor did not answer /health"
    fi
}

floor_post() {  # one POST to Floor's /pull-repo?wait=true (the same request bytes as a deploy's); ms
    post_wait "$FPORT" 30 Floor
}

# ---------------------------------------------------------------------------------------------- numbers

calc() { awk "BEGIN { printf \"%.${2:-1}f\\n\", $1 }"; }
# stats FILE: "median min max" of the numbers in FILE, one per line
stats() { sort -n "$1" | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f %.1f %.1f\n", m, a[1], a[NR] }'; }
median() { stats "$1" | cut -d' ' -f1; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
verdict() { [ "$(echo "$1" | bc)" = 1 ] && echo PASS || echo MISS; }   # verdict "a <= b"
# deploy_split LOG N: from the last N "deploy done ... trigger=manual" lines of LOG, the medians of the
# deploy's ms, fetch_ms, check_ms (the local-changes check; builds that log it), reset_ms, and of the rest
# (ms minus those: backup refs, state markers, housekeeping), as "ms (fetch, check, reset, rest)"
deploy_split() {
    local file=$1 n=$2 col
    grep 'deploy done.*trigger=manual' "$file" | tail -n "$n" | awk '{
        delete v
        for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
        check = ("check_ms" in v) ? v["check_ms"] : 0
        print v["ms"], v["fetch_ms"], ("check_ms" in v) ? check : "-", v["reset_ms"], v["ms"] - v["fetch_ms"] - check - v["reset_ms"]
    }' > "$WORK/tmp.split" || true
    [ -s "$WORK/tmp.split" ] || { echo "-"; return 0; }
    local out=()
    for col in 1 2 3 4 5; do
        cut -d' ' -f"$col" "$WORK/tmp.split" > "$WORK/tmp.col"
        if grep -qx -- '-' "$WORK/tmp.col"; then out+=("-"); else out+=("$(median "$WORK/tmp.col")"); fi
    done
    echo "${out[0]} (${out[1]}, ${out[2]}, ${out[3]}, ${out[4]})"
}

ROWS=$WORK/rows.tsv
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$ROWS"; }   # row SIZE MEASUREMENT FIGURE GOAL RESULT

render_table() {  # markdown table, columns padded for the terminal
    awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
        END {
            split("size|measurement|figure|goal|result", h, "|")
            for (i = 1; i <= 5; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
            line = "|"; sep = "|"
            for (i = 1; i <= 5; i++) { line = line sprintf(" %-" w[i] "s |", h[i]); s = ""; for (j = 0; j < w[i]; j++) s = s "-"; sep = sep " " s " |" }
            print line; print sep
            for (r = 1; r <= n; r++) { line = "|"; for (i = 1; i <= 5; i++) line = line sprintf(" %-" w[i] "s |", c[r, i]); print line }
        }' "$1"
}

# --------------------------------------------------------------------------------------------- measuring

bench_size() {
    local size=$1 dir=$WORK/$1 files commits binaries seed goal
    read -r files commits binaries seed goal <<< "${SIZES[$size]}"
    ensure_repos "$size"
    sync_repos "$size"
    rm -rf "$dir/run"
    mkdir -p "$dir/run"
    local m=$dir/run   # measurement files
    STARTED[$size]=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    log "$size: tip $(git -C "$dir/origin.git" rev-parse --short main), $(git -C "$dir/site" ls-files | wc -l) files"
    wait_quiet
    row "$size" "load average (1, 5, 15 min) at the start" "$(cut -d' ' -f1-3 /proc/loadavg)" "" "info"

    local profile_opts=()
    [ "$PROFILE" = 1 ] && profile_opts=("-XX:StartFlightRecording=filename=$m/main.jfr,settings=profile,dumponexit=true")
    start_daemon "$size" main "${profile_opts[@]}"
    wait_idle

    # 1. warm deploy latency, interleaved with the git CLI floor (round 0 is a warm-up, not counted), and
    # with the HTTP floor: Javalin alone answering a POST from another thread, right after a git command too
    log "$size: 1. warm deploys: $ROUNDS rounds + 1 warm-up"
    : > "$m/ph.ms"; : > "$m/git.ms"; : > "$m/ph.pairs"; : > "$m/floor.ms"
    start_floor "$size" javalin
    local r tip t g f
    for r in $(seq 0 "$ROUNDS"); do
        tip=$(push_commit "$size")
        if [ $((r % 2)) = 0 ]; then
            t=$(deploy_wait "$m/ph.pairs"); g=$(git_deploy "$size")
        else
            g=$(git_deploy "$size"); t=$(deploy_wait "$m/ph.pairs")
        fi
        f=$(floor_post)
        at_tip "$size" "$tip" || die "$size: round $r: the working copy is not at $tip"
        [ "$(git -C "$dir/twin" rev-parse HEAD)" = "$tip" ] || die "$size: round $r: the twin is not at $tip"
        if [ "$r" -gt 0 ]; then
            echo "$t" >> "$m/ph.ms"; echo "$g" >> "$m/git.ms"; echo "$f" >> "$m/floor.ms"
        else
            : > "$m/ph.pairs"   # the warm-up's pair does not count
        fi
    done
    local ph_med ph_min ph_max git_med git_min git_max warm_ratio
    read -r ph_med ph_min ph_max < <(stats "$m/ph.ms")
    read -r git_med git_min git_max < <(stats "$m/git.ms")
    warm_ratio=$(ratio "$ph_med" "$git_med")
    row "$size" "1 warm deploy, pullhook (median [min-max] of $ROUNDS)" "$ph_med ms [$ph_min-$ph_max]" "" ""
    row "$size" "1 git fetch + reset --hard floor, interleaved" "$git_med ms [$git_min-$git_max]" "" ""
    row "$size" "1 warm deploy / git floor" "${warm_ratio}x" "<= ${goal}x" "$(verdict "$warm_ratio <= $goal")"
    row "$size" "1   in the daemon: deploy (fetch, check, reset, rest), median ms; outside it" \
        "$(deploy_split "$DLOG" "$ROUNDS"); $(outside_ms "$m/ph.pairs")" "" "info"
    stop_pid "$FPID"
    local f_med f_min f_max
    read -r f_med f_min f_max < <(stats "$m/floor.ms")
    row "$size" "1   floor: Javalin alone, a POST answered from another thread, no git, interleaved" \
        "$f_med ms [$f_min-$f_max] = $(ratio "$f_med" "$git_med")x the git floor" "" "info"
    sleep 3
    local rss_after
    rss_after=$(rss_mib "$DPID")
    row "$size" "6 idle RSS after $((ROUNDS + 1)) deploys" "$rss_after MiB" "<= 64 MiB" "$(verdict "$rss_after <= 64")"

    # 5. burst of 20 signed webhooks after one push
    log "$size: 5. burst of 20 webhooks"
    local before_done after_done burst codes ok2xx answered deployed deploys
    tip=$(push_commit "$size")
    before_done=$(grep -c 'deploy done' "$DLOG" || true)
    burst=$("$PY" "$LIB/probe.py" burst "$DPORT" 20 "$WORK/secret" "$tip" 300)
    echo "$burst" > "$m/burst.json"
    after_done=$(grep -c 'deploy done' "$DLOG" || true)
    codes=$("$PY" -c 'import json,sys,collections; c=collections.Counter(json.loads(sys.argv[1])["codes"]); print(" ".join("%sx%s" % (n, k) for k, n in sorted(c.items(), key=str)))' "$burst")
    ok2xx=$("$PY" -c 'import json,sys; print(sum(1 for c in json.loads(sys.argv[1])["codes"] if isinstance(c, int) and 200 <= c < 300))' "$burst")
    answered=$("$PY" -c 'import json,sys; print("%.1f" % (json.loads(sys.argv[1])["answered_all_s"] * 1000))' "$burst")
    deployed=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1])["deployed_s"]; print("never" if d is None else "%.1f" % (d * 1000))' "$burst")
    deploys=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["deploys"])' "$burst")
    local wc_ok=no
    at_tip "$size" "$tip" && wc_ok=yes
    row "$size" "5 burst: answers (status x count)" "$codes" "" ""
    row "$size" "5 burst: all 20 answered 2xx within" "$ok2xx x 2xx in $answered ms" "20 x 2xx, <= 100 ms" \
        "$(verdict "$ok2xx == 20 && $answered <= 100")"
    row "$size" "5 burst: deploys run (/status; log lines)" "$deploys; $((after_done - before_done))" "<= 2" "$(verdict "$deploys <= 2")"
    row "$size" "5 burst: working copy at the pushed commit after" "$deployed ms, correct: $wc_ok" "correct" \
        "$([ "$wc_ok" = yes ] && echo PASS || echo MISS)"

    # 4. a deploy while a flood of rejected requests runs, against the quiet median of 1. wrk ignores SIGINT
    # and prints nothing when stopped, so the flood's rate is counted from the daemon's /metrics (its log
    # names only the first rejections per client and minute).
    log "$size: 4. deploys under a flood of bad requests"
    local wrk_pid flood_med flood_ratio rejected0 flood_t0 flood_rps
    rejected0=$(forbidden_count "$DPORT")
    flood_t0=$EPOCHREALTIME
    timeout 600 wrk -t2 -c16 -d590s -s "$LIB/bad_signature.lua" "http://127.0.0.1:$DPORT/pull-repo" \
        > "$m/flood.wrk" 2>&1 &
    wrk_pid=$!
    PIDS+=("$wrk_pid")
    sleep 2
    : > "$m/flood.ms"
    for r in $(seq 1 "$FLOOD_ROUNDS"); do
        tip=$(push_commit "$size")
        deploy_wait >> "$m/flood.ms"
        at_tip "$size" "$tip" || die "$size: flood round $r: the working copy is not at $tip"
    done
    stop_pid "$wrk_pid"
    flood_rps=$(calc "($(forbidden_count "$DPORT") - $rejected0) / ($EPOCHREALTIME - $flood_t0)" 0)
    flood_med=$(median "$m/flood.ms")
    flood_ratio=$(ratio "$flood_med" "$ph_med")
    row "$size" "4 deploy under a 16-connection flood (median of $FLOOD_ROUNDS)" \
        "$flood_med ms = ${flood_ratio}x quiet ($flood_rps rejected/s)" "<= 2x quiet" "$(verdict "$flood_ratio <= 2")"

    # 3. rejected-request throughput: pullhook, then the tutorial's Flask app
    log "$size: 3. rejected requests: pullhook"
    local ph_rps ph_p99 fl_rps fl_p99
    local log_bytes0 log_rejected0 log_per_request
    log_bytes0=$(stat -c %s "$DLOG"); log_rejected0=$(forbidden_count "$DPORT")
    wrk_rejected "$DPORT" "$m/rejected-pullhook"
    ph_rps=$WRK_RPS; ph_p99=$WRK_P99_MS
    log_per_request=$(calc "($(stat -c %s "$DLOG") - $log_bytes0) / ($(forbidden_count "$DPORT") - $log_rejected0 + 1)" 0)
    stop_pid "$DPID"
    row "$size" "site's object store after $(grep -c 'deploy done' "$DLOG" || true) deploys (twin's)" \
        "$(packs "$dir/site") ($(packs "$dir/twin"))" "" "info"
    if [ "$PROFILE" = 1 ]; then
        jfr print --json --stack-depth 64 --events jdk.ExecutionSample "$m/main.jfr" \
            | "$PY" "$LIB/jfr_summary.py" > "$m/profile.txt" || log "no profile summary"
        log "$size: profile of the main daemon: $m/profile.txt"
    fi
    log "$size: 3. rejected requests: the tutorial's Flask app"
    local fport fpid
    fport=$(free_port)
    TUTORIAL_SECRET_FILE=$WORK/secret TUTORIAL_REPO=$dir/twin TUTORIAL_PORT=$fport \
        "$PY" "$BENCH/tutorial_app.py" > "$m/flask.log" 2>&1 &
    fpid=$!
    PIDS+=("$fpid")
    "$PY" "$LIB/probe.py" up "$fport" 30 >/dev/null || die "the Flask app did not start (log: $m/flask.log)"
    wrk_rejected "$fport" "$m/rejected-flask"
    fl_rps=$WRK_RPS; fl_p99=$WRK_P99_MS
    stop_pid "$fpid"
    row "$size" "3 rejected req/s, pullhook (wrk -t2 -c16 -d${WRK_SECONDS}s)" "$ph_rps req/s" ">= 20000" "$(verdict "$ph_rps >= 20000")"
    row "$size" "3 rejected p99, pullhook" "$ph_p99 ms" "<= 15 ms" "$(verdict "$ph_p99 <= 15")"
    row "$size" "3   daemon log written per rejected request" "$log_per_request bytes" "" "info"
    row "$size" "3 rejected req/s, tutorial Flask app (p99)" "$fl_rps req/s ($fl_p99 ms)" "" ""
    local vs_flask="-"
    [ "$(echo "$fl_rps > 0" | bc)" = 1 ] && vs_flask=$(ratio "$ph_rps" "$fl_rps")
    row "$size" "3 pullhook / Flask req/s" "${vs_flask}x" ">= 20x" "$(verdict "${vs_flask/-/0} >= 20")"

    # 2. the first deploy after a restart, against the warm median of 1: with the unit's options, and with
    # AppCDS added (the archive comes from a training run, see ensure_cds_archive)
    ensure_cds_archive "$size"
    local cds_opts=("-XX:SharedArchiveFile=$CDS" -Xlog:cds=off -Xlog:cds+dynamic=off) kind
    log "$size: 2. first deploy after a restart, $RESTARTS restarts each without and with AppCDS"
    : > "$m/first-unit.ms"; : > "$m/first-cds.ms"; : > "$m/first-unit.pairs"; : > "$m/first-cds.pairs"
    : > "$m/idle-unit.ms"; : > "$m/idle-cds.ms"
    for r in $(seq 1 "$RESTARTS"); do
        for kind in unit cds; do
            if [ "$kind" = unit ]; then
                start_daemon "$size" "restart-$kind-$r"
            else
                start_daemon "$size" "restart-$kind-$r" "${cds_opts[@]}"
            fi
            # pushed once the daemon's own start-up work (warm-up, deploy-on-start check) is done
            wait_idle
            echo "$IDLE_MS" >> "$m/idle-$kind.ms"
            tip=$(push_commit "$size")
            deploy_wait "$m/first-$kind.pairs" >> "$m/first-$kind.ms"
            at_tip "$size" "$tip" || die "$size: restart $r: the working copy is not at $tip"
            grep 'deploy done.*trigger=manual' "$DLOG" | tail -n 1 | sed 's/.*deploy done/deploy done/' >> "$m/first-$kind.lines" || true
            stop_pid "$DPID"
        done
    done
    local first_med first_min first_max first_ratio
    for kind in unit cds; do
        read -r first_med first_min first_max < <(stats "$m/first-$kind.ms")
        first_ratio=$(ratio "$first_med" "$ph_med")
        row "$size" "2 first deploy after restart, $([ $kind = unit ] && echo "unit options (median [min-max] of $RESTARTS)" || echo "unit options + AppCDS")" \
            "$first_med ms [$first_min-$first_max] = ${first_ratio}x warm" "<= 2x warm" "$(verdict "$first_ratio <= 2")"
        row "$size" "2   in the daemon: deploy (fetch, check, reset, rest), median ms; outside it" \
            "$(deploy_split "$m/first-$kind.lines" "$RESTARTS"); $(outside_ms "$m/first-$kind.pairs")" "" "info"
        row "$size" "2   /health to an idle deploy queue (start-up check), median" "$(median "$m/idle-$kind.ms") ms" "" "info"
    done

    # 6. java -jar to the first /health answer, and idle RSS, with the unit's options, without and with AppCDS
    log "$size: 6. start-up: $STARTS starts each, unit options and unit options + AppCDS"
    : > "$m/start-unit.ms"; : > "$m/start-cds.ms"; : > "$m/rss-unit.mib"; : > "$m/rss-cds.mib"
    for r in $(seq 1 "$STARTS"); do
        start_daemon "$size" "start-unit-$r"
        echo "$START_MS" >> "$m/start-unit.ms"
        sleep 3
        rss_mib "$DPID" >> "$m/rss-unit.mib"
        stop_pid "$DPID"
        start_daemon "$size" "start-cds-$r" "${cds_opts[@]}"
        echo "$START_MS" >> "$m/start-cds.ms"
        sleep 3
        rss_mib "$DPID" >> "$m/rss-cds.mib"
        stop_pid "$DPID"
    done
    local s_med s_min s_max c_med c_min c_max ru rc
    read -r s_med s_min s_max < <(stats "$m/start-unit.ms")
    read -r c_med c_min c_max < <(stats "$m/start-cds.ms")
    ru=$(median "$m/rss-unit.mib"); rc=$(median "$m/rss-cds.mib")
    row "$size" "6 java -jar to /health, unit options (median [min-max] of $STARTS)" "$s_med ms [$s_min-$s_max]" "<= 800 ms" "$(verdict "$s_med <= 800")"
    row "$size" "6 java -jar to /health, unit options + AppCDS" "$c_med ms [$c_min-$c_max]" "<= 800 ms" "$(verdict "$c_med <= 800")"
    row "$size" "6 idle RSS 3 s after start, unit options" "$ru MiB" "<= 64 MiB" "$(verdict "$ru <= 64")"
    row "$size" "6 idle RSS 3 s after start, unit options + AppCDS" "$rc MiB" "<= 64 MiB" "$(verdict "$rc <= 64")"
    # the floor under that figure: the same JVM options, Javalin alone and the JVM alone (lib/Floor.java)
    local mode
    for mode in javalin jvm; do
        : > "$m/rss-floor-$mode.mib"
        for r in $(seq 1 $((STARTS < 3 ? STARTS : 3))); do
            start_floor "$size" "$mode"
            sleep 3
            rss_mib "$FPID" >> "$m/rss-floor-$mode.mib"
            stop_pid "$FPID"
        done
    done
    row "$size" "6   floor: idle RSS 3 s after start, unit options, Javalin alone (GET /health); the JVM alone" \
        "$(median "$m/rss-floor-javalin.mib") MiB; $(median "$m/rss-floor-jvm.mib") MiB" "" "info"

    [ "$LONG_ROUNDS" -gt 0 ] && sustained "$size"
    row "$size" "load average (1, 5, 15 min) at the end" "$(cut -d' ' -f1-3 /proc/loadavg)" "" "info"
}

# extra: LONG_ROUNDS deploys in a row on one daemon, as a busy day would bring them: the first 10 against
# the last 10, and what the site's object store looks like after (JGit's pack-per-fetch and its auto-gc)
sustained() {
    local size=$1 dir=$WORK/$1 m=$WORK/$1/run r first last
    log "$size: sustained: $LONG_ROUNDS deploys in a row"
    sync_repos "$size"
    start_daemon "$size" sustained
    : > "$m/sustained.ms"
    for r in $(seq 1 "$LONG_ROUNDS"); do
        push_commit "$size" > /dev/null
        deploy_wait >> "$m/sustained.ms"
    done
    stop_pid "$DPID"
    head -n 10 "$m/sustained.ms" > "$m/sustained-first.ms"
    tail -n 10 "$m/sustained.ms" > "$m/sustained-last.ms"
    first=$(median "$m/sustained-first.ms"); last=$(median "$m/sustained-last.ms")
    row "$size" "x sustained: deploys 1-10 vs the last 10 of $LONG_ROUNDS (medians)" \
        "$first ms -> $last ms ($(ratio "$last" "$first")x)" "" "info"
    row "$size" "x   site's object store after them" "$(packs "$dir/site")" "" "info"
}

# wrk_rejected PORT OUTFILE: a 2 s warm-up, then the measured run; sets WRK_RPS and WRK_P99_MS
wrk_rejected() {
    local port=$1 out=$2 line
    run_wrk "$out.warmup" -d2s "http://127.0.0.1:$port/pull-repo"
    run_wrk "$out" -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$port/pull-repo"
    line=$(grep '^bench_summary' "$out" || echo "bench_summary rps=0 p99_us=0")
    WRK_RPS=$(calc "$(echo "$line" | grep -o 'rps=[0-9.]*' | cut -d= -f2)" 0)
    WRK_P99_MS=$(calc "$(echo "$line" | grep -o 'p99_us=[0-9]*' | cut -d= -f2) / 1000" 1)
}

# run_wrk OUTFILE ARGS...: wrk -t2 -c16 with the bad-signature script, in the background but waited for,
# so that an interrupted bench stops it too
run_wrk() {
    local out=$1 pid
    shift
    timeout $((WRK_SECONDS + 30)) wrk -t2 -c16 -s "$LIB/bad_signature.lua" "$@" > "$out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || true
    stop_pid "$pid"
}

# a JDK 17 dynamic AppCDS archive from a training run (start, deploy, reject, status, SIGTERM); reused
# while the jar and the JVM options are unchanged. Sets CDS to its path. The JVM refuses to dump when it
# could not map the JDK's base archive (it happens now and then: "DynamicDumpSharedSpaces is unsupported
# when base CDS archive is not loaded"), so the training is tried up to 3 times.
ensure_cds_archive() {
    local size=$1 archive=$WORK/cds/pullhook.jsa stamp try
    CDS=$archive
    mkdir -p "$WORK/cds"
    stamp="$JAR $(stat -c %Y "$JAR") $(unit_jvm_opts) $(java -version 2>&1 | head -1)"
    if [ -s "$archive" ] && [ "$(cat "$archive.stamp" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    for try in 1 2 3; do
        log "training run $try for the AppCDS archive"
        rm -f "$archive" "$archive.stamp"
        push_commit "$size" > /dev/null
        try_start_daemon "$size" "cds-training-$try" "-XX:ArchiveClassesAtExit=$archive" -Xlog:cds=off -Xlog:cds+dynamic=off \
            || continue
        deploy_wait > /dev/null
        curl -s -o /dev/null --max-time 10 -X POST -H 'X-Hub-Signature-256: sha256=00' "http://127.0.0.1:$DPORT/pull-repo" || true
        curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$DPORT/status" || true
        stop_pid "$DPID"
        if [ -s "$archive" ]; then
            echo "$stamp" > "$archive.stamp"
            return 0
        fi
    done
    die "3 training runs wrote no AppCDS archive (logs: $WORK/$size/run/cds-training-*.log)"
}

# ------------------------------------------------------------------------------------------------ results

machine_info() {  # machine_info SIZE
    echo "- date: ${STARTED[$1]:-?} (start of this size's measurements)"
    echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') (load: see the first and last rows)"
    echo "- java: $(java -version 2>&1 | tr '\n' ' ' | sed 's/ *$//')"
    echo "- git $(git --version | cut -d' ' -f3), wrk $(wrk --version 2>&1 | head -1 | cut -d' ' -f2), Flask $("$PY" -c 'import flask; print(flask.__version__)' 2>/dev/null || echo '?')"
    echo "- jar: $(basename "$JAR") ($(stat -c %s "$JAR") bytes) built from $JAR_SOURCE; systemd/pullhook.service runs java with \`$(unit_exec_opts | tr '\n' ' ' | sed 's/ $//')\`; the bench uses \`$(unit_jvm_opts | sed "s|$WORK|bench/work|")\`, plus its own AppCDS archive where a line says so"
}

# RESULTS.md keeps one section per size; a run replaces the sections of the sizes it ran ('all': the file)
write_results() {
    local sizes=("$@") size tmp=$WORK/RESULTS.md.new
    {
        echo "# pullhook benchmark results"
        echo
        echo "Written by \`bench/run.sh\` (see bench/README.md for what each line means). Noisy: a shared 2-core machine."
        for size in small medium large; do
            if [[ " ${sizes[*]} " == *" $size "* ]]; then
                echo
                echo "<!-- size:$size -->"
                echo "## $size"
                echo
                machine_info "$size"
                echo "- repository: $(repo_info "$size")"
                echo
                awk -F'\t' -v s="$size" '$1 == s' "$ROWS" > "$WORK/rows-$size.tsv"
                render_table "$WORK/rows-$size.tsv"
                echo "<!-- /size:$size -->"
            elif [ "${sizes[*]}" != "small medium large" ] && [ -f "$RESULTS" ]; then
                awk -v s="$size" '$0 == "<!-- size:" s " -->" { keep = 1; print ""; } keep { print } $0 == "<!-- /size:" s " -->" { keep = 0 }' "$RESULTS"
            fi
        done
    } > "$tmp"
    mv "$tmp" "$RESULTS"
}

repo_info() {
    local dir=$WORK/$1 files commits binaries seed goal
    read -r files commits binaries seed goal <<< "${SIZES[$1]}"
    echo "$((files + binaries)) files ($binaries of 100 KB), $commits generated commits + $(( $(git -C "$dir/origin.git" rev-list --count main) - commits )) bench commits, working copy $(du -sm --exclude=.git "$dir/site" | cut -f1) MiB, .git $(du -sm "$dir/site/.git" | cut -f1) MiB"
}

main() {
    local what=${1:-small} sizes
    case "$what" in
        small | medium | large) sizes=("$what") ;;
        all) sizes=(small medium large) ;;
        *) echo "usage: bench/run.sh [small|medium|large|all]" >&2; exit 2 ;;
    esac
    mkdir -p "$WORK"
    ensure_tools
    ensure_jar
    setup_git_env
    : > "$ROWS"
    local size
    for size in "${sizes[@]}"; do
        bench_size "$size"
    done
    echo
    render_table "$ROWS"
    write_results "${sizes[@]}"
    log "results: $RESULTS"
}

# sourced (e.g. by a profiling script) it only defines the functions
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
