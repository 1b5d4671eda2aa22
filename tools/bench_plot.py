#!/usr/bin/python3
"""Bar chart of qk-bench's conv2d results: one group of bars per layer, one bar per
implementation (qk per ISA in its default mode, every peer that produced a number), log scale,
1 thread. Peers' "wrong" and "n/a" cells have no bar (the Markdown table says why).

    tools/bench_plot.py qk-bench.json plot.png      (Debian's python3-matplotlib)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_table import geomean, impl_title, load  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    context, results = load(sys.argv[1])
    rows = [r for r in results.values() if r.kind == "conv" and not r.mode and r.threads == 1]
    shapes = list(dict.fromkeys(r.key for r in rows))
    impls = list(dict.fromkeys(r.impl for r in rows if r.gops))
    impls.sort(key=lambda i: (not next(r for r in rows if r.impl == i).is_qk()))
    get = {(r.key, r.impl): r.gops for r in rows if r.gops}
    labels = shapes + ["geomean"]
    fig, ax = plt.subplots(figsize=(max(10, 1.0 * len(labels)), 5.5))
    width = 0.85 / max(1, len(impls))
    cmap = plt.get_cmap("tab10")
    for j, impl in enumerate(impls):
        vals = [get.get((s, impl)) for s in shapes]
        vals.append(geomean([v for v in vals if v]) if all(vals) else None)
        xs = [i + (j - (len(impls) - 1) / 2) * width for i in range(len(labels))]
        ax.bar([x for x, v in zip(xs, vals) if v], [v for v in vals if v], width,
               label=impl_title(impl), color=cmap(j % 10),
               edgecolor="black" if next(r for r in rows if r.impl == impl).is_qk() else None,
               linewidth=0.6)
    ax.set_yscale("log")
    ax.set_ylabel("GOPS (2 x MACs / s), log scale")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(len(impls), 5), loc="upper center", bbox_to_anchor=(0.5, -0.2),
              frameon=False)
    ax.set_title(f"qk conv2d vs peers, batch 1, 1 thread - {context.get('qk_cpu', '?')}, "
                 f"{context.get('date', '')[:10]} (median; bars missing = wrong or n/a)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(f"bench_plot.py: wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
