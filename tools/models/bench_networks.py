#!/usr/bin/env python3
"""Whole-network latency: qk (`qk run --time --repeat N`) beside PyTorch's own quantized runtime
(same engine, same thread count), batch 1, on torchvision's quantizable networks with random
weights (tools/models/check_torchvision.py builds them). Prints a markdown table: median of N
runs after one warm-up, in ms, and the ratio PyTorch / qk (> 1: qk is faster).

Usage: /usr/bin/python3 tools/models/bench_networks.py --qk build/qk [--models ...]
         [--engines qnnpack,onednn] [--threads 1,2] [--size 224] [--runs 30]
Both sides run in this process's environment one after the other (interleaved per row), so a
shared machine's noise hits both; say which CPU the figures come from.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import check_torchvision  # noqa: E402
import qk_export  # noqa: E402


def torch_latency(model, x, threads, runs):
    torch.set_num_threads(threads)
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    torch.set_num_threads(1)
    return 1e3 * float(np.median(times))


def qk_latency(qk, path, x_path, threads, runs):
    y_path = os.path.join(os.path.dirname(path), "y.npy")
    r = subprocess.run([qk, "run", path, "--input", x_path, "--output", y_path,
                        "--threads", str(threads), "--time", "--repeat", str(runs)],
                       capture_output=True, text=True, check=True)
    m = re.search(r"median ([0-9.]+) ms", r.stderr)
    return float(m.group(1)), re.search(r"ISA (\w+)", r.stderr).group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qk", required=True)
    ap.add_argument("--models", default="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large")
    ap.add_argument("--engines", default="qnnpack,onednn")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="qk-bench-networks-")
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"batch 1, {args.size}x{args.size}, median of {args.runs} runs, {cpu}, torch "
          f"{torch.__version__}\n")
    print("| network | engine | threads | PyTorch ms | qk ms (ISA) | PyTorch / qk |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for engine in args.engines.split(","):
            model = check_torchvision.build(name, engine, args.size, 1)
            x = torch.randn(1, 3, args.size, args.size)
            path = os.path.join(tmp, f"{name}-{engine}.safetensors")
            qk_export.export(model, x, path)
            x_path = os.path.join(tmp, "x.npy")
            np.save(x_path, x.numpy())
            for threads in (int(t) for t in args.threads.split(",")):
                t_qk, isa = qk_latency(args.qk, path, x_path, threads, args.runs)
                try:
                    t_torch = torch_latency(model, x, threads, args.runs)
                except RuntimeError as e:  # e.g. torch 1.13's onednn failing on 2 threads
                    torch.set_num_threads(1)
                    print(f"| {name} | {engine} | {threads} | error: {str(e)[:60]} | "
                          f"{t_qk:.2f} ({isa}) | |", flush=True)
                    continue
                print(f"| {name} | {engine} | {threads} | {t_torch:.2f} | {t_qk:.2f} ({isa}) | "
                      f"{t_torch / t_qk:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
