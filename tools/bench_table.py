#!/usr/bin/env python3
"""Prints a Markdown table from qk-bench's Google Benchmark JSON: one row per layer, one column
per ISA, median GOPS (or the single run's value), geometric means at the bottom.
Usage: tools/bench_table.py qk-bench.json"""
import json
import math
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    gops = {}  # (shape, isa) -> GOPS
    shapes, isas = [], []
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"]).split("/")
        if name[0] != "conv" or len(name) < 3:
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            continue
        shape, isa = name[1], name[2]
        if shape not in shapes:
            shapes.append(shape)
        if isa not in isas:
            isas.append(isa)
        gops[(shape, isa)] = b["GOPS"]  # the counter is already in 1e9 operations per second
    print(f"qk {ctx.get('qk_version', '?')} on {ctx.get('qk_cpu', '?')} "
          f"({ctx.get('qk_cpu_features', '')}), {ctx.get('date', '')}")
    print("GOPS = 2*MACs/s, batch 1, 1 thread, median of repetitions\n")
    print("| shape | " + " | ".join(f"qk {i}" for i in isas) + " |")
    print("|---|" + "--:|" * len(isas))
    for s in shapes:
        cells = [f"{gops[(s, i)]:.1f}" if (s, i) in gops else "-" for i in isas]
        print(f"| {s} | " + " | ".join(cells) + " |")
    means = []
    for i in isas:
        vals = [gops[(s, i)] for s in shapes if (s, i) in gops]
        means.append(f"**{math.exp(sum(map(math.log, vals)) / len(vals)):.1f}**" if vals else "-")
    print("| **geomean** | " + " | ".join(means) + " |")


if __name__ == "__main__":
    main()
