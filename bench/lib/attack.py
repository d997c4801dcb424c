#!/usr/bin/env python3
"""Hostile HTTP clients for bench/load.sh: each runs for a fixed time and prints one JSON summary line.

    attack.py big    HOST PORT TLS SECONDS CLIENTS [SIZE]   CLIENTS connections, each sending unsigned
                     SIZE-byte bodies (default 5 MiB) one after the other, as fast as they go
    attack.py idle   HOST PORT TLS SECONDS CLIENTS          CLIENTS keep-alive connections that send one
                     GET, then sit idle; one the server closes is opened again after 0.2 s
    attack.py slow   HOST PORT TLS SECONDS CLIENTS [RATE]   CLIENTS connections that announce a body (every
                     other one 1,000 bytes, the rest 1 MiB) and send it at RATE bytes/s (default 10); one the
                     server cuts off is opened again after 0.2 s
    attack.py flood  HOST PORT TLS SECONDS RATE [CONNS]     RATE unsigned small POSTs per second in all, over
                     CONNS keep-alive connections (default 32)
    attack.py health HOST PORT SECONDS [INTERVAL]           GET /health on a new connection every INTERVAL
                     seconds (default 0.1); prints the latencies (ms) of every sample, failures as -1
    attack.py push   HOST PORT TLS SECRET_FILE TIP          one GitHub push webhook for commit TIP, signed with
                     the secret in SECRET_FILE (never on a command line); prints the status code
    attack.py report ATTACK.json HEALTH.json                one line for load.sh's table: the attackers'
                     answers, and /health's max and p99 latency and failures

TLS is 0 or 1 (1: HTTPS without certificate checks, for the bench's self-signed NGINX). Only for loopback
addresses: HOST must be 127.0.0.1 or ::1. Every read has a timeout, so nothing here runs past its time by
more than a few seconds. The summaries count answers by status code and connections by how they ended.
"""
import asyncio
import hashlib
import hmac
import json
import socket
import ssl
import sys
import time
from collections import Counter

LOOPBACK = ("127.0.0.1", "::1")
BAD_SIGNATURE = "sha256=" + "0" * 64
READ_TIMEOUT = 10.0


_TLS = []


def tls_context(tls):
    """One context for all connections: making one loads the system's CA list, milliseconds of CPU each."""
    if not tls:
        return None
    if not _TLS:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _TLS.append(ctx)
    return _TLS[0]


async def connect(host, port, tls):
    return await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=tls_context(tls), server_hostname="localhost" if tls else None),
        READ_TIMEOUT)


