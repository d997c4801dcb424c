#!/usr/bin/env python3
"""Small HTTP clients for bench/run.sh, where a curl loop would add process start-ups to what is timed.

    probe.py health PORT TIMEOUT_S [PID]
        polls GET /health every 5 ms; prints the wall-clock time (epoch seconds) of the first 200.
        Gives up early when process PID has exited.
    probe.py idle PORT TIMEOUT_S
        polls GET /status every 10 ms until the deploy queue is idle (the daemon's own start-up work,
        such as a deploy-on-start check, is done); prints the seconds it waited.
    probe.py up PORT TIMEOUT_S
        waits until PORT accepts a TCP connection (for servers without /health).
    probe.py sign SECRET_FILE
        prints the hex HMAC-SHA256 of an empty body, for the X-Hub-Signature-256 of a manual deploy
        (what daemons before the X-Pullhook-Auth proof accept).
    probe.py manual SECRET_FILE PATH
        prints a fresh X-Pullhook-Auth value (time, random nonce, HMAC) for a manual POST of an empty body
        to PATH: what the daemon asks of a manual deploy since issue 17.
    probe.py burst PORT N SECRET_FILE TIP TIMEOUT_S
        sends N GitHub-shaped push webhooks for TIP at once (one thread each, released together), then
        polls GET /status every 50 ms until the deploy queue is idle and a deploy to TIP is done. Prints one JSON
        object: status codes, time of the last answer, time until TIP is deployed, deploys run.
    probe.py push PORT SECRET_FILE TIP TIMEOUT_S
        sends one signed GitHub push webhook for TIP to /pull-repo?wait=true on a new connection and prints
        "STATUS TOTAL_MS DEPLOY_MS": the answer's status, the time from connecting to the end of the answer,
        and the deploy's own "ms" from the answer (bench/tricks.sh: the first webhook after a start).

Only talks to 127.0.0.1. The secret is read from its file, never taken from the command line.
"""
import hashlib
import hmac
import http.client
import json
import socket
import sys
import threading
import time
import uuid

HOST = "127.0.0.1"


def get(port, path, timeout=2.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def exited(pid):
    """True when PID is gone or a zombie (it exited, and its parent has not reaped it yet)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def health(port, timeout_s, pid=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pid is not None and exited(pid):
            print("process %d exited before answering /health" % pid, file=sys.stderr)
            return 1
        try:
            status, _ = get(port, "/health", timeout=1.0)
            if status == 200:
                print("%.6f" % time.time())
                return 0
        except OSError:
            pass
        time.sleep(0.005)
    print("no /health answer on port %d within %s s" % (port, timeout_s), file=sys.stderr)
    return 1


def up(port, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1.0).close()
            return 0
        except OSError:
            time.sleep(0.02)
    print("nothing listens on port %d after %s s" % (port, timeout_s), file=sys.stderr)
    return 1


def idle(port, timeout_s):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if status(port).get("state") == "idle":
            print("%.3f" % (time.monotonic() - t0))
            return 0
        time.sleep(0.01)
    print("the deploy queue on port %d is still busy after %s s" % (port, timeout_s), file=sys.stderr)
    return 1


def read_secret(secret_file):
    with open(secret_file, "rb") as f:
        return f.read().strip()


def manual_proof(secret, path, body):
    """X-Pullhook-Auth: t=<unix>, n=<nonce>, v1=<hex HMAC-SHA256 of pullhook-v1\\nPOST\\n<path>\\n<t>\\n<n>\\n<sha256(body)>>."""
    t = int(time.time())
    n = uuid.uuid4().hex
    message = "pullhook-v1\nPOST\n%s\n%d\n%s\n%s" % (path, t, n, hashlib.sha256(body).hexdigest())
    return "t=%d, n=%s, v1=%s" % (t, n, hmac.new(secret, message.encode(), hashlib.sha256).hexdigest())


def status(port):
    code, body = get(port, "/status", timeout=5.0)
    if code != 200:
        raise RuntimeError("GET /status answered %d" % code)
    return json.loads(body)


def burst(port, n, secret_file, tip, timeout_s):
    secret = read_secret(secret_file)
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 39 + "1", "after": tip,
                       "deleted": False}).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    known = {d["id"] for d in status(port)["deploys"]}

    # connect first, so the burst measures requests rather than TCP handshakes
    conns = [http.client.HTTPConnection(HOST, port, timeout=timeout_s) for _ in range(n)]
    for c in conns:
        c.connect()
    gate = threading.Barrier(n + 1)
    codes = [None] * n
    answered = [0.0] * n

    def send(i):
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature}
        gate.wait()
        try:
            conns[i].request("POST", "/pull-repo", body=body, headers=headers)
            resp = conns[i].getresponse()
            resp.read()
            codes[i] = resp.status
        except OSError as e:
            codes[i] = "error: %s" % e
        answered[i] = time.monotonic()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout_s)
    last_answer = max(answered) - t0

    deployed_at = None
    deadline = t0 + timeout_s
    while time.monotonic() < deadline:
        s = status(port)
        if s["state"] == "idle" and any(d["to"] and tip.startswith(d["to"]) and d["outcome"] == "deployed"
                                        for d in s["deploys"] if d["id"] not in known):
            deployed_at = time.monotonic() - t0
            break
        # gently: each /status costs the daemon a few ms (its history of deploys and deliveries, about 26 KB
        # after a burst), and a tight loop would take CPU from the deploy being measured
        time.sleep(0.05)
    new = [d for d in status(port)["deploys"] if d["id"] not in known]
    for c in conns:
        c.close()
    print(json.dumps({
        "codes": codes,
        "answered_all_s": round(last_answer, 4),
        "deployed_s": None if deployed_at is None else round(deployed_at, 4),
        "deploys": len(new),
        "deploy_ids": sorted(d["id"] for d in new),
        "deploy_ms": [d["ms"] for d in sorted(new, key=lambda d: d["id"])],
    }))
    return 0


def push(port, secret_file, tip, timeout_s):
    secret = read_secret(secret_file)
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 39 + "1", "after": tip,
                       "deleted": False}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
               "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    t0 = time.monotonic()
    try:
        conn.request("POST", "/pull-repo?wait=true", body=body, headers=headers)
        resp = conn.getresponse()
        answer = resp.read()
    finally:
        conn.close()
    total_ms = (time.monotonic() - t0) * 1000
    try:
        deploy_ms = json.loads(answer).get("ms", 0)
    except ValueError:
        deploy_ms = 0
    print("%d %.1f %s" % (resp.status, total_ms, deploy_ms))
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "health":
        return health(int(argv[2]), float(argv[3]), int(argv[4]) if len(argv) > 4 else None)
    if len(argv) >= 4 and argv[1] == "idle":
        return idle(int(argv[2]), float(argv[3]))
    if len(argv) >= 4 and argv[1] == "up":
        return up(int(argv[2]), float(argv[3]))
    if len(argv) >= 3 and argv[1] == "sign":
        print(hmac.new(read_secret(argv[2]), b"", hashlib.sha256).hexdigest())
        return 0
    if len(argv) >= 4 and argv[1] == "manual":
        print(manual_proof(read_secret(argv[2]), argv[3], b""))
        return 0
    if len(argv) >= 7 and argv[1] == "burst":
        return burst(int(argv[2]), int(argv[3]), argv[4], argv[5], float(argv[6]))
    if len(argv) >= 6 and argv[1] == "push":
        return push(int(argv[2]), argv[3], argv[4], float(argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
