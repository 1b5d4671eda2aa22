#!/usr/bin/python3
"""Golden vectors for qk's activations / requantize / cat / channel shuffle (test/activation_test.cc).

Runs REAL PyTorch (1.13, engines qnnpack and onednn; torch.set_num_threads(1)) and writes
test/data/golden/ops/act-unary.txt and act-cat.txt. It also compares every output
with the numpy models below (the formulas docs/ops-activation.md states) and prints mismatches.

act-unary.txt, one line per run:
  <op> <engine> <dtype> <in_scale> <in_zp> <out_scale> <out_zp> <p1> <p2> <n> <a> <b> <hex>
  input[i] = byte (a*i + b) mod 256 (for qint8 the byte is the two's complement int8), i < n,
  a odd, so n = 256 covers every value once; <hex> = the n output bytes. p1/p2: clamp min/max,
  leaky_relu slope (p1), else 0.
act-cat.txt, one line per case:
  cat <engine> <dtype> <pixels> <out_scale> <out_zp> <k> then k x (<channels> <scale> <zp> <hex in>),
  then <hex out> (NHWC, output channels = sum of the inputs').
"""
import argparse
import ctypes
import ctypes.util
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
f32 = np.float32
OPS = ["relu", "clamp", "hardswish", "hardsigmoid", "sigmoid", "leaky_relu", "requantize"]


def rng_scale(rng):
    return float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5))))


def qrange(dt):
    return (0, 255) if dt == torch.quint8 else (-128, 127)


def run_torch(op, engine, dt, x, s, zp, os_, ozp, p1, p2):
    torch.backends.quantized.engine = engine
    qx = torch._make_per_tensor_quantized_tensor(torch.tensor(x, dtype=torch.uint8 if dt == torch.quint8 else torch.int8), s, zp)
    if op == "relu":
        qy = torch.relu(qx)
    elif op == "clamp":
        qy = torch.clamp(qx, p1, p2)
    elif op == "hardswish":
        qy = torch.ops.quantized.hardswish(qx, os_, ozp)
    elif op == "hardsigmoid":
        qy = torch.nn.functional.hardsigmoid(qx)
    elif op == "sigmoid":
        qy = torch.sigmoid(qx)
    elif op == "leaky_relu":
        qy = torch.ops.quantized.leaky_relu(qx, p1, False, os_, ozp)
    elif op == "requantize":
        qy = torch.quantize_per_tensor(qx.dequantize(), os_, ozp, dt)
    return qy.int_repr().numpy().astype(np.int64), float(qy.q_scale()), int(qy.q_zero_point())


# ---- numpy models (float32 unless stated): a 256-entry table per code path ----
def quant_val(y, s, zp, lo, hi):  # at::native::quantize_val: zp + rne(y * (1.0f/(float)s))
    inv = f32(1.0) / f32(s)
    return np.clip(np.rint((f32(y) * inv).astype(f32)).astype(np.int64) + zp, lo, hi)


def quant_vec(y, inv, zp, lo, hi):  # QuantizeAvx2: cvtps2dq(y*inv) + zp, saturate
    v = (f32(y) * f32(inv)).astype(f32)
    r = np.where(np.abs(v) < 2.0**31, np.rint(v), -2.0**31).astype(np.int64)
    return np.clip(r + zp, lo, hi)


def deq_fma(q, s, zp):  # Vectorized::dequantize(scale, zp, premul): fma(s, q, s*-zp)
    s = f32(s)
    pre = f32(s * f32(-zp))
    return (np.float64(s) * np.float64(q) + np.float64(pre)).astype(f32)


_libm = ctypes.CDLL(ctypes.util.find_library("m"))
_libm.expf.restype = ctypes.c_float
_libm.expf.argtypes = [ctypes.c_float]


def libm_expf(x):  # std::exp(float) = glibc expf (ATen scalar tail, QNNPACK's tables)
    return np.array([_libm.expf(float(v)) for v in x], dtype=f32)


