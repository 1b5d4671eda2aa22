#!/usr/bin/env python3
"""Markdown tables from qk-bench's Google Benchmark JSON (the median of the repetitions, or the
single run's value).

    tools/bench_table.py qk-bench.json > table.md

Tables: conv2d per layer (qk per ISA | oneDNN per ISA cap | XNNPACK | ONNX Runtime | qk / best
peer) with geometric means; qk per numerics mode; GEMM microkernels with %peak; measured peaks;
what each implementation ran; how noisy the run was. Cells: GOPS (2 * multiply-adds per second);
"wrong" where a peer's output differs from qk's by more than 1 (oneDNN below VNNI); "n/a" where an
implementation cannot run a configuration or is not installed (the notes say why).

Also a module: load() parses the JSON for bench_plot.py and bench_compare.py.
"""
import json
import math
import re
import sys
from collections import OrderedDict

TIME_SUFFIXES = ("/real_time", "/manual_time")
PEER_ORDER = ["onednn", "xnnpack", "ort"]


def base_name(name):
    for s in TIME_SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


class Result:
    """One benchmark: median GOPS (None if it failed), its state and its label."""

    def __init__(self, name):
        self.name = name
        parts = name.split("/")
        self.kind = parts[0]
        self.key = parts[1] if len(parts) > 1 else ""
        self.impl = parts[2] if len(parts) > 2 else ""
        self.extra = dict(p.split(":", 1) for p in parts[3:] if ":" in p)
        self.mode = self.extra.get("mode", "")
        self.threads = int(self.extra.get("threads", "1"))
        self.gops = None
        self.peak_pct = None
        self.cv = None
        self.error = None
        self.label = ""
        self.runs = []

    @property
    def status(self):
        if self.gops is not None:
            return "ok"
        if self.error and self.error.startswith("wrong"):
            return "wrong"
        return "n/a"

    def is_qk(self):
        return self.kind == "conv" and not any(self.impl.startswith(p) for p in PEER_ORDER)


