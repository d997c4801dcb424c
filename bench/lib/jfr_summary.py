#!/usr/bin/env python3
"""Summarises JFR execution samples (`jfr print --json --stack-depth 64 --events jdk.ExecutionSample`, on
stdin) per thread group: how many samples each group got, then its hottest methods, inclusive (the method
or anything it called was running) and self (the method itself was running). Used by bench/run.sh with
PROFILE=1. A sample is one look at a running Java thread, about every 10-20 ms; time in native code
(socket and file writes) does not show here.
"""
import collections
import json
import re
import sys

TOP_INCLUSIVE = 30
TOP_SELF = 12
# frames every sample of a group shares (thread pools, Jetty's dispatch) say nothing: keep the first
# application or library frame below them by skipping these prefixes in the inclusive list
BORING = re.compile(r"^(java/lang/Thread\.|java/util/concurrent/|org/eclipse/jetty/util/thread/)")


def group(thread):
    # "http-12" -> "http", "JGit-WorkQueue" stays whole
    return re.sub(r"-\d+$", "", thread or "?")


def main():
    events = json.load(sys.stdin)["recording"]["events"]
    per_group = collections.Counter()
    inclusive = collections.defaultdict(collections.Counter)
    self_time = collections.defaultdict(collections.Counter)
    for e in events:
        v = e["values"]
        g = group((v.get("sampledThread") or {}).get("javaName"))
        frames = (v.get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        names = [f["method"]["type"]["name"] + "." + f["method"]["name"] for f in frames]
        per_group[g] += 1
        self_time[g][names[0]] += 1
        for name in set(names):
            if not BORING.match(name):
                inclusive[g][name] += 1
    total = sum(per_group.values())
    print("execution samples: %d" % total)
    for g, n in per_group.most_common():
        print("  %-24s %6d  %5.1f%%" % (g, n, 100.0 * n / total))
    for g, n in per_group.most_common(4):
        print("\n== %s: %d samples, hottest inclusive" % (g, n))
        for name, c in inclusive[g].most_common(TOP_INCLUSIVE):
            print("  %5.1f%%  %s" % (100.0 * c / n, name))
        print("-- %s: hottest self" % g)
        for name, c in self_time[g].most_common(TOP_SELF):
            print("  %5.1f%%  %s" % (100.0 * c / n, name))


if __name__ == "__main__":
    main()