def fmaf(a, b, c):  # float32 fma via float64 (the product is exact)
    return (np.float64(f32(a)) * np.float64(f32(b)) + np.float64(f32(c))).astype(f32)


def sleef_expf(d):  # Sleef_expf8_u10 (avx2: vmla = vfmadd), what Vectorized<float>::exp calls
    d = f32(d)
    q = np.rint((d * f32(1.442695040888963407359924681001892137426645954152985934135449406931)).astype(f32)).astype(np.int64)
    qf = q.astype(f32)
    s = fmaf(qf, f32(-0.693145751953125), d)
    s = fmaf(qf, f32(-1.428606765330187045e-06), s)
    u = np.full_like(d, f32(0.000198527617612853646278381))
    for c in (0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156,
              0.166666671633720397949219, 0.5):
        u = fmaf(u, s, f32(c))
    u = (f32(1.0) + fmaf((s * s).astype(f32), u, s)).astype(f32)
    h = q >> 1
    p1 = ((h + 0x7F) << 23).astype(np.uint32).view(f32)
    p2 = ((q - h + 0x7F) << 23).astype(np.uint32).view(f32)
    with np.errstate(over="ignore", invalid="ignore"):
        u = ((u * p1).astype(f32) * p2).astype(f32)
    u = np.where(d < f32(-104), f32(0), u)
    return np.where(d > f32(100), f32(np.inf), u).astype(f32)


# Simplifications of the model, each of which a kept golden case must refute (see main()).
VARIANTS = ["all_vector", "all_scalar", "other_reciprocal", "qnnpack_int_zp",
            "f32_sigmoid_tail", "sigmoid_other_dequant"]
# torch >= 2: qsigmoid_kernel's SIMD lambda dequantizes as (q - zp) * scale (no FMA premul form);
# measured with torch 2.6 (tools/debian13-root.sh), see docs/ops-activation.md.
TORCH2 = int(torch.__version__.split(".")[0]) >= 2
POSITIONAL = ("hardswish", "hardsigmoid", "sigmoid", "leaky_relu")


def uses_qnnpack_lut(op, engine, dt):
    return engine == "qnnpack" and dt == torch.quint8 and op in ("hardswish", "hardsigmoid", "sigmoid")


