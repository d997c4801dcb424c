#!/usr/bin/env bash
# pullhook under attack: bench/load.sh      (about 10 minutes; SECONDS=10 bench/load.sh for a quick look)
#
# Starts pullhook from the jar with the systemd unit's JVM options (run.sh's helpers, sourced) and a real
# NGINX with the shipped site, nginx/pullhook.conf, adapted as NginxIT adapts it (loopback ports, a
# throw-away self-signed certificate, the upstream port) inside a main config like Debian's default one.
# Then four attacks, SECONDS (60) each, first through NGINX ("nginx"), then straight at pullhook
# ("direct", from 127.0.0.1, an address pullhook trusts as a proxy, so no per-client cap helps it):
#   big    20 clients sending unsigned 5 MiB bodies, one after the other
#   idle   1,000 keep-alive connections sitting idle (opened again when closed)
#   slow   200 clients sending bodies at 10 bytes/s (half of them announce 1,000 bytes, half 1 MiB)
#   flood  2,000 unsigned small POSTs per second over 32 keep-alive connections
# Throughout each: GET /health straight to pullhook on a new connection every 100 ms (max and p99), the
# daemon's RSS every second and whether it still runs; halfway through, a real commit is pushed to origin
# and a signed GitHub push webhook for it is sent (through NGINX from ::1, another client than the
# attackers on 127.0.0.1; direct from 127.0.0.1), and the working copy must reach that commit within 30 s.
# One daemon for the whole run (started again, and marked, should it die). Prints one table and writes it
# with the machine's details to bench/work/load/results.md.
#
# Knobs (environment): SECONDS (60, per attack), PASSES ("nginx direct"), ATTACKS ("big idle slow flood"),
# JAR / JAR_SOURCE (as run.sh). Needs java, git, curl, openssl, nginx (Debian package nginx) and
# /usr/bin/python3. Only 127.0.0.1 and ::1; every process it starts is stopped by its PID on exit.
ATTACK_SECONDS=$SECONDS   # read first: bash counts SECONDS up from the value it was started with (0 if unset)
[ "$ATTACK_SECONDS" -gt 0 ] 2>/dev/null || ATTACK_SECONDS=60
set -euo pipefail

# shellcheck source=run.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh"   # helpers, settings, the cleanup trap

PASSES=${PASSES:-nginx direct}
ATTACKS=${ATTACKS:-big idle slow flood}
LW=$WORK/load                  # this script's files: configs, logs, raw numbers of the last run
ATTACK_PY=$LIB/attack.py
NGINX=/usr/sbin/nginx
SIZE=small                     # run.sh's small repository: the push's deploy is quick

declare -A ARGS=([big]="20" [idle]="1000" [slow]="200 10" [flood]="2000 32")
declare -A WHAT=([big]="20 x 5 MiB unsigned bodies" [idle]="1,000 idle keep-alive connections"
                 [slow]="200 bodies at 10 bytes/s" [flood]="2,000 unsigned posts/s")

check_tools() {
    local tool
    for tool in java git curl openssl "$NGINX" "$PY"; do
        command -v "$tool" >/dev/null || die "$tool is needed (nginx: apt-get install nginx)"
    done
    ip -6 addr show lo 2>/dev/null | grep -q '::1' || die "::1 is needed (the signed push comes from there)"
}

# --------------------------------------------------------------------------------------------------- NGINX

# the shipped site with only what this machine cannot have replaced; each replacement must match exactly
# as often as expected, so a changed file fails here instead of being tested half
derive_site() {
    "$PY" - "$ROOT/nginx/pullhook.conf" "$LW/pullhook.conf" "$HTTP_PORT" "$HTTPS_PORT" "$DPORT" "$LW" <<'EOF'
import sys
src, out, http, https, upstream, lw = sys.argv[1:]
conf = open(src).read()
for old, new, times in [
        ("listen 80;", "listen 127.0.0.1:%s;" % http, 1),
        ("listen [::]:80;", "listen [::1]:%s;" % http, 1),
        ("listen 443 ssl;", "listen 127.0.0.1:%s ssl;" % https, 1),
        ("listen [::]:443 ssl;", "listen [::1]:%s ssl;" % https, 1),
        ("ssl_certificate /etc/letsencrypt/live/deploy.example.com/fullchain.pem;", "ssl_certificate %s/cert.pem;" % lw, 1),
        ("ssl_certificate_key /etc/letsencrypt/live/deploy.example.com/privkey.pem;", "ssl_certificate_key %s/key.pem;" % lw, 1),
        ("include /etc/letsencrypt/options-ssl-nginx.conf;", "", 1),
        ("ssl_dhparam /etc/letsencrypt/ssl-dhparams.pem;", "", 1),
        ("proxy_pass http://127.0.0.1:5000;", "proxy_pass http://127.0.0.1:%s;" % upstream, 1)]:
    if conf.count(old) != times:
        sys.exit("nginx/pullhook.conf changed shape: expected %d of %r" % (times, old))
    conf = conf.replace(old, new)
if "/etc/letsencrypt" in conf:
    sys.exit("a certbot file is still referenced")
open(out, "w").write(conf)
EOF
}

