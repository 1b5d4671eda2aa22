#!/usr/bin/python3
"""Sweep: gen_act.py's models of ATen's unary kernels against REAL torch 2.6 (run inside
tools/debian13-root.sh: python3 tools/golden/check_unary26.py [--engine onednn] [--ops ...]).

Per op x dtype: 1500 random qparams (a third with float-representable input scales); 9 of 10 run
all 256 input values in a 256-element run (SIMD body), every 10th runs 93 lengths (1..69, 120..197,
255, 257, 320, 383, 511, 513) with every value at scalar-tail and body positions. Prints the
outputs compared, the mismatches (must be 0) and how many runs refute each simplification.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import gen_act as g  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--engine", default="onednn")
ap.add_argument("--ops", nargs="+", default=["hardswish", "hardsigmoid", "sigmoid", "leaky_relu"])
ap.add_argument("--cases", type=int, default=1500)
a = ap.parse_args()
rng = np.random.default_rng(77)
lens = [256] + list(range(1, 70)) + list(range(120, 200, 7)) + [255, 257, 320, 383, 511, 513]
print("torch", torch.__version__, "engine", a.engine)
for op in a.ops:
    for dt in [torch.quint8, torch.qint8]:
        bad = tot = 0
        variants = {v: 0 for v in ["all_vector", "all_scalar", "other_reciprocal", "sigmoid_other_dequant"]}
        for c in range(a.cases):
            s, zp, os_, ozp, p1, p2 = g.params(op, dt, rng)
            if c % 3 == 0:
                s = float(np.float32(s))
            runs = [(256, 1, 0)] if c % 10 else [(n, 1, int(rng.integers(0, 256))) for n in lens]
            for n, ma, mb in runs:
                raw = (ma * np.arange(n) + mb) & 255
                q = raw if dt == torch.quint8 else np.where(raw > 127, raw - 256, raw)
                y, ys, yzp = g.run_torch(op, a.engine, dt, q, s, zp, os_, ozp, p1, p2)
                m = g.model(op, a.engine, dt, q, s, zp, ys, yzp, p1, p2)
                tot += n
                bad += int((m != y).sum())
                for v in variants:
                    variants[v] += int((g.model(op, a.engine, dt, q, s, zp, ys, yzp, p1, p2, v) != y).any())
        print(op, a.engine, dt, "outputs", tot, "mismatches", bad, "runs refuting", variants, flush=True)