def lut(op, engine, dt, s, zp, os_, ozp, p1, p2, path, var=""):
    """Output for each input value lo..hi on code path "vector" (ATen SIMD body) or "scalar"
    (ATen scalar tail); position-independent ops ignore path."""
    lo, hi = qrange(dt)
    q = np.arange(lo, hi + 1)
    if op == "relu":
        return np.maximum(q, zp)
    if op == "clamp":
        return np.clip(q, quant_val(p1, s, zp, lo, hi), quant_val(p2, s, zp, lo, hi))
    if op == "requantize":
        x = (f32(s) * (q - zp).astype(f32)).astype(f32)
        return quant_val(x, os_, ozp, lo, hi)
    if uses_qnnpack_lut(op, engine, dt):
        x = (f32(s) * (q - zp).astype(f32)).astype(f32)
        if op == "sigmoid":
            v = (f32(256.0) / (f32(1.0) + libm_expf(-x))).astype(f32)
            return np.rint(np.clip(v, 0, 255)).astype(np.int64)
        x2 = np.minimum(np.maximum(x + f32(3), f32(0)), f32(6)).astype(f32)
        x2 = (x * x2 / f32(6)).astype(f32) if op == "hardswish" else (x2 / f32(6)).astype(f32)
        inv = f32(1.0) / f32(os_)
        v = (inv * x2 + f32(ozp)).astype(f32)
        if var == "qnnpack_int_zp":
            v = (np.rint((inv * x2).astype(f32)) + ozp).astype(f32)
        return np.rint(np.clip(v, 0, 255)).astype(np.int64)
    vec = path == "vector"
    if op == "hardswish":
        if vec:
            x = deq_fma(q, s, zp)
        else:  # dequantize_val: (float)(q - zp) * (float)scale (measured: not in double)
            x = (f32(s) * (q - zp).astype(f32)).astype(f32)
        y = (x * np.minimum(np.maximum(x + f32(3), f32(0)), f32(6)) / f32(6)).astype(f32)
        if vec:
            inv = f32(1.0 / os_) if var != "other_reciprocal" else f32(1.0) / f32(os_)
            return quant_vec(y, inv, ozp, lo, hi)
        return quant_val(y, os_, ozp, lo, hi)
    if op == "leaky_relu":
        x = deq_fma(q, s, zp) if vec else (f32(s) * (q - zp).astype(f32)).astype(f32)
        y = np.where(x > 0, x, (x * f32(p1)).astype(f32)).astype(f32)
        if vec:
            inv = f32(1.0) / f32(os_) if var != "other_reciprocal" else f32(1.0 / os_)
            return quant_vec(y, inv, ozp, lo, hi)
        return quant_val(y, os_, ozp, lo, hi)
    if op == "hardsigmoid":
        x = deq_fma(q, s, zp) if vec else (f32(s) * (q - zp).astype(f32)).astype(f32)
        y = (np.minimum(np.maximum(x + f32(3), f32(0)), f32(6)) / f32(6)).astype(f32)
        return quant_vec(y, f32(256.0), ozp, lo, hi) if vec else quant_val(y, os_, ozp, lo, hi)
    if op == "sigmoid":
        if vec and TORCH2 != (var == "sigmoid_other_dequant"):
            x = ((q - zp).astype(f32) * f32(s)).astype(f32)
        else:
            x = deq_fma(q, s, zp) if vec else (f32(s) * (q - zp).astype(f32)).astype(f32)
        e = sleef_expf(-x) if vec else libm_expf(-x)
        if vec or var == "f32_sigmoid_tail":
            y = (f32(1) / (f32(1) + e)).astype(f32)
        else:  # 1.0f / (1.0 + std::exp(-x)): the sum and the division in double
            y = (1.0 / (1.0 + e.astype(np.float64))).astype(f32)
        if vec:
            return quant_vec(y, f32(1.0 / os_), ozp, lo, hi)
        return quant_val(y, os_, ozp, lo, hi)
    raise ValueError(op)


def model(op, engine, dt, q, s, zp, os_, ozp, p1, p2, var=""):
    """ATen's cpu_kernel_vec (one thread): SIMD body [0, floor(n/64)*64), scalar tail after."""
    lo = qrange(dt)[0]
    n = len(q)
    body = {"all_vector": n, "all_scalar": 0}.get(var, (n // 64) * 64)
    lv = lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "vector", var)
    ls = lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "scalar", var)
    idx = np.asarray(q) - lo
    return np.concatenate([lv[idx[:body]], ls[idx[body:]]])


def fixed_out(op, dt, os_, ozp):
    if op in ("sigmoid", "hardsigmoid"):
        return 1.0 / 256.0, (0 if dt == torch.quint8 else -128)
    if op in ("relu", "clamp"):
        return None
    return os_, ozp


def refutes(op, engine, dt, s, zp, os_, ozp, p1, p2):
    """The simplifications this configuration can tell apart from the model (numpy only)."""
    r = set()
    if op not in POSITIONAL:
        return r
    lv = lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "vector")
    ls = lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "scalar")
    if uses_qnnpack_lut(op, engine, dt):
        if (lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "vector", "qnnpack_int_zp") != lv).any():
            r.add("qnnpack_int_zp")
        return r
    if (lv != ls).any():
        r.add("all_vector")
        r.add("all_scalar")
    for v in ("f32_sigmoid_tail",):
        if (lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "scalar", v) != ls).any():
            r.add(v)
    if (lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "vector", "other_reciprocal") != lv).any():
        r.add("other_reciprocal")
    if op == "sigmoid" and (lut(op, engine, dt, s, zp, os_, ozp, p1, p2, "vector", "sigmoid_other_dequant") != lv).any():
        r.add("sigmoid_other_dequant")
    return r


