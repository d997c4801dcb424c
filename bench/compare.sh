#!/usr/bin/env bash
# pullhook side by side: BASE_JAR=... [NEW_JAR=...] bench/compare.sh [small|medium|large|all]...  (default: small)
#
# Measurements 1 (warm deploy) and 2 (first deploy after a restart) of bench/README.md, for three daemons
# running at the same time on three identical clones of one origin, in the same rounds:
#   base   BASE_JAR (e.g. built from 0e81fa6; it has no git.engine key, it is always "fast")
#   fast   NEW_JAR with git.engine = fast
#   jgit   NEW_JAR with git.engine = jgit
# plus the git CLI floor (git fetch + reset --hard) on run.sh's twin. Each round: one push, then every
# contender deploys it, in an order that rotates by one every round; then every working copy is checked to
# be at the pushed commit. Prints one markdown table per size and writes it to bench/work/compare-SIZE.md.
# Everything else (repositories, JVM options, git environment, helpers) comes from bench/run.sh, sourced.
#
# Knobs (environment): BASE_JAR (required), NEW_JAR (default: target/pullhook.jar, built as run.sh builds
# it), BASE_SOURCE / NEW_SOURCE (what the jars were built from, for the table), ROUNDS (counted warm rounds,
# 16: a multiple of the 4 contenders, so each goes first equally often), WARMUP (uncounted warm-up rounds, 1),
# RESTARTS (first deploys after a restart per contender, 5; 0 skips measurement 2), GOAL (1.10: the
# largest ratio to base that passes), QUIET_WAIT / QUIET_LOAD (as run.sh), REPORT_ONLY=1 (measure nothing:
# render the tables of the last finished run of each size again, from bench/work/SIZE/compare/run/).
set -euo pipefail

ROUNDS=${ROUNDS:-16}       # set before run.sh is sourced: its own defaults apply only when unset
RESTARTS=${RESTARTS:-5}
# shellcheck source=run.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh"   # functions, settings, the cleanup trap

WARMUP=${WARMUP:-1}
GOAL=${GOAL:-1.10}
BASE_JAR=${BASE_JAR:-}
NEW_JAR=${NEW_JAR:-}
BASE_SOURCE=${BASE_SOURCE:-}
NEW_SOURCE=${NEW_SOURCE:-}

DAEMONS=(base fast jgit)          # the pullhook contenders
ORDER=(base fast jgit git)        # the order of round 0; round r starts at ORDER[r % 4]
declare -A CJAR=() CENGINE=() CPID=() CPORT=() CLOG=() LABEL=()
LABEL[base]="base"; LABEL[fast]="new, git.engine=fast"; LABEL[jgit]="new, git.engine=jgit"
LABEL[git]="git CLI floor (twin)"

# ---------------------------------------------------------------------------------------------- set-up

check_tools() {
    local tool
    for tool in git curl java openssl bc sha256sum "$PY"; do
        command -v "$tool" >/dev/null || die "$tool is needed"
    done
}

check_jars() {
    [ -n "$BASE_JAR" ] || die "BASE_JAR= must name the baseline's jar, e.g.
    git worktree add --detach /tmp/pullhook-base 0e81fa6 && (cd /tmp/pullhook-base && mvn -B -q -DskipTests package)
    BASE_JAR=/tmp/pullhook-base/target/pullhook.jar BASE_SOURCE='commit 0e81fa6' bench/compare.sh small"
    [ -f "$BASE_JAR" ] || die "BASE_JAR=$BASE_JAR does not exist"
    BASE_SOURCE=${BASE_SOURCE:-"unknown (BASE_JAR=$BASE_JAR)"}
    JAR=$NEW_JAR JAR_SOURCE=$NEW_SOURCE
    ensure_jar                          # run.sh's: builds target/pullhook.jar when JAR is unset and it is stale
    NEW_JAR=$JAR NEW_SOURCE=$JAR_SOURCE
    CJAR[base]=$BASE_JAR; CENGINE[base]=""        # the old jar knows no git.engine key: always "fast"
    CJAR[fast]=$NEW_JAR;  CENGINE[fast]=fast
    CJAR[jgit]=$NEW_JAR;  CENGINE[jgit]=jgit
}

