#!/usr/bin/env python3
"""Replaces fuzz/corpus/<target>/ with the N inputs that add the most edge coverage
on top of fuzz/seeds/<target>/ (greedy set cover), picked from the given directories.

`cargo fuzz cmin` keeps every input that adds a feature (hundreds to thousands of
files here); this keeps the repository corpus small at the cost of some edges.

    python3 pick_corpus.py <target> <n> <dir>...

Run from fuzz/ after `RUSTC_BOOTSTRAP=1 cargo fuzz build <target>`. Python 3 stdlib only.
"""

import os
import shutil
import subprocess
import sys
import tempfile

TRIPLE = "x86_64-unknown-linux-gnu"


def edges(binary, path, scratch):
    """The coverage edges of one input, from a one-file libFuzzer merge."""
    inp, out, ctl = (os.path.join(scratch, n) for n in ("in", "out", "ctl"))
    for d in (inp, out):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    if os.path.exists(ctl):
        os.remove(ctl)  # an existing control file would be resumed, not rewritten
    shutil.copy(path, inp)
    subprocess.run(
        [binary, "-merge=1", "-use_counters=0", f"-merge_control_file={ctl}", out, inp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    with open(ctl) as f:
        for line in f:
            if line.startswith("COV "):
                return set(map(int, line.split()[2:]))
    return set()


def files(d):
    return sorted(
        os.path.join(d, n) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))
    )


def main():
    target, n, dirs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    binary = os.path.join("target", TRIPLE, "release", target)
    seeds = os.path.join("seeds", target)
    corpus = os.path.join("corpus", target)
    with tempfile.TemporaryDirectory() as scratch:
        # libFuzzer's own set cover first, to cut thousands of inputs to hundreds.
        merged = os.path.join(scratch, "merged")
        os.makedirs(merged)
        subprocess.run(
            [binary, "-set_cover_merge=1", "-use_counters=0", merged, *dirs],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        cov = {p: edges(binary, p, scratch) for p in files(merged)}
        got = set().union(set(), *(edges(binary, p, scratch) for p in files(seeds)))
        seeded = len(got)
        total = len(got.union(*cov.values()))
        chosen = []
        while len(chosen) < n and cov:
            best = max(cov, key=lambda p: (len(cov[p] - got), -os.path.getsize(p)))
            if not cov[best] - got:
                break
            got |= cov.pop(best)
            chosen.append(best)
        shutil.rmtree(corpus, ignore_errors=True)
        os.makedirs(corpus)
        for p in chosen:
            shutil.copy(p, corpus)
    print(
        f"{target}: seeds cover {seeded} edges; seeds + {len(chosen)} picked cover "
        f"{len(got)} of {total} ({100 * len(got) / total:.1f}%)"
    )


if __name__ == "__main__":
    main()