def params(op, dt, rng):
    lo, hi = qrange(dt)
    s = rng_scale(rng)
    zp = int(rng.integers(lo, hi + 1))
    os_ = rng_scale(rng) if op in ("hardswish", "leaky_relu", "requantize") else s
    ozp = int(rng.integers(lo, hi + 1)) if op in ("hardswish", "leaky_relu", "requantize") else zp
    p1 = p2 = 0.0
    if op == "clamp":
        a, b = sorted(rng.uniform(-1.2, 1.2, 2) * s * 128)
        p1, p2 = float(f32(a)), float(f32(b))
        if rng.random() < 0.3:
            p1, p2 = 0.0, 6.0  # relu6
    if op == "leaky_relu":
        p1 = float(f32(rng.choice([0.01, 0.1, 0.2, 0.3, rng.uniform(0, 1)])))
    return s, zp, os_, ozp, p1, p2


def to_bytes(v):
    return "".join("%02x" % (int(x) & 255) for x in v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20000, help="candidate qparams per op/engine/dtype searched (numpy) for cases that refute a simplification")
    ap.add_argument("--keep", type=int, default=2, help="random cases kept per op/engine/dtype")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../test/data/golden/ops"))
    ap.add_argument("--torch26", action="store_true", help="torch 2.6 (Debian 13 root, tools/debian13-root.sh): writes act-torch26-unary.txt / act-torch26-cat.txt, seed 2606")
    a = ap.parse_args()
    rng = np.random.default_rng(2606 if a.torch26 else 2026)
    prefix = "act-torch26-" if a.torch26 else "act-"
    lines, bad, total = [], 0, 0
    refuted = {}
    confirmed = {}
    for op in OPS:
        for engine in ("qnnpack", "onednn"):
            for dt in (torch.quint8, torch.qint8):
                kept = {}
                for c in range(a.cases if op in POSITIONAL else a.keep):
                    s, zp, os_, ozp, p1, p2 = params(op, dt, rng)
                    fo = fixed_out(op, dt, os_, ozp)
                    mos, mozp = fo if fo else (s, zp)
                    case_refutes = refutes(op, engine, dt, s, zp, mos, mozp, p1, p2)
                    new_refutes = [v for v in case_refutes if kept.get(v, 0) < 2]
                    for v in case_refutes:
                        key = (op, engine, str(dt), v)
                        refuted[key] = refuted.get(key, 0) + 1
                    if not (c < a.keep or new_refutes):
                        continue  # keep the first a.keep cases and up to 2 refuting each simplification
                    for v in new_refutes:
                        kept[v] = kept.get(v, 0) + 1
                    runs = [(256, 2 * int(rng.integers(0, 128)) + 1, int(rng.integers(0, 256)))]
                    runs.append((256 + int(rng.integers(1, 64)), 2 * int(rng.integers(0, 128)) + 1, int(rng.integers(0, 256))))
                    for k in range(5):  # every value at a scalar-tail position (n < 64)
                        runs.append((52, 1, 52 * k))
                    if op in POSITIONAL:  # 64 < n < 128: every value in a first (SIMD) block of 64
                        for k in range(4):
                            runs.append((64 + int(rng.integers(1, 64)), 1, 64 * k))
                    for n, ma, mb in runs:
                        raw = (ma * np.arange(n) + mb) & 255
                        q = raw if dt == torch.quint8 else np.where(raw > 127, raw - 256, raw)
                        y, ys, yzp = run_torch(op, engine, dt, q, s, zp, os_, ozp, p1, p2)
                        m = model(op, engine, dt, q, s, zp, ys, yzp, p1, p2)
                        d = np.nonzero(m != y)[0]
                        total += n
                        if len(d):
                            bad += len(d)
                            print("MISMATCH", op, engine, dt, s, zp, ys, yzp, p1, n, len(d), [(int(i), int(q[i]), int(y[i]), int(m[i])) for i in d[:4]])
                        for v in case_refutes:
                            if not (model(op, engine, dt, q, s, zp, ys, yzp, p1, p2, v) != y).any():
                                pass  # this run does not show it; another run of the case does
                        dn = "u8" if dt == torch.quint8 else "s8"
                        lines.append("%s %s %s %.17g %d %.17g %d %.9g %.9g %d %d %d %s" % (
                            op, engine, dn, s, zp, ys, yzp, p1, p2, n, ma, mb, to_bytes(y)))
                    # every simplification this case was kept for must fail against torch itself
                    for v in new_refutes:
                        ok = False
                        for n, ma, mb in runs:
                            raw = (ma * np.arange(n) + mb) & 255
                            q = raw if dt == torch.quint8 else np.where(raw > 127, raw - 256, raw)
                            y, ys, yzp = run_torch(op, engine, dt, q, s, zp, os_, ozp, p1, p2)
                            ok |= bool((model(op, engine, dt, q, s, zp, ys, yzp, p1, p2, v) != y).any())
                        confirmed[v] = confirmed.get(v, 0) + int(ok)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, prefix + "unary.txt"), "w") as f:
        f.write("# generated by tools/golden/gen_act.py (torch %s), do not edit\n" % torch.__version__)
        f.write("\n".join(lines) + "\n")
    print("simplifications refuted by torch in kept cases:", confirmed)
    for k in sorted(refuted):
        print("refuted %-40s cases %d of %d" % (" ".join(k), refuted[k], a.cases))
    cat_lines = []
    for engine in ("qnnpack", "onednn"):
        torch.backends.quantized.engine = engine
        for dt in (torch.quint8, torch.qint8):
            lo, hi = qrange(dt)
            for c in range(a.keep * 3):
                k = int(rng.integers(1, 4))
                pixels = int(rng.integers(1, 24))
                same = rng.random() < 0.2
                os_, ozp = rng_scale(rng), int(rng.integers(lo, hi + 1))
                ins, fields = [], []
                for i in range(k):
                    ch = int(rng.integers(1, 40))
                    s, zp = (os_, ozp) if same else (rng_scale(rng), int(rng.integers(lo, hi + 1)))
                    q = rng.integers(lo, hi + 1, size=(pixels, ch))
                    ins.append((q, s, zp))
                    fields.append("%d %.17g %d %s" % (ch, s, zp, to_bytes(q.ravel())))
                qts = []
                for q, s, zp in ins:  # NHWC (channels-last) tensors of shape (1, C, 1, pixels)
                    t = torch.tensor(q.T.reshape(1, q.shape[1], 1, pixels), dtype=torch.uint8 if dt == torch.quint8 else torch.int8)
                    qts.append(torch._make_per_tensor_quantized_tensor(t, s, zp).contiguous(memory_format=torch.channels_last))
                qy = torch.ops.quantized.cat(qts, 1, os_, ozp)
                y = qy.int_repr().permute(0, 2, 3, 1).reshape(pixels, -1).numpy().astype(np.int64)
                if True:
                    m = np.concatenate([quant_val((f32(s) * (q - zp).astype(f32)).astype(f32), os_, ozp, lo, hi) for q, s, zp in ins], axis=1)
                    total += m.size
                    if (m != y).any():
                        bad += int((m != y).sum())
                        print("MISMATCH cat", engine, dt, os_, ozp)
                cat_lines.append("cat %s %s %d %.17g %d %d %s %s" % (
                    engine, "u8" if dt == torch.quint8 else "s8", pixels, os_, ozp, k, " ".join(fields), to_bytes(y.ravel())))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, prefix + "cat.txt"), "w") as f:
        f.write("# generated by tools/golden/gen_act.py (torch %s), do not edit\n" % torch.__version__)
        f.write("\n".join(cat_lines) + "\n")
    with open(os.path.join(a.out, prefix + "unary.txt"), "w") as f:
        f.write("# generated by tools/golden/gen_act.py (torch %s), do not edit\n" % torch.__version__)
        f.write("\n".join(lines) + "\n")
    if True:
        print("checked %d outputs, %d mismatches" % (total, bad))


if __name__ == "__main__":
    main()
