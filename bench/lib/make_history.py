#!/usr/bin/env python3
"""Writes a deterministic `git fast-import` stream for one bench repository to stdout.

The first commit adds every file; each later commit changes a few of them (and, when the repository has
binaries, every 25th commit replaces one). Content, paths, authors and dates come only from the
arguments and a fixed seed, so two generations give the same commit ids. It knows nothing of pullhook.

    make_history.py FILES COMMITS BINARIES SEED | git -C origin.git fast-import --quiet
"""
import random
import sys

EPOCH = 1700000000          # 2023-11-14T22:13:20Z: the first commit's date; each next one is 60 s later
AUTHOR = "Bench Author <bench@example.invalid>"
BINARY_BYTES = 100 * 1024
WORDS = ("def class return import value index result config deploy branch remote commit fetch reset "
         "tree blob path name count error check state queue worker thread server client request "
         "response header body token secret signature payload event host push merge update delete "
         "create public private static final void int long string list map set get put").split()


def text_path(i):
    d = i // 25                                   # 25 files a folder, 40 folders a group
    return "src/g%03d/d%02d/file%05d.txt" % (d // 40, d % 40, i)


def binary_path(i):
    return "assets/blob%03d.bin" % i


def text_content(rng, i, version):
    lines = ["# file %d version %d" % (i, version)]
    for _ in range(rng.randint(8, 40)):
        lines.append(" ".join(rng.choices(WORDS, k=rng.randint(3, 12))))
    return ("\n".join(lines) + "\n").encode()


def main():
    files, commits, binaries, seed = (int(a) for a in sys.argv[1:5])
    rng = random.Random(seed)
    out = sys.stdout.buffer
    versions = [0] * files

    def blob(data):
        out.write(b"data %d\n" % len(data))
        out.write(data)
        out.write(b"\n")

    def commit(n, message, changes):
        when = EPOCH + 60 * n
        out.write(b"commit refs/heads/main\n")
        out.write(("author %s %d +0000\ncommitter %s %d +0000\n" % (AUTHOR, when, AUTHOR, when)).encode())
        blob(message.encode())
        if n == 0:
            out.write(b"deleteall\n")
        for path, data in changes:
            out.write(("M 100644 inline %s\n" % path).encode())
            blob(data)
        out.write(b"\n")

    first = [(text_path(i), text_content(rng, i, 0)) for i in range(files)]
    first += [(binary_path(b), rng.randbytes(BINARY_BYTES)) for b in range(binaries)]
    commit(0, "initial import: %d files\n" % (files + binaries), first)
    for n in range(1, commits):
        changes = []
        for i in sorted(set(rng.randrange(files) for _ in range(rng.randint(1, 8)))):
            versions[i] += 1
            changes.append((text_path(i), text_content(rng, i, versions[i])))
        if binaries and n % 25 == 0:
            changes.append((binary_path(rng.randrange(binaries)), rng.randbytes(BINARY_BYTES)))
        commit(n, "change %d: %d files\n" % (n, len(changes)), changes)
    out.write(b"done\n")


if __name__ == "__main__":
    main()
