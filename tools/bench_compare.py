#!/usr/bin/env python3
"""Per-benchmark change between two qk-bench runs (Google Benchmark JSON), so throughput is
tracked across commits.

    tools/bench_compare.py OLD.json NEW.json [--threshold 5] [--all] [--fail-on-regression]

For every benchmark with a number in both runs: old and new median GOPS and the change. Changes
beyond the threshold (default 5 %) are flagged REGRESSION / faster; a flag is marked "(noisy)" when
either run's repetitions varied by more than the change (coefficient of variation), since then it
may be noise. Benchmarks that appear, disappear or change state (ok / wrong / n/a) are listed.
Geometric-mean change per implementation at the end. Exit status 1 with --fail-on-regression when
a qk row regressed beyond the threshold and not within noise.
"""
import argparse
import math
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_table import load  # noqa: E402


def impl_of(r):
    if r.kind == "conv":
        return r.impl + (f" {r.mode}" if r.mode else "") + (f" t{r.threads}" if r.threads > 1 else "")
    return f"{r.kind} {r.impl}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--threshold", type=float, default=5.0, help="percent (default 5)")
    ap.add_argument("--all", action="store_true", help="print unchanged rows too")
    ap.add_argument("--fail-on-regression", action="store_true")
    a = ap.parse_args()
    old_ctx, old = load(a.old)
    new_ctx, new = load(a.new)
    print(f"old: {a.old} ({old_ctx.get('date', '?')}, {old_ctx.get('qk_cpu', '?')}, "
          f"commit {old_ctx.get('git_commit', '?')})")
    print(f"new: {a.new} ({new_ctx.get('date', '?')}, {new_ctx.get('qk_cpu', '?')}, "
          f"commit {new_ctx.get('git_commit', '?')})")
    if old_ctx.get("qk_cpu") != new_ctx.get("qk_cpu"):
        print("warning: different CPUs; only ratios measured in one run are comparable")
    print()
    width = max([len(n) for n in new] + [10])
    print(f"{'benchmark':<{width}} {'old':>8} {'new':>8} {'change':>8}")
    per_impl = OrderedDict()
    regressions = 0
    shown = 0
    added = []
    for name, n in new.items():
        o = old.get(name)
        if o is None:
            added.append(name)
            continue
        if o.gops is None or n.gops is None:
            if o.status != n.status:
                ov = f"{o.gops:.1f}" if o.gops else o.status
                nv = f"{n.gops:.1f}" if n.gops else n.status
                print(f"{name:<{width}} {ov:>8} {nv:>8}  state changed")
            continue
        change = 100.0 * (n.gops / o.gops - 1.0)
        per_impl.setdefault(impl_of(n), []).append(n.gops / o.gops)
        noise = 100.0 * max(o.cv or 0.0, n.cv or 0.0)
        flag = ""
        if change < -a.threshold:
            flag = "REGRESSION"
            if noise > abs(change):
                flag += " (noisy)"
            elif n.is_qk() or n.kind == "gemm":
                regressions += 1
        elif change > a.threshold:
            flag = "faster" + (" (noisy)" if noise > abs(change) else "")
        if flag or a.all:
            shown += 1
            print(f"{name:<{width}} {o.gops:8.1f} {n.gops:8.1f} {change:+7.1f}%  {flag}")
    gone = [name for name in old if name not in new]
    for label, names in (("only in the new run", added), ("only in the old run", gone)):
        if names and (a.all or len(names) <= 10):
            for name in names:
                print(f"{name:<{width}} {'':>8} {'':>8}  {label}")
        elif names:
            print(f"({len(names)} benchmarks {label}: filtered, quick or changed suite; --all lists them)")
    if not shown:
        print(f"(no benchmark changed by more than {a.threshold:g} %)")
    print()
    print("geometric-mean change per implementation:")
    for impl, ratios in per_impl.items():
        g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"  {impl:<40} {100 * (g - 1):+6.1f}%  ({len(ratios)} benchmarks)")
    peak = [n.gops / old[k].gops for k, n in new.items()
            if n.kind == "peak" and n.gops and k in old and old[k].gops]
    if peak and max(abs(p - 1) for p in peak) > 0.05:
        print(f"\nnote: the peak loops themselves changed by {100 * (min(peak) - 1):+.0f}% to "
              f"{100 * (max(peak) - 1):+.0f}%: the machine was not equally busy in both runs, so "
              f"compare ratios within each run rather than absolute numbers")
    if regressions:
        print(f"\n{regressions} qk benchmark(s) regressed by more than {a.threshold:g} % (beyond noise)")
    if a.fail_on_regression and regressions:
        sys.exit(1)


if __name__ == "__main__":
    main()