jar_info() {  # jar_info JAR SOURCE
    echo "\`$1\` ($(stat -c %s "$1") bytes, sha256 $(sha256sum "$1" | cut -c1-12)), built from $2"
}

# the three daemons' working copies: clones of origin.git made as run.sh makes site and twin (--no-local,
# gc.auto=0), kept in bench/work/SIZE/compare/wc/ and made again when run.sh regenerates the repositories
ensure_clones() {
    local size=$1 dir=$WORK/$1 c stamp
    stamp=$(cat "$dir/.generated")
    if [ "$(cat "$dir/compare/.clones" 2>/dev/null)" = "$stamp" ]; then
        for c in "${DAEMONS[@]}"; do
            [ -d "$dir/compare/wc/$c/.git" ] || stamp=""
        done
        [ -n "$stamp" ] && return 0
        stamp=$(cat "$dir/.generated")
    fi
    log "$size: cloning the origin for ${DAEMONS[*]}"
    rm -rf "$dir/compare/wc" "$dir/compare/.clones"
    mkdir -p "$dir/compare/wc"
    for c in "${DAEMONS[@]}"; do
        git clone -q --no-local "$dir/origin.git" "$dir/compare/wc/$c"
        git -C "$dir/compare/wc/$c" config gc.auto 0
    done
    echo "$stamp" > "$dir/compare/.clones"
}

# as run.sh's sync_repos, for the three clones and the twin (run.sh's site is left alone): all at
# origin/main, every object store one pack
sync_clones() {
    local dir=$WORK/$1 wc
    git -C "$dir/origin.git" repack -adq
    for wc in "$dir"/compare/wc/{base,fast,jgit} "$dir/twin"; do
        git -C "$wc" fetch -q origin
        git -C "$wc" reset -q --hard origin/main
        git -C "$wc" repack -adq
    done
}

wc_of() {  # wc_of SIZE CONTENDER: its working copy
    if [ "$2" = git ]; then echo "$WORK/$1/twin"; else echo "$WORK/$1/compare/wc/$2"; fi
}

# ---------------------------------------------------------------------------------------------- daemons

# start_contender SIZE NAME TAG: as run.sh's try_start_daemon (the unit's JVM options and environment), on its
# own clone, port and config; log in compare/run/NAME-TAG.log. Returns 1 when /health never answers.
start_contender() {
    local size=$1 c=$2 tag=$3 run=$WORK/$1/compare/run opts port
    port=$(free_port)
    {
        echo "server.host = 127.0.0.1"
        echo "server.port = $port"
        echo "repo.path = $(wc_of "$size" "$c")"
        echo "webhook.secret.file = $WORK/secret"
        echo "webhook.wait.timeout.seconds = 300"
        if [ -n "${CENGINE[$c]}" ]; then
            echo "git.engine = ${CENGINE[$c]}"
        fi
    } > "$run/$c.properties"
    CLOG[$c]=$run/$c-$tag.log
    CPORT[$c]=$port
    read -r -a opts <<< "$(unit_jvm_opts)"
    env -u LC_ALL GIT_CONFIG_NOSYSTEM=1 XDG_CONFIG_HOME="$WORK/xdg" LANG=C.UTF-8 \
        java "${opts[@]}" -jar "${CJAR[$c]}" --config "$run/$c.properties" > "${CLOG[$c]}" 2>&1 &
    CPID[$c]=$!
    PIDS+=("$!")
    if ! "$PY" "$LIB/probe.py" health "$port" 60 "${CPID[$c]}" > /dev/null; then
        stop_contender "$c"
        return 1
    fi
}

stop_contender() {
    if [ -n "${CPID[$1]:-}" ]; then
        stop_pid "${CPID[$1]}"
        CPID[$1]=""
    fi
}

