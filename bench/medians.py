#!/usr/bin/env python3
"""Medians over bench/run's repetitions.

Each argument is one repetition's results file, a line per figure: figure|database|value|anchor|ratio.
A value may hold several numbers ("49 / 106 / 108 / 108", "3.08; 2938"): the median is taken position
by position when every repetition has the same shape, else the repetitions are listed as they are.
The ratio column is the median of the same-run ratios, not the ratio of the medians.
"""

import re
import statistics
import sys

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def median_of(texts):
    """The text of the first repetition with each number replaced by its median, or None."""
    shapes = {NUMBER.sub("#", t) for t in texts}
    if len(shapes) != 1:
        return None
    columns = list(zip(*(NUMBER.findall(t) for t in texts)))
    if not columns:
        return texts[0]
    medians = []
    for column in columns:
        decimals = max((len(n.split(".")[1]) if "." in n else 0) for n in column)
        m = statistics.median(float(n) for n in column)
        medians.append(f"{m:.{decimals}f}")
    parts = NUMBER.split(texts[0])
    out = parts[0]
    for m, rest in zip(medians, parts[1:]):
        out += m + rest
    return out


def main(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            runs.append([line.rstrip("\n").split("|") for line in f if line.strip()])
    order, by_key = [], {}
    for run in runs:
        for figure, db, value, anchor, ratio in run:
            key = (figure, db)
            if key not in by_key:
                order.append(key)
                by_key[key] = []
            by_key[key].append((value, anchor, ratio))
    print(f"| figure | database | median of {len(runs)} | median anchor | median ratio | each repetition (ratio) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key in order:
        rows = by_key[key]
        values, anchors, ratios = zip(*rows)
        value = median_of(values) or " / ".join(values)
        anchor = median_of(anchors) or " / ".join(anchors)
        ratio = median_of(ratios) or "-"
        each = " · ".join(v if r == "-" else f"{v} ({r})" for v, _, r in rows)
        missing = "" if len(rows) == len(runs) else f" (in {len(rows)} of {len(runs)})"
        print(f"| {key[0]} | {key[1]} | {value}{missing} | {anchor} | {ratio} | {each} |")


if __name__ == "__main__":
    main(sys.argv[1:])