start_nginx() {
    HTTP_PORT=$(free_port)
    HTTPS_PORT=$(free_port)
    # an ECDSA P-256 key, as certbot makes by default since 2.0: its handshakes cost NGINX a tenth of RSA's
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" \
        -keyout "$LW/key.pem" -out "$LW/cert.pem" > "$LW/openssl.log" 2>&1 || die "openssl req failed: $LW/openssl.log"
    derive_site || die "cannot adapt nginx/pullhook.conf"
    local user=""
    [ "$(id -u)" = 0 ] && user="user root;"   # as root the workers would be nobody, shut out of bench/work
    # Debian's /etc/nginx/nginx.conf, minus what needs /etc and /var: worker_processes auto, 768 connections
    cat > "$LW/nginx.conf" <<EOF
$user
worker_processes auto;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log $LW/access.log;
    client_body_temp_path $LW/client_body_temp;
    proxy_temp_path $LW/proxy_temp;
    fastcgi_temp_path $LW/fastcgi_temp;
    uwsgi_temp_path $LW/uwsgi_temp;
    scgi_temp_path $LW/scgi_temp;
    include $LW/pullhook.conf;
}
EOF
    local globals="daemon off; pid $LW/nginx.pid; error_log $LW/error.log;"
    "$NGINX" -p "$LW/" -c "$LW/nginx.conf" -g "$globals" -t > "$LW/nginx-t.log" 2>&1 \
        || { cat "$LW/nginx-t.log" >&2; die "nginx -t rejected the adapted site ($LW/pullhook.conf)"; }
    "$NGINX" -p "$LW/" -c "$LW/nginx.conf" -g "$globals" > "$LW/nginx.out" 2>&1 &
    NPID=$!
    PIDS+=("$NPID")
    "$PY" "$LIB/probe.py" up "$HTTPS_PORT" 30 || die "nginx does not listen (log: $LW/error.log)"
    HSTS=$(curl -sk -o /dev/null -D - "https://127.0.0.1:$HTTPS_PORT/" | tr -d '\r' \
        | awk -F': ' 'tolower($1) == "strict-transport-security" { print $2 }')
    [ -n "$HSTS" ] || die "NGINX sends no Strict-Transport-Security header over HTTPS"
    log "nginx on 127.0.0.1 and ::1, ports $HTTP_PORT (http) and $HTTPS_PORT (https); HSTS: $HSTS"
}

# --------------------------------------------------------------------------------------------------- daemon