# wait_contender_idle NAME: until its deploy queue is idle (warm-up, deploy-on-start check); prints ms
wait_contender_idle() {
    local secs
    secs=$("$PY" "$LIB/probe.py" idle "${CPORT[$1]}" 300) || die "$1's deploy queue stayed busy (log: ${CLOG[$1]})"
    calc "$secs * 1000" 0
}

# deploy_contender SIZE NAME TIP: one deploy of TIP by NAME: a signed POST /pull-repo?wait=true to a daemon
# (curl's time_total), or git fetch + reset --hard on the twin (timed around both). Sets D_MS, D_SERVER (the
# deploy's own "ms" from the answer; "-" for git), D_ID; returns 1 with D_ERR set when it failed.
deploy_contender() {
    local size=$1 c=$2 tip=$3 out code secs answer
    D_MS=""; D_SERVER="-"; D_ID="-"; D_ERR=""
    if [ "$c" = git ]; then
        local t0=$EPOCHREALTIME twin=$WORK/$size/twin
        # as run.sh's git_deploy: nothing but the two commands inside the timing (no subshell)
        if ! { git -C "$twin" fetch -q origin && git -C "$twin" reset -q --hard origin/main; } 2> "$RUN/git.err"; then
            D_ERR="git failed: $(cat "$RUN/git.err")"
            return 1
        fi
        D_MS=$(calc "($EPOCHREALTIME - $t0) * 1000" 1)
        return 0
    fi
    answer=$WORK/$size/compare/run/$c.answer.json
    rm -f "$answer"
    if ! out=$(curl -sS --max-time 300 -o "$answer" -w '%{http_code} %{time_total}' -X POST \
        -H "X-Hub-Signature-256: $SIG" -H "X-Pullhook-Auth: $("$PY" "$LIB/probe.py" manual "$WORK/secret" /pull-repo)" "http://127.0.0.1:${CPORT[$c]}/pull-repo?wait=true" 2>&1); then
        D_ERR="no answer (curl: $out)"
        alive "${CPID[$c]:-}" || D_ERR="$D_ERR; the daemon has exited: $(tail -n 1 "${CLOG[$c]}")"
        D_ERR="$D_ERR$(last_problem "$c")"
        return 1
    fi
    read -r code secs <<< "$out"
    if [ "$code" != 200 ] || ! grep -q '"status": *"deployed"' "$answer"; then
        D_ERR="answered $code: $(head -c 600 "$answer" 2>/dev/null)$(last_problem "$c")"
        return 1
    fi
    if ! grep -q "\"to\": *\"$tip\"" "$answer"; then
        D_ERR="deployed, but not the pushed $tip: $(head -c 600 "$answer")"
        return 1
    fi
    D_MS=$(calc "$secs * 1000" 1)
    D_SERVER=$(grep -oE '"ms": *[0-9]+' "$answer" | head -n 1 | grep -oE '[0-9]+$' || echo "-")
    D_ID=$(grep -oE '"id": *[0-9]+' "$answer" | head -n 1 | grep -oE '[0-9]+$' || echo "-")
}

alive() {  # alive PID: the process runs (not gone, not a zombie waiting to be reaped)
    local state
    [ -n "$1" ] && state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [ -n "$state" ] \
        && [ "$state" != Z ] && [ "$state" != X ]
}

last_problem() {  # the daemon's last WARN or ERROR line, for a failure's report
    local line
    line=$(grep -E '\[(WARN|ERROR)\]' "${CLOG[$1]}" 2>/dev/null | tail -n 1 || true)
    [ -z "$line" ] || printf '; its log: %s' "$line"
}

# check_wc SIZE NAME TIP: the working copy is at TIP with no changed tracked file (run.sh's at_tip, any copy);
# otherwise returns 1 with D_ERR saying where it is
check_wc() {
    local wc head changed
    wc=$(wc_of "$1" "$2")
    head=$(git -C "$wc" rev-parse HEAD)
    changed=$(git -C "$wc" --no-optional-locks status --porcelain --untracked-files=no | head -n 3)
    [ "$head" = "$3" ] && [ -z "$changed" ] && return 0
    D_ERR="working copy at ${head:0:12}, not at the pushed ${3:0:12}${changed:+; changed: $(echo "$changed" | tr '\n' ' ')}"
    return 1
}

