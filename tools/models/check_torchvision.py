#!/usr/bin/env python3
"""Whole torchvision networks end to end: quantize a torchvision quantizable model (random weights,
random calibration: no downloads), export it with tools/qk_export.py, run it with `qk run`, and
compare qk's output with PyTorch's bit for bit. Exit status 1 on any difference.

Usage: /usr/bin/python3 tools/models/check_torchvision.py --qk build/qk [--models resnet18,...]
         [--engines qnnpack,onednn] [--size 64] [--threads 1,2] [--keep DIR]

Needs torch and torchvision (Debian 12: python3-torch, python3-torchvision). ci/test.sh runs it.
torch runs with one thread: ATen's quantized add works in 64-element blocks counted from the start
of each of its thread chunks, so its own threading moves where the blocks fall (docs/numerics.md).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import qk_export  # noqa: E402


def build(name, engine, size, seed):
    import torchvision.models.quantization as tvq
    torch.manual_seed(seed)
    torch.backends.quantized.engine = engine
    m = getattr(tvq, name)(weights=None, quantize=False) if _has_weights_api() else \
        getattr(tvq, name)(pretrained=False, quantize=False)
    m.eval()
    for mod in m.modules():  # BatchNorm statistics that are not the identity
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 2.0)
    m.fuse_model() if "is_qat" not in m.fuse_model.__code__.co_varnames else m.fuse_model(False)
    m.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(m, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(2, 3, size, size))
    torch.ao.quantization.convert(m, inplace=True)
    return m


def _has_weights_api():
    import torchvision
    major, minor = (int(p) for p in torchvision.__version__.split(".")[:2])
    return (major, minor) >= (0, 13)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qk", required=True, help="the qk binary")
    ap.add_argument("--models", default="resnet18")
    ap.add_argument("--engines", default="qnnpack,onednn")
    ap.add_argument("--size", type=int, default=64, help="input height and width")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="keep the model files and arrays in this directory")
    args = ap.parse_args()
    torch.set_num_threads(1)
    failures = 0
    out_dir = args.keep or tempfile.mkdtemp(prefix="qk-torchvision-")
    os.makedirs(out_dir, exist_ok=True)
    for name in args.models.split(","):
        for engine in args.engines.split(","):
            t0 = time.time()
            m = build(name, engine, args.size, args.seed)
            x = torch.randn(1, 3, args.size, args.size)
            base = os.path.join(out_dir, f"{name}-{engine}")
            y = qk_export.export(m, x, base + ".safetensors").numpy()
            np.save(base + "-input.npy", x.numpy())
            for threads in args.threads.split(","):
                r = subprocess.run([args.qk, "run", base + ".safetensors", "--input",
                                    base + "-input.npy", "--output", base + "-qk.npy",
                                    "--threads", threads], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{name} {engine}: qk run failed: {r.stderr.strip()}")
                    failures += 1
                    continue
                got = np.load(base + "-qk.npy")
                bad = int((got.view(np.uint32) != y.view(np.uint32)).sum()) \
                    if got.shape == y.shape else y.size
                print(f"{name} {engine} ({qk_export.numerics_mode(torch)}), input "
                      f"1x3x{args.size}x{args.size}, {threads} thread(s): {bad} of {y.size} "
                      f"outputs differ from PyTorch ({time.time() - t0:.1f} s)")
                failures += bad != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
