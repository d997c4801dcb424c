#!/usr/bin/env bash
# Speed tricks, each on vs off: bench/tricks.sh [a] [b] [d]      (default: all three; ~8 minutes quiet)
#
# Each of pullhook's speed tricks measured with the trick on and off, in the same run, interleaved (the
# order alternates every round), ROUNDS times, on run.sh's small repository, with the real jar and the
# systemd unit's JVM options (run.sh's helpers, sourced):
#   a  the start-up deploy rehearsal (deploy/WarmUp, git/DeployRehearsal)      off: server.warmup = false
#      gain: the first webhook after a start; cost: CPU and time at start
#   b  the start-up self-ping (http/WarmUpRequest)                             off: -Dpullhook.http.warmup=false
#      gain: the first webhook after a start, outside the deploy
#   (c, a full GC when idle after work, deploy/IdleCollector, gave no RSS back and was removed: bench/README.md)
#   d  forged webhooks answered on the selector thread (http/WebhookGate)    off: -Dpullhook.webhook.gate=false
#      gain: daemon CPU per rejected request, /health and a deploy under a flood of forged requests
# a and b share their starts: each round starts the daemon with everything on, with a off and with b off.
# Prints one table (median [min-max] on, off; off/on as the ratio of the medians and the median of the
# per-round ratios) and writes it with the machine's details and the load average to
# bench/work/tricks/SIZE-TRICKS/results.md (e.g. small-abd), with the raw samples and the daemons' logs.
#
# Knobs (environment): ROUNDS (9), SIZE (run.sh's repository: small, medium or large; small),
# JAR / JAR_SOURCE (as run.sh), FLOOD_RATE (d: forged requests per second, 1000), FLOOD_SECONDS (d: the
# measured window, 6).
# Needs java, git, curl, bc and /usr/bin/python3. Only 127.0.0.1; every process it starts is stopped by PID.
set -euo pipefail

ROUNDS=${ROUNDS:-9}
# shellcheck source=run.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh"   # helpers, settings, the cleanup trap

FLOOD_RATE=${FLOOD_RATE:-1000}
FLOOD_SECONDS=${FLOOD_SECONDS:-6}
SIZE=${SIZE:-small}
TW=                             # this script's files: bench/work/tricks/SIZE-TRICKS/, set in main_tricks
ATTACK_PY=$LIB/attack.py
TICK=$(getconf CLK_TCK)

# -------------------------------------------------------------------------------------------- contenders

declare -A CONF=() OPTS=() LABEL=()
CONF[on]="";                      OPTS[on]="";                               LABEL[on]="on (defaults, unit options)"
CONF[a_off]="server.warmup = false"; OPTS[a_off]="";                         LABEL[a_off]="a off: server.warmup = false"
CONF[b_off]="";                   OPTS[b_off]="-Dpullhook.http.warmup=false"; LABEL[b_off]="b off: -Dpullhook.http.warmup=false"
CONF[d_off]="";                   OPTS[d_off]="-Dpullhook.webhook.gate=false"; LABEL[d_off]="d off: -Dpullhook.webhook.gate=false"

# start_trick NAME CONTENDER: the daemon with the unit's options plus the contender's; sets DPID, DPORT, DLOG,
# START_MS (launch to the first /health 200)
start_trick() {
    local name=$1 who=$2 opts extra t0 t1
    DPORT=$(free_port)
    DLOG=$TW/logs/$name.log
    cat > "$TW/config.properties" <<EOF
server.host = 127.0.0.1
server.port = $DPORT
repo.path = $WORK/$SIZE/site
webhook.secret.file = $WORK/secret
webhook.wait.timeout.seconds = 300
${CONF[$who]}
EOF
    read -r -a opts <<< "$(unit_jvm_opts)"
    read -r -a extra <<< "${OPTS[$who]}"
    t0=$EPOCHREALTIME
    env -u LC_ALL GIT_CONFIG_NOSYSTEM=1 XDG_CONFIG_HOME="$WORK/xdg" LANG=C.UTF-8 \
        java "${opts[@]}" "${extra[@]}" -jar "$JAR" --config "$TW/config.properties" > "$DLOG" 2>&1 &
    DPID=$!
    PIDS+=("$DPID")
    t1=$("$PY" "$LIB/probe.py" health "$DPORT" 60 "$DPID") || { tail -20 "$DLOG" >&2; die "$name: no /health (log: $DLOG)"; }
    START_MS=$(calc "($t1 - $t0) * 1000" 0)
}

cpu_ms() {  # user + system CPU time of process $1 so far, in ms
    awk -v tick="$TICK" '{ sub(/.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / tick }' "/proc/$1/stat"
}

sample() { echo "$3" >> "$TW/$1.$2"; }   # sample CONTENDER METRIC VALUE: one line per round