fail() {  # fail MEASUREMENT ROUND NAME: note a failed deploy or check (D_ERR) for the report
    local line
    line="$1, round $2: ${LABEL[$3]}: $(tr '\n' ' ' <<< "$D_ERR" | sed 's/ *$//')"
    log "FAILED: $line"
    echo "$line" >> "$RUN/failures.txt"
}

# --------------------------------------------------------------------------------------------- numbers

# split_of LINES: from "deploy done" lines: "ms (fetch, check, reset, rest)" as medians, as run.sh's
# deploy_split; then the reset kinds with counts, and why a full reset was taken
split_of() {
    local lines=$1 col out=()
    [ -s "$lines" ] || { echo "-	-"; return 0; }
    awk '{
        delete v
        for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
        check = ("check_ms" in v) ? v["check_ms"] : 0
        print v["ms"], v["fetch_ms"], ("check_ms" in v) ? check : "-", v["reset_ms"], v["ms"] - v["fetch_ms"] - check - v["reset_ms"]
    }' "$lines" > "$RUN/tmp.split"
    for col in 1 2 3 4 5; do
        cut -d' ' -f"$col" "$RUN/tmp.split" > "$RUN/tmp.col"
        if grep -qx -- '-' "$RUN/tmp.col"; then out+=("-"); else out+=("$(median "$RUN/tmp.col" | sed 's/\.0$//')"); fi
    done
    printf '%s (%s, %s, %s, %s)\t' "${out[@]}"
    awk '{
        kind = "?"
        for (i = 1; i <= NF; i++) if ($i ~ /^reset=/) kind = substr($i, 7)
        n[kind]++
        if (match($0, /full_because="[^"]*"/)) why[substr($0, RSTART + 14, RLENGTH - 15)]++
    }
    END {
        s = ""
        for (k in n) s = s (s == "" ? "" : ", ") k " " n[k]
        for (w in why) s = s "; full because \"" w "\" " why[w]
        print s
    }' "$lines"
}

# lines_for NAME FILE: the "deploy done" lines of NAME's counted deploys (ids in FILE as "log id") to stdout
lines_for() {
    local file id
    while read -r file id; do
        grep -m 1 -E "deploy done id=$id[ ]" "$file" || true
    done < "$2"
}

fmt() { sed 's/\.0$//' <<< "$1"; }
stats_or_dash() {  # "median [min-max]" of FILE, or "-" when it is empty
    local med min max
    [ -s "$1" ] || { echo "-"; return 0; }
    read -r med min max < <(stats "$1")
    echo "$med [$min–$max]"
}

# ---------------------------------------------------------------------------------------------- measuring