def load(path):
    """Returns (context, OrderedDict name -> Result) from a Google Benchmark JSON file."""
    with open(path) as f:
        data = json.load(f)
    results = OrderedDict()
    for b in data.get("benchmarks", []):
        name = base_name(b.get("run_name", b["name"]))
        r = results.get(name) or results.setdefault(name, Result(name))
        if b.get("error_occurred"):
            r.error = b.get("error_message", "error")
            continue
        if b.get("label"):
            r.label = b["label"]
        if b.get("run_type") == "aggregate":
            agg = b.get("aggregate_name")
            if agg == "median":
                r.gops = b.get("GOPS")
                r.peak_pct = b.get("%peak")
            elif agg == "cv":
                # cv of a rate counter is the cv of the time; Google Benchmark reports it as a
                # fraction in the counter fields too.
                r.cv = b.get("GOPS")
        else:
            if "GOPS" in b:
                r.runs.append((b["GOPS"], b.get("%peak")))
    for r in results.values():
        if r.gops is None and r.runs and r.error is None:
            runs = sorted(r.runs, key=lambda x: x[0])
            r.gops, r.peak_pct = runs[len(runs) // 2]
            v = [g for g, _ in runs]
            if len(v) > 2:
                mean = sum(v) / len(v)
                r.cv = (sum((x - mean) ** 2 for x in v) / (len(v) - 1)) ** 0.5 / mean
        if r.error:
            r.gops = None
    return data.get("context", {}), results


def geomean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def cell(r):
    if r is None:
        return "-"
    if r.status == "ok":
        return fmt(r.gops)
    return r.status


def impl_title(impl):
    if impl.startswith("onednn"):
        return "oneDNN " + (impl[len("onednn-"):] if "-" in impl else "")
    if impl.startswith("xnnpack-"):
        return "XNNPACK " + impl[len("xnnpack-"):]
    if impl == "ort":
        return "ONNX Runtime"
    return "qk " + impl


def conv_tables(results, context, out):
    conv = [r for r in results.values() if r.kind == "conv"]
    if not conv:
        return
    for threads in sorted({r.threads for r in conv}):
        rows = [r for r in conv if r.threads == threads and not r.mode]
        shapes = list(OrderedDict.fromkeys(r.key for r in rows))
        qk_impls = list(OrderedDict.fromkeys(r.impl for r in rows if r.is_qk()))
        peer_impls = list(OrderedDict.fromkeys(r.impl for r in rows if not r.is_qk()))
        peer_impls.sort(key=lambda i: [i.startswith(p) for p in PEER_ORDER].index(True))
        impls = qk_impls + peer_impls
        get = {(r.key, r.impl): r for r in rows}
        out.append(f"### conv2d, {threads} thread{'s' if threads > 1 else ''} (GOPS, median)\n")
        out.append("| layer | " + " | ".join(impl_title(i) for i in impls) + " | qk / best peer |")
        out.append("|---|" + "--:|" * (len(impls) + 1))
        ratios = []
        for s in shapes:
            cells = [cell(get.get((s, i))) for i in impls]
            best_qk = max((get[(s, i)].gops for i in qk_impls
                           if (s, i) in get and get[(s, i)].gops), default=None)
            best_peer = max((get[(s, i)].gops for i in peer_impls
                             if (s, i) in get and get[(s, i)].gops), default=None)
            ratio = best_qk / best_peer if best_qk and best_peer else None
            ratios.append(ratio)
            cells.append(f"{ratio:.2f}" if ratio else "-")
            out.append(f"| {s} | " + " | ".join(cells) + " |")
        means = []
        for i in impls:
            vals = [get[(s, i)].gops for s in shapes if (s, i) in get and get[(s, i)].gops]
            g = geomean(vals)
            partial = "" if len(vals) == len(shapes) or g is None else f" ({len(vals)}/{len(shapes)})"
            means.append(f"**{fmt(g)}**{partial}" if g else "-")
        g = geomean(ratios)
        means.append(f"**{g:.2f}**" if g else "-")
        out.append("| **geomean** | " + " | ".join(means) + " |")
        out.append("")
        if threads == 1 and any(r.mode for r in conv):
            mode_table(conv, shapes, qk_impls, out)


def mode_table(conv, shapes, qk_impls, out):
    default_mode = "pytorch-fbgemm"
    modes = [default_mode] + list(OrderedDict.fromkeys(r.mode for r in conv if r.mode))
    get = {(r.key, r.impl, r.mode or default_mode): r for r in conv if r.is_qk() and r.threads == 1}
    with_modes = {r.impl for r in conv if r.is_qk() and r.mode}
    cols = [(i, m) for i in qk_impls if i in with_modes for m in modes]
    out.append("### qk per numerics mode, 1 thread (GOPS, median; the epilogue differs per mode)\n")
    out.append("| layer | " + " | ".join(f"{i} {m}" for i, m in cols) + " |")
    out.append("|---|" + "--:|" * len(cols))
    for s in shapes:
        out.append(f"| {s} | " + " | ".join(cell(get.get((s, i, m))) for i, m in cols) + " |")
    means = []
    for i, m in cols:
        g = geomean([get[(s, i, m)].gops for s in shapes if (s, i, m) in get])
        means.append(f"**{fmt(g)}**" if g else "-")
    out.append("| **geomean** | " + " | ".join(means) + " |")
    out.append("")


def gemm_table(results, out):
    rows = [r for r in results.values() if r.kind == "gemm"]
    if not rows:
        return
    sizes = list(OrderedDict.fromkeys(r.key for r in rows))
    isas = list(OrderedDict.fromkeys(r.impl for r in rows))
    get = {(r.key, r.impl): r for r in rows}
    out.append("### GEMM microkernels alone (GOPS, median, and % of the ISA's measured peak)\n")
    out.append("| M x N x K | " + " | ".join(isas) + " |")
    out.append("|---|" + "--:|" * len(isas))
    for s in sizes:
        cells = []
        for i in isas:
            r = get.get((s, i))
            if r and r.gops:
                cells.append(f"{fmt(r.gops)} ({r.peak_pct:.0f}%)" if r.peak_pct else fmt(r.gops))
            else:
                cells.append(cell(r))
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    out.append("")


def peak_table(results, context, out):
    rows = [r for r in results.values() if r.kind == "peak"]
    if not rows:
        return
    out.append("### Measured peak per ISA (register-only loop of its dot-product instruction)\n")
    out.append("| ISA | peak GOPS (best at start) | median GOPS (benchmark) |")
    out.append("|---|--:|--:|")
    for r in rows:
        out.append(f"| {r.key} | {context.get('peak_gops_' + r.key, '-')} | {cell(r)} |")
    out.append("")


def notes(results, context, out):
    conv = [r for r in results.values() if r.kind == "conv"]
    seen = OrderedDict()
    for r in conv:
        if r.is_qk() and not r.label:
            continue
        key = (r.impl, r.mode)
        if r.status == "ok" and key not in seen and not r.is_qk():
            seen[key] = r.label
    if seen:
        out.append("**What ran** (first row of each implementation; per-row details in the JSON):\n")
        for (impl, _), label in seen.items():
            out.append(f"- {impl_title(impl)}: {label}")
        qk_labels = OrderedDict()
        for r in conv:
            if r.is_qk() and r.status == "ok" and not r.mode:
                qk_labels.setdefault(r.label, []).append(f"{r.key}/{r.impl}")
        for label, where in qk_labels.items():
            out.append(f"- qk ({len(where)} rows, e.g. {where[0]}): {label}")
        out.append("")
    problems = OrderedDict()
    for r in conv:
        if r.status != "ok" and r.error:
            msg = re.sub(r"\s+", " ", r.error)
            msg = re.sub(r"max \|diff\| \d+, [\d.]+% of outputs differ", "outputs differ by more than 1",
                         msg)
            msg = re.sub(r" vs qk \[.*\]$", "", msg)  # the implementation string is in the labels
            title = impl_title(r.impl) + (f" {r.mode}" if r.mode else "") + \
                (f", {r.threads} threads" if r.threads > 1 else "")
            problems.setdefault((title, msg), []).append(r)
    if problems:
        out.append("**n/a and wrong cells:**\n")
        for (title, msg), rs in problems.items():
            layers = list(OrderedDict.fromkeys(r.key for r in rs))
            where = f"{len(layers)} layers" if len(layers) > 4 else ", ".join(layers)
            if msg.startswith("wrong"):
                worst = max((int(m.group(1)) for r in rs
                             for m in [re.search(r"max \|diff\| (\d+)", r.error)] if m), default=None)
                if worst:
                    msg += f" (largest difference {worst})"
            out.append(f"- {title} ({where}): {msg}")
        out.append("")
    cvs = sorted((r.cv, r.name) for r in results.values() if r.cv is not None and r.gops)
    load = context.get("load_avg_at_start") or " ".join(f"{x:.2f}" for x in context.get("load_avg", []))
    if cvs:
        med = cvs[len(cvs) // 2][0]
        hi = cvs[-1]
        share = sum(1 for c, _ in cvs if c > 0.05) / len(cvs)
        out.append(f"**Noise:** coefficient of variation of the repetitions: median {100 * med:.1f}%, "
                   f"{100 * share:.0f}% of benchmarks above 5%, worst {100 * hi[0]:.0f}% "
                   f"({hi[1]}). Load average at the start: {load or '?'} on {context.get('num_cpus', '?')} CPUs.")
    else:
        out.append(f"**Noise:** one repetition per benchmark: no spread measured. Load average at the "
                   f"start: {load or '?'} on {context.get('num_cpus', '?')} CPUs.")
    peaks = [r for r in results.values() if r.kind == "peak" and r.gops]
    shares = [r.gops / float(context["peak_gops_" + r.key]) for r in peaks
              if float(context.get("peak_gops_" + r.key, 0) or 0) > 0]
    if shares:
        out.append(f"The peak loops' median reached {100 * min(shares):.0f}-{100 * max(shares):.0f}% of "
                   f"their best 2-ms window: roughly the share of a core the benchmarks got "
                   f"(near 100% on a quiet machine).")
    out.append("")


def render(path):
    context, results = load(path)
    out = []
    out.append(f"qk {context.get('qk_version', '?')} on **{context.get('qk_cpu', '?')}** "
               f"({context.get('num_cpus', '?')} CPUs, {context.get('mhz_per_cpu', '?')} MHz; "
               f"qk features: {context.get('qk_cpu_features', '')}), {context.get('date', '')}"
               + (f", commit {context['git_commit']}" if context.get("git_commit") else ""))
    out.append("")
    out.append(f"GOPS = 2 x multiply-adds per second, batch 1, u8 activations, s8 per-channel "
               f"weights, u8 output. qk ISAs run: {context.get('qk_isas_run', '?')} "
               f"(compiled: {context.get('qk_isas', '?')}); qk's columns use "
               f"{context.get('qk_default_mode', 'pytorch-fbgemm')} numerics. Threads: "
               f"{context.get('bench_threads', '1')} (qk: {context.get('qk_threading', '?')}).")
    out.append("")
    conv_tables(results, context, out)
    gemm_table(results, out)
    peak_table(results, context, out)
    notes(results, context, out)
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(render(sys.argv[1]))


if __name__ == "__main__":
    main()