# first_webhook: pushes a commit and sends the signed GitHub push webhook for it with ?wait=true; sets
# FW_TOTAL (ms, connect to the end of the answer), FW_DEPLOY (the deploy's own ms), FW_OUTSIDE (the rest)
first_webhook() {
    local tip code
    tip=$(push_commit "$SIZE")
    read -r code FW_TOTAL FW_DEPLOY <<< "$("$PY" "$LIB/probe.py" push "$DPORT" "$WORK/secret" "$tip" 300)"
    [ "$code" = 200 ] || die "the webhook answered $code (log: $DLOG)"
    at_tip "$SIZE" "$tip" || die "the working copy is not at $tip (log: $DLOG)"
    FW_OUTSIDE=$(calc "$FW_TOTAL - $FW_DEPLOY" 1)
}

# rotate R A B...: the contenders in the order of round R (each goes first equally often)
rotate() {
    local r=$1 i n
    shift
    n=$#
    local all=("$@")
    for i in $(seq 0 $((n - 1))); do
        printf '%s ' "${all[$(((r + i) % n))]}"
    done
}

# ------------------------------------------------------------------------------------------ measurements

# a and b: the daemon's own start-up work, then the first webhook after the start
measure_start() {
    local who r name
    for r in $(seq 1 "$ROUNDS"); do
        for who in $(rotate "$r" "$@"); do
            name="start-$who-$r"
            start_trick "$name" "$who"
            wait_idle   # the warm-up and the start-up check (deploy.on.start) are done
            sample "$who" idle_ms "$IDLE_MS"
            sample "$who" up_ms "$START_MS"
            sleep 2     # the self-ping has been answered
            sample "$who" cpu_ms "$(cpu_ms "$DPID")"
            first_webhook
            sample "$who" first_ms "$FW_TOTAL"
            sample "$who" first_deploy_ms "$FW_DEPLOY"
            sample "$who" first_outside_ms "$FW_OUTSIDE"
            sample "$who" cpu_first_ms "$(cpu_ms "$DPID")"
            stop_pid "$DPID"
        done
        log "a/b: round $r of $ROUNDS done"
    done
}

# d: a flood of forged webhooks at FLOOD_RATE/s over 16 connections (lib/attack.py flood); after 1 s, for
# FLOOD_SECONDS: the daemon's CPU per rejected request and GET /health on a new connection every 50 ms;
# then one deploy, still under the flood
measure_gate() {
    local who r cpu0 cpu1 n0 n1 t0 t1 flood_pid samples
    for r in $(seq 1 "$ROUNDS"); do
        for who in $(rotate "$r" on d_off); do
            start_trick "gate-$who-$r" "$who"
            wait_idle
            "$PY" "$ATTACK_PY" flood 127.0.0.1 "$DPORT" 0 1 "$FLOOD_RATE" 16 > /dev/null   # its code paths run once
            "$PY" "$ATTACK_PY" flood 127.0.0.1 "$DPORT" 0 $((FLOOD_SECONDS + 8)) "$FLOOD_RATE" 16 \
                > "$TW/logs/gate-$who-$r.flood.json" &
            flood_pid=$!
            PIDS+=("$flood_pid")
            sleep 1
            t0=$EPOCHREALTIME; cpu0=$(cpu_ms "$DPID"); n0=$(forbidden_count "$DPORT")
            samples=$("$PY" "$ATTACK_PY" health 127.0.0.1 "$DPORT" "$FLOOD_SECONDS" 0.05)
            cpu1=$(cpu_ms "$DPID"); n1=$(forbidden_count "$DPORT"); t1=$EPOCHREALTIME
            echo "$samples" > "$TW/logs/gate-$who-$r.health.json"
            [ $((n1 - n0)) -gt 0 ] || die "no request rejected during the flood (log: $DLOG)"
            sample "$who" cpu_us_per_reject "$(calc "($cpu1 - $cpu0) * 1000 / ($n1 - $n0)" 0)"
            sample "$who" rejected_per_s "$(calc "($n1 - $n0) / ($t1 - $t0)" 0)"
            sample "$who" health_med "$("$PY" -c 'import json,sys,statistics; s=[x for x in json.load(sys.stdin) if x >= 0]; print(statistics.median(s))' <<< "$samples")"
            sample "$who" health_p95 "$("$PY" -c 'import json,sys; s=sorted(x for x in json.load(sys.stdin) if x >= 0); print(s[max(0, round(len(s) * 0.95) - 1)])' <<< "$samples")"
            sample "$who" health_failed "$("$PY" -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x < 0))' <<< "$samples")"
            first_webhook
            sample "$who" flood_deploy_ms "$FW_TOTAL"
            wait "$flood_pid" || true
            stop_pid "$flood_pid"
            stop_pid "$DPID"
        done
        log "d: round $r of $ROUNDS done"
    done
}

# ----------------------------------------------------------------------------------------------- results