ensure_daemon() {  # (re)starts pullhook when it is not running; DIED counts the restarts
    if [ -n "${DPID:-}" ] && kill -0 "$DPID" 2>/dev/null; then
        return 0
    fi
    if [ -n "${DPID:-}" ]; then
        DIED=$((DIED + 1))
        log "pullhook (pid $DPID) is gone: starting it again"
        stop_pid "$DPID"
    fi
    start_daemon "$SIZE" load        # run.sh's: unit JVM options, bench/work/small/run/load.log
    "$PY" "$LIB/probe.py" idle "$DPORT" 120 > /dev/null || die "the deploy queue stayed busy (log: $DLOG)"
    if [ -n "${NPID:-}" ]; then
        derive_site && kill -HUP "$NPID"   # the new daemon has a new port
    fi
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# --------------------------------------------------------------------------------------------------- attacks

# run_attack PASS ATTACK: one row of the table
run_attack() {
    local pass=$1 attack=$2 host=127.0.0.1 port tls out=$LW/$1-$2 s=$ATTACK_SECONDS
    ensure_daemon
    if [ "$pass" = nginx ]; then port=$HTTPS_PORT tls=1; else port=$DPORT tls=0; fi
    local dpid=$DPID load0 log0 ticks0 hpid apid wpid
    load0=$(cut -d' ' -f1 /proc/loadavg)
    log0=$(wc -l < "$DLOG")
    ticks0=$(cpu_ticks "$dpid")
    : > "$out.rss"
    log "$pass $attack: ${WHAT[$attack]} for $s s"

    "$PY" "$ATTACK_PY" health 127.0.0.1 "$DPORT" "$s" 0.1 > "$out.health" &
    hpid=$!
    PIDS+=("$hpid")
    ( while kill -0 "$dpid" 2>/dev/null; do ps -o rss= -p "$dpid" >> "$out.rss" || true; sleep 1; done
      echo dead >> "$out.rss" ) &
    wpid=$!
    PIDS+=("$wpid")
    # shellcheck disable=SC2086 # ARGS holds several words
    timeout $((s + 60)) "$PY" "$ATTACK_PY" "$attack" "$host" "$port" "$tls" "$s" ${ARGS[$attack]} > "$out.json" 2> "$out.err" &
    apid=$!
    PIDS+=("$apid")

    sleep $((s / 2))    # halfway through: one signed push, from another client
    local tip push t0 deployed="not deployed in 30 s"
    tip=$(push_commit "$SIZE")
    t0=$EPOCHREALTIME
    if [ "$pass" = nginx ]; then
        push=$("$PY" "$ATTACK_PY" push ::1 "$HTTPS_PORT" 1 "$WORK/secret" "$tip")
    else
        push=$("$PY" "$ATTACK_PY" push 127.0.0.1 "$DPORT" 0 "$WORK/secret" "$tip")
    fi
    local i
    for i in $(seq 1 150); do
        if at_tip "$SIZE" "$tip"; then
            deployed="deployed in $(calc "$EPOCHREALTIME - $t0" 1) s"
            break
        fi
        sleep 0.2
    done

    wait "$apid" || log "$pass $attack: the attack ended with status $? (see $out.err)"
    wait "$hpid" || true
    stop_pid "$apid"
    stop_pid "$hpid"
    stop_pid "$wpid"
    local ticks1 alive=yes oom answers hmax hp99 hp50 hfail hn rss verdict=PASS
    ticks1=$(cpu_ticks "$dpid")
    grep -q dead "$out.rss" && alive=no
    kill -0 "$dpid" 2>/dev/null || alive=no
    oom=$(tail -n +"$((log0 + 1))" "$DLOG" | grep -c OutOfMemoryError || true)
    IFS=$'\t' read -r answers hmax hp99 hp50 hfail hn < <("$PY" "$ATTACK_PY" report "$out.json" "$out.health")
    rss=$(grep -v dead "$out.rss" | sort -n | tail -1 | awk '{ printf "%.0f", $1 / 1024 }')
    if [ "$alive" != yes ] || [ "$oom" != 0 ] || [ "$hfail" != 0 ] || [ "$(calc "($hmax > 1000)" 0)" = 1 ] \
        || [[ "$deployed" != deployed* ]]; then
        verdict=FAIL
    fi
    local cpu
    cpu=$(calc "($ticks1 - $ticks0) / $(getconf CLK_TCK) / $s * 100" 0)
    printf '%s\t%s\t%s\t%s / %s (%s of %s failed)\t%s: %s\t%s\t%s%s\t%s\t%s -> %s\t%s\n' \
        "$pass" "${WHAT[$attack]}" "$answers" "$hmax" "$hp99" "$hfail" "$hn" "$push" "$deployed" "${rss:-?}" \
        "$alive" "$([ "$oom" = 0 ] && echo "" || echo ", $oom OOM lines")" "$cpu%" "$load0" \
        "$(cut -d' ' -f1 /proc/loadavg)" "$verdict" >> "$LW/rows.tsv"
    log "$pass $attack: $verdict; /health max $hmax ms, p99 $hp99 ms, $hfail failed; push $push, $deployed; RSS ${rss:-?} MiB"
    # let the attack's connections drain before the next one
    "$PY" "$LIB/probe.py" health "$DPORT" 30 "$DPID" > /dev/null || true
}

render() {
    awk -F'\t' '
        BEGIN { split("path|attack|what the attackers got|/health ms max / p99|signed push|RSS max MiB|alive|daemon CPU|load 1-min start -> end|result", h, "|") }
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
        END {
            for (i = 1; i <= 10; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
            line = "|"; sep = "|"
            for (i = 1; i <= 10; i++) { line = line sprintf(" %-" w[i] "s |", h[i]); s = ""; for (j = 0; j < w[i]; j++) s = s "-"; sep = sep " " s " |" }
            print line; print sep
            for (r = 1; r <= n; r++) { line = "|"; for (i = 1; i <= 10; i++) line = line sprintf(" %-" w[i] "s |", c[r, i]); print line }
        }' "$1"
}

main_load() {
    check_tools
    mkdir -p "$WORK"
    rm -rf "$LW"
    mkdir -p "$LW"
    ensure_jar
    setup_git_env
    ensure_repos "$SIZE"
    sync_repos "$SIZE"
    DIED=0
    local started pass attack
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    log "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); $ATTACK_SECONDS s per attack"
    ensure_daemon
    start_nginx
    : > "$LW/rows.tsv"
    for pass in $PASSES; do
        for attack in $ATTACKS; do
            run_attack "$pass" "$attack"
        done
    done
    {
        echo "- date: $started; $ATTACK_SECONDS s per attack; load average (1, 5, 15 min) at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); $(java -version 2>&1 | head -1); $("$NGINX" -v 2>&1)"
        echo "- jar: $(basename "$JAR") built from $JAR_SOURCE; JVM options: \`$(unit_jvm_opts | sed "s|$WORK|bench/work|")\`"
        echo "- pullhook restarted after dying: $DIED times; NGINX's HSTS header: \`$HSTS\`"
        echo
        render "$LW/rows.tsv"
    } > "$LW/results.md"
    echo
    cat "$LW/results.md"
    log "results: $LW/results.md; logs: $DLOG, $LW/error.log, $LW/*.json"
    ! grep -q $'\tFAIL$' "$LW/rows.tsv"
}

main_load "$@"
