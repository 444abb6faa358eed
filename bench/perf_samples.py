"""Samples of `perf script -F comm,ip,sym,dso`, put in classes: the bench/*-profile.sh scripts share this.

Each sample is a block (a line with the thread's name, then its stack, innermost frame first, one line each) and
blocks are separated by empty lines. A sample goes to the first class whose match(comm, stack) holds; a sample no class
takes goes to `default`.
"""
import collections


def classify(stream, classes, default):
    """Counts of samples per class name (plus `default`), and the number of samples: classes are (name, match) pairs."""
    counts, total = collections.Counter(), 0
    for block in stream.read().split("\n\n"):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        total += 1
        comm, stack = lines[0], lines[1:]
        counts[next((name for name, match in classes if match(comm, stack)), default)] += 1
    return counts, total