def head(method, path, host, length=None, extra=(), close=False):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + ("[%s]" % host if ":" in host else host),
             "User-Agent: pullhook-bench-attack"]
    lines += list(extra)
    if length is not None:
        lines.append("Content-Length: %d" % length)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader, head_timeout=READ_TIMEOUT):
    """Reads one response; returns (status, keep_alive). Raises on a closed connection or a timeout."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), head_timeout)
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), READ_TIMEOUT)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await asyncio.wait_for(reader.readline(), READ_TIMEOUT)).split(b";")[0].strip(), 16)
            await asyncio.wait_for(reader.readexactly(size + 2), READ_TIMEOUT)
            if size == 0:
                break
    else:
        return status, False
    return status, headers.get("connection", "").lower() != "close"


def close(writer):
    try:
        writer.transport.abort()
    except Exception:
        pass


def outcome(e):
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    if isinstance(e, (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError)):
        return "closed"
    return type(e).__name__


# --------------------------------------------------------------------------------------------- the attacks

async def big(host, port, tls, seconds, clients, size=5 * 1024 * 1024):
    body = b"{" + b" " * (size - 2) + b"}"
    request = head("POST", "/pull-repo", host, size, ("Content-Type: application/json", "X-GitHub-Event: push",
                                                      "X-Hub-Signature-256: " + BAD_SIGNATURE), close=True)
    codes, ends = Counter(), Counter()
    end = time.monotonic() + seconds

    async def one():
        while time.monotonic() < end:
            writer = None
            try:
                reader, writer = await connect(host, port, tls)
                answer = asyncio.ensure_future(read_response(reader, seconds + READ_TIMEOUT))
                writer.write(request)
                writer.write(body)
                try:
                    await asyncio.wait_for(writer.drain(), 30)
                except (ConnectionError, OSError, asyncio.TimeoutError):
                    pass  # answered (and closed) before the whole body was sent: the answer tells
                status, _ = await answer
                codes[status] += 1
            except Exception as e:  # noqa: BLE001 - every way a connection ends is counted
                ends[outcome(e)] += 1
                await asyncio.sleep(0.05)
            finally:
                if writer is not None:
                    close(writer)

    await asyncio.gather(*(one() for _ in range(clients)))
    return {"answers": dict(codes), "failed": dict(ends)}


async def idle(host, port, tls, seconds, clients):
    path = "/" if tls else "/health"  # through NGINX every path but /pull-repo is a 404 from NGINX itself
    request = head("GET", path, host)
    codes, ends = Counter(), Counter()
    opened = [0]
    open_now = [0]
    peak = [0]
    end = time.monotonic() + seconds

    async def one(i):
        await asyncio.sleep(i * 0.005)  # 1,000 handshakes spread over 5 s: the connections are the attack, not the ramp
        while time.monotonic() < end:
            writer = None
            try:
                reader, writer = await connect(host, port, tls)
                opened[0] += 1
                open_now[0] += 1
                peak[0] = max(peak[0], open_now[0])
                try:
                    writer.write(request)
                    status, _ = await read_response(reader)
                    codes[status] += 1
                    left = end - time.monotonic()
                    if left > 0:
                        data = await asyncio.wait_for(reader.read(1), left)
                        ends["closed by server" if not data else "unexpected bytes"] += 1
                finally:
                    open_now[0] -= 1
            except asyncio.TimeoutError:
                if time.monotonic() < end:
                    ends["timeout"] += 1  # else: the time is over with the connection still open
            except Exception as e:  # noqa: BLE001
                ends[outcome(e)] += 1
            finally:
                if writer is not None:
                    close(writer)
            if time.monotonic() < end:
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(i) for i in range(clients)))
    return {"answers": dict(codes), "ended": dict(ends), "connections opened": opened[0], "peak open": peak[0]}


async def slow(host, port, tls, seconds, clients, rate=10):
    codes, ends = Counter(), Counter()
    lasted = []
    end = time.monotonic() + seconds

    async def one(i):
        size = 1000 if i % 2 == 0 else 1024 * 1024
        request = head("POST", "/pull-repo", host, size, ("Content-Type: application/json",
                                                          "X-Hub-Signature-256: " + BAD_SIGNATURE))
        await asyncio.sleep(i * 0.01)
        while time.monotonic() < end:
            writer = None
            t0 = time.monotonic()
            try:
                reader, writer = await connect(host, port, tls)
                answer = asyncio.ensure_future(read_response(reader, seconds + READ_TIMEOUT))
                writer.write(request)
                sent = 0
                while sent < size and time.monotonic() < end and not answer.done():
                    writer.write(b" ")
                    await writer.drain()
                    sent += 1
                    await asyncio.sleep(1.0 / rate)
                if answer.done() or sent >= size:
                    status, _ = await answer
                    codes[status] += 1
                else:
                    answer.cancel()
            except Exception as e:  # noqa: BLE001
                ends[outcome(e)] += 1
                lasted.append(time.monotonic() - t0)  # cut off: how long it was let trickle
            finally:
                if writer is not None:
                    close(writer)
            if time.monotonic() < end:
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(i) for i in range(clients)))
    lasted.sort()
    return {"answers": dict(codes), "failed": dict(ends),
            "cut off after s (median, max)": [round(lasted[len(lasted) // 2], 1), round(lasted[-1], 1)] if lasted else None}


async def flood(host, port, tls, seconds, rate, conns=32):
    body = b'{"zen":"Keep it logically awesome.","hook_id":1}'
    request = head("POST", "/pull-repo", host, len(body), ("Content-Type: application/json", "X-GitHub-Event: ping",
                                                           "X-Hub-Signature-256: " + BAD_SIGNATURE)) + body
    codes, ends = Counter(), Counter()
    interval = conns / float(rate)
    end = time.monotonic() + seconds

    async def one(i):
        await asyncio.sleep(interval * i / conns)
        writer = None
        next_at = time.monotonic()
        while time.monotonic() < end:
            try:
                if writer is None:
                    reader, writer = await connect(host, port, tls)
                writer.write(request)
                status, keep = await read_response(reader)
                codes[status] += 1
                if not keep:
                    close(writer)
                    writer = None
            except Exception as e:  # noqa: BLE001
                ends[outcome(e)] += 1
                if writer is not None:
                    close(writer)
                writer = None
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            else:
                next_at = time.monotonic()  # behind: don't make up for it in a burst
        if writer is not None:
            close(writer)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(conns)))
    took = time.monotonic() - t0
    total = sum(codes.values())
    return {"answers": dict(codes), "failed": dict(ends), "answered per s": round(total / took)}


def health(host, port, seconds, interval=0.1):
    """Blocking on purpose: one probe at a time, timed from connect to the last byte of the answer."""
    request = head("GET", "/health", host, close=True)
    end = time.monotonic() + seconds
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    samples = []
    next_at = time.monotonic()
    while time.monotonic() < end:
        t0 = time.monotonic()
        ok = False
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(5.0)
                s.connect((host, port))
                s.sendall(request)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                ok = data.startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        samples.append(round((time.monotonic() - t0) * 1000, 1) if ok else -1)
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.monotonic()
    return samples


def push(host, port, tls, secret_file, tip):
    with open(secret_file, "rb") as f:
        secret = f.read().strip()
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 39 + "1", "after": tip, "deleted": False,
                       "repository": {"full_name": "bench/site"}}).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    request = head("POST", "/pull-repo", host, len(body), (
        "Content-Type: application/json", "X-GitHub-Event: push", "X-GitHub-Delivery: load-%d" % time.time_ns(),
        "X-Hub-Signature-256: " + signature), close=True) + body

    async def send():
        reader, writer = await connect(host, port, tls)
        try:
            writer.write(request)
            status, _ = await read_response(reader)
            return status
        finally:
            close(writer)

    try:
        return asyncio.run(send())
    except Exception as e:  # noqa: BLE001 - the table says how it failed
        return outcome(e)


def report(attack_file, health_file):
    with open(attack_file) as f:
        attack = json.load(f)
    with open(health_file) as f:
        samples = json.load(f)
    parts = ["%s x%d" % (k, v) for k, v in sorted(attack.get("answers", {}).items())]
    for key in ("failed", "ended"):
        parts += ["%s x%d" % (k, v) for k, v in sorted(attack.get(key, {}).items())]
    for key in ("peak open", "answered per s", "cut off after s (median, max)"):
        if key in attack:
            parts.append("%s %s" % (key, attack[key]))
    ok = sorted(x for x in samples if x >= 0)
    failed = len(samples) - len(ok)
    p99 = ok[max(0, int(round(len(ok) * 0.99)) - 1)] if ok else -1
    print("%s\t%s\t%s\t%s\t%d\t%d" % ("; ".join(parts) or "-", max(ok) if ok else -1, p99,
                                     ok[len(ok) // 2] if ok else -1, failed, len(samples)))


def main(argv):
    what, host = argv[1], argv[2]
    if what == "report":
        report(argv[2], argv[3])
        return
    if host not in LOOPBACK:
        sys.exit("attack.py: only 127.0.0.1 or ::1, not " + host)
    port = int(argv[3])
    if what == "health":
        print(json.dumps(health(host, port, float(argv[4]), *(float(a) for a in argv[5:]))))
        return
    if what == "push":
        print(push(host, port, argv[4] == "1", argv[5], argv[6]))
        return
    tls, seconds, rest = argv[4] == "1", float(argv[5]), [int(a) for a in argv[6:]]
    attacks = {"big": big, "idle": idle, "slow": slow, "flood": flood}
    if what not in attacks:
        sys.exit(__doc__)
    print(json.dumps(asyncio.run(attacks[what](host, port, tls, seconds, *rest))))


if __name__ == "__main__":
    main(sys.argv)