# row TRICK FIGURE ON OFF METRIC: one table line; off/on as the ratio of the medians and the median of
# the per-round ratios (line i of each sample file is round i)
row_of() {
    local trick=$1 figure=$2 on=$3 off=$4 metric=$5 a b ratio per_round
    read -r a_med a_min a_max < <(stats "$TW/$on.$metric")
    read -r b_med b_min b_max < <(stats "$TW/$off.$metric")
    if [ "$(echo "$a_med > 0" | bc)" = 1 ]; then ratio="$(ratio "$b_med" "$a_med")x"; else ratio="-"; fi
    per_round=$(paste "$TW/$on.$metric" "$TW/$off.$metric" | awk '$1 > 0 { print $2 / $1 }' | sort -g \
        | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.2fx\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    printf '%s\t%s\t%s [%s-%s]\t%s [%s-%s]\t%s; %s\n' "$trick" "$figure" "$a_med" "$a_min" "$a_max" \
        "$b_med" "$b_min" "$b_max" "$ratio" "$per_round" >> "$TABLE"
}

render() {
    awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
        END {
            split("trick|figure (median [min-max])|on|off|off / on (medians; per round)", h, "|")
            for (i = 1; i <= 5; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
            line = "|"; sep = "|"
            for (i = 1; i <= 5; i++) { line = line sprintf(" %-" w[i] "s |", h[i]); s = ""; for (j = 0; j < w[i]; j++) s = s "-"; sep = sep " " s " |" }
            print line; print sep
            for (r = 1; r <= n; r++) { line = "|"; for (i = 1; i <= 5; i++) line = line sprintf(" %-" w[i] "s |", c[r, i]); print line }
        }' "$1"
}

main_tricks() {
    local tricks=("$@") t starts=()
    [ ${#tricks[@]} -gt 0 ] || tricks=(a b d)
    for t in "${tricks[@]}"; do
        case "$t" in a | b | d) ;; *) echo "usage: bench/tricks.sh [a] [b] [d]" >&2; exit 2 ;; esac
    done
    TW=$WORK/tricks/$SIZE-$(printf '%s' "${tricks[@]}")
    TABLE=$TW/table.tsv
    mkdir -p "$WORK"
    ensure_jar
    setup_git_env
    ensure_repos "$SIZE"
    sync_repos "$SIZE"
    rm -rf "$TW"
    mkdir -p "$TW/logs"
    : > "$TABLE"
    local began load0 loads=()
    began=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    [[ " ${tricks[*]} " == *" a "* ]] && starts+=(a_off)
    [[ " ${tricks[*]} " == *" b "* ]] && starts+=(b_off)
    if [ ${#starts[@]} -gt 0 ]; then
        load0=$(cut -d' ' -f1 /proc/loadavg)
        log "a/b: $ROUNDS rounds of starts: on ${starts[*]}"
        measure_start on "${starts[@]}"
        loads+=("a/b $load0 -> $(cut -d' ' -f1 /proc/loadavg)")
        if [[ " ${starts[*]} " == *" a_off "* ]]; then
            row_of a "first webhook after a start, ms" on a_off first_ms
            row_of a "  its deploy, in the daemon, ms" on a_off first_deploy_ms
            row_of a "cost: CPU from launch to 2 s after an idle queue, ms" on a_off cpu_ms
            row_of a "  CPU from launch to the end of the first webhook, ms" on a_off cpu_first_ms
            row_of a "cost: /health to an idle queue (warm-up, start-up check), ms" on a_off idle_ms
            row_of a "java -jar to /health, ms" on a_off up_ms
        fi
        if [[ " ${starts[*]} " == *" b_off "* ]]; then
            row_of b "first webhook after a start, ms" on b_off first_ms
            row_of b "  outside its deploy (HTTP, queue, JSON), ms" on b_off first_outside_ms
            row_of b "cost: CPU from launch to 2 s after an idle queue, ms" on b_off cpu_ms
        fi
    fi
    if [[ " ${tricks[*]} " == *" d "* ]]; then
        load0=$(cut -d' ' -f1 /proc/loadavg)
        log "d: $ROUNDS rounds: on d_off, a flood of $FLOOD_RATE forged requests/s"
        measure_gate
        loads+=("d $load0 -> $(cut -d' ' -f1 /proc/loadavg)")
        row_of d "daemon CPU per rejected request, us" on d_off cpu_us_per_reject
        row_of d "  rejected per s (offered $FLOOD_RATE)" on d_off rejected_per_s
        row_of d "/health under the flood, median ms" on d_off health_med
        row_of d "/health under the flood, p95 ms" on d_off health_p95
        row_of d "deploy under the flood, ms" on d_off flood_deploy_ms
    fi
    {
        echo "# bench/tricks.sh $*"
        echo
        echo "- date: $began to $(date -u +%H:%M:%SZ); ROUNDS=$ROUNDS, run.sh's $SIZE repository"
        echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
        echo "- load average (1 min) at the start -> end of each part: ${loads[*]/%/;}"
        echo "- java: $(java -version 2>&1 | head -1)"
        echo "- jar: $JAR built from $JAR_SOURCE; JVM options: \`$(unit_jvm_opts | sed "s|$WORK|bench/work|")\`"
        if [ -f "$TW/on.health_failed" ]; then
            echo "- /health probes that failed under the flood, per round (on; off): $(paste -sd, "$TW/on.health_failed"); $(paste -sd, "$TW/d_off.health_failed")"
        fi
        echo
        render "$TABLE"
    } > "$TW/results.md"
    echo
    cat "$TW/results.md"
}

main_tricks "$@"