compare_size() {
    local size=$1 dir=$WORK/$1 t_size=$EPOCHREALTIME
    ensure_repos "$size"
    ensure_clones "$size"
    sync_clones "$size"
    RUN=$dir/compare/run
    rm -rf "$RUN"
    mkdir -p "$RUN"
    : > "$RUN/failures.txt"
    local started load0 c
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    wait_quiet
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    log "$size: tip $(git -C "$dir/origin.git" rev-parse --short main); starting ${DAEMONS[*]}"
    for c in "${DAEMONS[@]}"; do
        start_contender "$size" "$c" warm || { tail -n 20 "${CLOG[$c]}" >&2; die "$c did not answer /health (log: ${CLOG[$c]})"; }
    done
    for c in "${DAEMONS[@]}"; do
        wait_contender_idle "$c" > /dev/null
    done

    # 1. warm deploys: one push per round, every contender deploys it, the order rotating by one each round
    log "$size: 1. warm deploys: $WARMUP warm-up + $ROUNDS rounds"
    echo "round first contender ms server_ms" > "$RUN/warm.tsv"
    local r k n=${#ORDER[@]} tip order=() ok
    for c in "${DAEMONS[@]}" git; do : > "$RUN/warm-$c.ms"; : > "$RUN/warm-$c.ids"; : > "$RUN/warm-$c.outside"; done
    for r in $(seq $((1 - WARMUP)) "$ROUNDS"); do
        tip=$(push_commit "$size")
        order=()
        for k in $(seq 0 $((n - 1))); do
            order+=("${ORDER[$(( ((r % n) + n + k) % n ))]}")
        done
        declare -A ms=() server=() id=() failed=()
        for c in "${order[@]}"; do
            if deploy_contender "$size" "$c" "$tip"; then
                ms[$c]=$D_MS; server[$c]=$D_SERVER; id[$c]=$D_ID
            else
                failed[$c]=1
                fail "warm" "$r" "$c"
            fi
        done
        for c in "${order[@]}"; do
            [ -z "${failed[$c]:-}" ] || continue
            check_wc "$size" "$c" "$tip" || { failed[$c]=1; fail "warm (check after the round)" "$r" "$c"; }
        done
        [ "$r" -ge 1 ] || continue     # warm-up
        for c in "${order[@]}"; do
            [ -z "${failed[$c]:-}" ] || continue
            echo "$r ${order[0]} $c ${ms[$c]} ${server[$c]}" >> "$RUN/warm.tsv"
            echo "${ms[$c]}" >> "$RUN/warm-$c.ms"
            if [ "$c" != git ]; then
                echo "${CLOG[$c]} ${id[$c]}" >> "$RUN/warm-$c.ids"
                calc "${ms[$c]} - ${server[$c]}" 1 >> "$RUN/warm-$c.outside"
            fi
        done
        unset ms server id failed
    done

    # 2. first deploy after a restart: per restart, each daemon in turn (rotating): stop, start, wait for an
    # idle queue, push, deploy (timed), as run.sh's measurement 2; then the two others catch up (not timed),
    # so that no daemon finds the origin ahead when it starts (its start-up check would deploy it)
    local i j d
    for c in "${DAEMONS[@]}"; do : > "$RUN/first-$c.ms"; : > "$RUN/first-$c.ids"; : > "$RUN/idle-$c.ms"; done
    if [ "$RESTARTS" -gt 0 ]; then
        log "$size: 2. first deploy after a restart: $RESTARTS restarts of each"
        for i in $(seq 1 "$RESTARTS"); do
            for j in 0 1 2; do
                c=${DAEMONS[$(( (i + j) % 3 ))]}
                stop_contender "$c"
                start_contender "$size" "$c" "restart-$i" || { tail -n 20 "${CLOG[$c]}" >&2; die "$c did not answer /health after restart $i (log: ${CLOG[$c]})"; }
                wait_contender_idle "$c" >> "$RUN/idle-$c.ms"
                tip=$(push_commit "$size")
                if deploy_contender "$size" "$c" "$tip" && check_wc "$size" "$c" "$tip"; then
                    echo "$D_MS" >> "$RUN/first-$c.ms"
                    echo "${CLOG[$c]} $D_ID" >> "$RUN/first-$c.ids"
                else
                    fail "first deploy after restart" "$i" "$c"
                fi
                for d in "${DAEMONS[@]}"; do
                    [ "$d" != "$c" ] || continue
                    if ! { deploy_contender "$size" "$d" "$tip" && check_wc "$size" "$d" "$tip"; }; then
                        fail "catch-up after restart (not timed)" "$i" "$d"
                    fi
                done
            done
        done
    fi
    for c in "${DAEMONS[@]}"; do
        stop_contender "$c"
    done
    # what the table's header says, kept with the numbers so that REPORT_ONLY=1 can render them again
    local took
    took=$(calc "$EPOCHREALTIME - $t_size" 0)
    {
        printf 'M_STARTED=%q M_TOOK=%q M_LOAD0=%q M_LOAD1=%q\n' "$started" "$took" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
        printf 'M_BASE=%q\n' "$(jar_info "$BASE_JAR" "$BASE_SOURCE")"
        printf 'M_NEW=%q\n' "$(jar_info "$NEW_JAR" "$NEW_SOURCE")"
        printf 'M_OPTS=%q\n' "$(unit_jvm_opts | sed "s|$WORK|bench/work|")"
        printf 'M_COMMITS=%q M_ROUNDS=%q M_WARMUP=%q M_RESTARTS=%q M_GOAL=%q\n' \
            "$(git -C "$dir/origin.git" rev-list --count main)" "$ROUNDS" "$WARMUP" "$RESTARTS" "$GOAL"
    } > "$RUN/meta"
    report "$size" > "$WORK/compare-$size.md"
    log "$size: done in $took s: $WORK/compare-$size.md"
}

# paired_ratio NAME: the median over counted rounds of NAME's time / base's time in the same round
paired_ratio() {
    awk -v c="$1" 'NR > 1 { t[$1, $3] = $4; rounds[$1] = 1 }
        END { for (r in rounds) if ((r, c) in t && (r, "base") in t) printf "%.4f\n", t[r, c] / t[r, "base"] }' \
        "$RUN/warm.tsv" > "$RUN/tmp.paired"
    if [ -s "$RUN/tmp.paired" ]; then   # two decimals: run.sh's median rounds to one
        sort -n "$RUN/tmp.paired" | awk '{ a[NR] = $1 } END { printf "%.2f×", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
    else
        echo "-"
    fi
}

# report SIZE: the markdown of the run in bench/work/SIZE/compare/run (its numbers, logs and meta)
report() {
    local size=$1 c base_med med rat verdict split kinds fails outside own
    local files commits binaries seed goal
    local M_STARTED M_TOOK M_LOAD0 M_LOAD1 M_BASE M_NEW M_OPTS M_COMMITS M_ROUNDS M_WARMUP M_RESTARTS M_GOAL
    RUN=$WORK/$size/compare/run
    [ -f "$RUN/meta" ] || die "no finished run of $size in $RUN"
    # shellcheck source=/dev/null
    source "$RUN/meta"
    read -r files commits binaries seed goal <<< "${SIZES[$size]}"
    echo "## $size: base vs new (fast, jgit), side by side"
    echo
    echo "- $M_STARTED, took $M_TOOK s; load average (1, 5, 15 min) $M_LOAD0 at the start, $M_LOAD1 at the end; $(nproc) cores"
    echo "- base: $M_BASE"
    echo "- new: $M_NEW; run twice, with \`git.engine = fast\` and \`= jgit\`"
    echo "- all three at once, each on its own clone of the same origin, with the unit's JVM options as run.sh applies them: \`$M_OPTS\`"
    echo "- repository: $((files + binaries)) files, $M_COMMITS commits at the end"
    echo
    echo "### 1. Warm deploy: $M_ROUNDS rounds after $M_WARMUP warm-up"
    echo
    echo "One push per round, then each contender deploys it (curl's time for a signed \`POST /pull-repo?wait=true\`; git: fetch + reset --hard on the twin), the order rotating by one each round; every copy checked at the pushed commit after the round."
    echo
    echo "| contender | median [min–max] ms | ratio to base (goal ≤ ${M_GOAL}×) | per-round ratio, median | in the daemon: ms (fetch, check, reset, rest), medians | outside the deploy | resets | failed |"
    echo "|---|---|---|---|---|---|---|---|"
    base_med=$( [ -s "$RUN/warm-base.ms" ] && median "$RUN/warm-base.ms" || echo "")
    for c in "${DAEMONS[@]}" git; do
        rat="-"; verdict=""
        if [ -s "$RUN/warm-$c.ms" ] && [ -n "$base_med" ]; then
            med=$(median "$RUN/warm-$c.ms")
            rat="$(ratio "$med" "$base_med")×"
            case $c in
                fast | jgit) verdict=" $(verdict "${rat%×} <= $M_GOAL")" ;;
            esac
        fi
        if [ "$c" = git ]; then
            split="-"; kinds="-"
            outside="-"
        else
            lines_for "$c" "$RUN/warm-$c.ids" > "$RUN/warm-$c.lines"
            IFS=$'\t' read -r split kinds < <(split_of "$RUN/warm-$c.lines")
            outside=$( [ -s "$RUN/warm-$c.outside" ] && median "$RUN/warm-$c.outside" || echo "-")
        fi
        fails=$(grep -c "^warm[^,]*, round [0-9-]*: ${LABEL[$c]}:" "$RUN/failures.txt" || true)
        if [ "$c" = base ]; then
            echo "| ${LABEL[$c]} | $(stats_or_dash "$RUN/warm-$c.ms") | 1.00× | – | $split | $outside | $kinds | $fails |"
        else
            echo "| ${LABEL[$c]} | $(stats_or_dash "$RUN/warm-$c.ms") | $rat$verdict | $(paired_ratio "$c") | $split | $outside | $kinds | $fails |"
        fi
    done
    if [ "$M_RESTARTS" -gt 0 ]; then
        echo
        echo "### 2. First deploy after a restart: $M_RESTARTS restarts of each"
        echo
        echo "Each daemon in turn: stop, start, wait for an idle deploy queue, push, one deploy (timed); the two others then deploy the same push (not timed)."
        echo
        echo "| contender | median [min–max] ms | ratio to base | ratio to its warm median | in the daemon: ms (fetch, check, reset, rest), medians | /health to an idle queue, median ms | failed |"
        echo "|---|---|---|---|---|---|---|"
        base_med=$( [ -s "$RUN/first-base.ms" ] && median "$RUN/first-base.ms" || echo "")
        for c in "${DAEMONS[@]}"; do
            lines_for "$c" "$RUN/first-$c.ids" > "$RUN/first-$c.lines"
            IFS=$'\t' read -r split kinds < <(split_of "$RUN/first-$c.lines")
            rat="-"; own="-"
            if [ -s "$RUN/first-$c.ms" ]; then
                med=$(median "$RUN/first-$c.ms")
                [ -z "$base_med" ] || rat="$(ratio "$med" "$base_med")×"
                [ ! -s "$RUN/warm-$c.ms" ] || own="$(ratio "$med" "$(median "$RUN/warm-$c.ms")")×"
            fi
            fails=$(grep -c "^first deploy after restart, round [0-9]*: ${LABEL[$c]}:" "$RUN/failures.txt" || true)
            echo "| ${LABEL[$c]} | $(stats_or_dash "$RUN/first-$c.ms") | $rat | $own | $split | $(stats_or_dash "$RUN/idle-$c.ms" | cut -d' ' -f1 | sed 's/\.0$//') | $fails |"
        done
    fi
    if [ -s "$RUN/failures.txt" ]; then
        echo
        echo "Failures ($(wc -l < "$RUN/failures.txt")); logs in bench/work/$size/compare/run/:"
        echo
        sed 's/^/- /' "$RUN/failures.txt"
    fi
}

main() {
    local sizes=() what size
    [ $# -gt 0 ] || set -- small
    for what in "$@"; do
        case "$what" in
            small | medium | large) sizes+=("$what") ;;
            all) sizes+=(small medium large) ;;
            *) echo "usage: BASE_JAR=... [NEW_JAR=...] bench/compare.sh [small|medium|large|all]..." >&2; exit 2 ;;
        esac
    done
    [ "$ROUNDS" -ge 1 ] && [ "$WARMUP" -ge 0 ] && [ "$RESTARTS" -ge 0 ] || die "ROUNDS >= 1, WARMUP >= 0, RESTARTS >= 0"
    if [ "${REPORT_ONLY:-0}" = 1 ]; then   # render the last finished run of each size again, measure nothing
        for size in "${sizes[@]}"; do
            report "$size" > "$WORK/compare-$size.md"
            echo; cat "$WORK/compare-$size.md"
        done
        return 0
    fi
    mkdir -p "$WORK"
    check_tools
    check_jars
    setup_git_env
    for size in "${sizes[@]}"; do
        compare_size "$size"
    done
    for size in "${sizes[@]}"; do
        echo
        cat "$WORK/compare-$size.md"
    done
}

main "$@"
