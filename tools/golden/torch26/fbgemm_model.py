#!/usr/bin/python3
# Copy of the qk team's /work/shared/numerics/fbgemm_model.py: numpy model of real FBGEMM (main 71d6f8b22,
# GCC 12.2) as PyTorch's fbgemm engine calls it, checked there bit for bit on fbgemm-seed31 (fbgemm.md). Copied
# unchanged below this comment so that tools/golden/ does not depend on the shared folder; re-copy, don't edit.
# Its `import reference` resolves to reference.py here, an alias of numerics_reference.py.
"""A numpy model of FBGEMM's quantized conv2d, as PyTorch's fbgemm engine calls it, checked bit for bit
against real FBGEMM on every case of ../golden/fbgemm-seed31.tgz (all four variants).

    /usr/bin/python3 fbgemm_model.py --cases DIR [--show 3] [--json OUT]

For each case it computes, in numpy:
  acc_exact   the exact integer accumulator sum (x - x_zp)(w - w_zp)       (reference.py)
  acc_sat[i]  the accumulator FBGEMM's kernels compute on ISA i: raw u8*s8 products, adjacent
              pairs added with int16 saturation (vpmaddubsw), zero points applied afterwards:
                depthwise path: pairs of filter taps (2t, 2t+1), row-major kh*kw, on EVERY ISA
                im2col / pointwise / groupwise: pairs of K indices (2k, 2k+1), K = (kh, kw, c)
                per group, on avx2 and avx512 (no VNNI); exact with avx512_vnni
and two epilogues:
  two-rounding  reference.py requant_fbgemm (qk's documented formula)
  fma           the same, but per-tensor float bias as ONE rounding: f32(fma(b, rcp, f32(acc)))
                (what GCC 12 compiled FBGEMM's im2col/pointwise/groupwise epilogues into)
It then reports, per variant file (expected, expected_avx2, expected_avx512, expected_exact),
which model reproduces it bit for bit.
"""
import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402

F32 = np.float32
LD = np.longdouble
assert np.finfo(LD).nmant >= 63, "needs x87 80-bit long double"


def parse_args(case):
    a = json.load(open(os.path.join(case, "args.json")))
    o, i = {}, 1
    while i < len(a):
        if a[i] == "--relu":
            o["relu"] = True
            i += 1
        else:
            o[a[i][2:]] = a[i + 1]
            i += 2
    pair = lambda s: tuple(int(v) for v in (s.split(",") * 2)[:2])  # noqa: E731
    x = np.load(os.path.join(case, o["input"]))
    w = np.load(os.path.join(case, o["weight"]))
    O = w.shape[0]
    b = np.load(os.path.join(case, o["bias"])) if "bias" in o else None
    pc = "weight-scales" in o
    if pc:
        ws = np.load(os.path.join(case, o["weight-scales"])).astype(np.float64)
        wz = (np.load(os.path.join(case, o["weight-zero-points"])).astype(np.int64) if "weight-zero-points" in o
              else np.zeros(O, np.int64))
    else:
        ws = np.array([float(F32(o["weight-scale"]))])
        wz = np.full(O, int(o["weight-zero-point"]), np.int64)
    return dict(x=x, w=w, b=b, per_channel=pc, ws=ws, wz=wz, xs=float(F32(o["input-scale"])),
                xz=int(o["input-zero-point"]), os=float(F32(o["output-scale"])), oz=int(o["output-zero-point"]),
                relu=o.get("relu", False), stride=pair(o.get("stride", "1")), pad=pair(o.get("padding", "0")),
                dil=pair(o.get("dilation", "1")), groups=int(o.get("groups", "1")))


def taps(x, xz, KH, KW, stride, pad, dil):
    """raw activations per tap: [N, C, OH, OW, KH*KW] (padding holds x_zp)"""
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * pad[0], W + 2 * pad[1]), xz, np.int64)
    xp[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W] = x
    OH = (H + 2 * pad[0] - dil[0] * (KH - 1) - 1) // stride[0] + 1
    OW = (W + 2 * pad[1] - dil[1] * (KW - 1) - 1) // stride[1] + 1
    t = np.empty((N, C, OH, OW, KH * KW), np.int64)
    for r in range(KH):
        for s in range(KW):
            t[..., r * KW + s] = xp[:, :, r * dil[0]: r * dil[0] + stride[0] * (OH - 1) + 1: stride[0],
                                    s * dil[1]: s * dil[1] + stride[1] * (OW - 1) + 1: stride[1]]
    return t


def sat16(v):
    return np.clip(v, -32768, 32767)


def accumulators(c, mode):
    """mode: 'exact' | 'dw' (tap pairs) | 'gemm' (K pairs)"""
    x, w, xz, wz, G = c["x"], c["w"].astype(np.int64), c["xz"], c["wz"], c["groups"]
    O, CG, KH, KW = w.shape
    T = taps(x, xz, KH, KW, c["stride"], c["pad"], c["dil"])  # N C OH OW KK
    N, C, OH, OW, KK = T.shape
    OG = O // G
    raw = np.zeros((N, O, OH, OW), np.int64)
    rowoff = np.zeros((N, G, OH, OW), np.int64)
    for g in range(G):
        Tg = T[:, g * CG:(g + 1) * CG]  # N CG OH OW KK
        rowoff[:, g] = Tg.sum(axis=(1, 4))
        # K order of the im2col row: (kh, kw, c) -> index (tap * CG + c)
        A = np.transpose(Tg, (0, 2, 3, 4, 1)).reshape(N, OH, OW, KK * CG)  # N OH OW K
        for k in range(OG):
            o = g * OG + k
            B = np.transpose(w[o].reshape(CG, KK), (1, 0)).reshape(KK * CG)  # K
            p = A * B
            if mode == "exact":
                s = p.sum(-1)
            elif mode == "gemm":
                if p.shape[-1] % 2:
                    p = np.concatenate([p, np.zeros(p.shape[:-1] + (1,), np.int64)], -1)
                s = sat16(p[..., 0::2] + p[..., 1::2]).sum(-1)
            else:  # depthwise: CG == 1, pairs of taps
                assert CG == 1
                if p.shape[-1] % 2:
                    p = np.concatenate([p, np.zeros(p.shape[:-1] + (1,), np.int64)], -1)
                s = sat16(p[..., 0::2] + p[..., 1::2]).sum(-1)
            raw[:, o] = s
    K = KK * CG
    col = w.reshape(O, -1).sum(1) - wz * K
    acc = raw - xz * col[None, :, None, None] - rowoff[:, np.repeat(np.arange(G), OG)] * wz[None, :, None, None]
    return R.wrap32(acc)


def f32_of_fraction(q):
    """correctly rounded (RNE) float32 of an exact rational (normal range only)"""
    if q == 0:
        return F32(0)
    sgn = -1 if q < 0 else 1
    q = abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    while Fraction(2) ** e > q:
        e -= 1
    while Fraction(2) ** (e + 1) <= q:
        e += 1
    m = q / Fraction(2) ** (e - 23)  # in [2^23, 2^24)
    fl = m.numerator // m.denominator
    rem = m - fl
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and fl % 2):
        fl += 1
    return F32(sgn * fl * 2.0 ** (e - 23))


def fma_f32(a, b, c):
    """f32(a*b + c) with one rounding, a, b, c float32 arrays (broadcast)"""
    a, b, c = np.broadcast_arrays(np.asarray(a, F32), np.asarray(b, F32), np.asarray(c, F32))
    exact_ld = a.astype(LD) * b.astype(LD) + c.astype(LD)  # a*b exact (48 bits); the sum rounds once in LD
    r = exact_ld.astype(F32)
    # a float32 midpoint is representable in LD: the LD rounding can only mislead when it lands on one
    lo = np.nextafter(r, F32(-np.inf)).astype(LD)
    hi = np.nextafter(r, F32(np.inf)).astype(LD)
    mid = (exact_ld == (r.astype(LD) + lo) / 2) | (exact_ld == (r.astype(LD) + hi) / 2)
    for idx in zip(*np.nonzero(mid)):
        q = Fraction(float(a[idx])) * Fraction(float(b[idx])) + Fraction(float(c[idx]))
        r[idx] = f32_of_fraction(q)
    return r


def epilogue(acc, c, fma):
    OC = acc.shape[1]
    if not (fma and c["b"] is not None and not c["per_channel"]):
        return R.requant_fbgemm(acc, c["xs"], c["ws"], c["os"], c["oz"], c["b"], c["relu"], c["per_channel"])
    ats = F32(c["xs"]) * R.f32(c["ws"])
    mult = ats / F32(c["os"])
    rcp = R.f32(1.0 / np.float64(ats[0]))
    b = R.f32(c["b"]).reshape(1, OC, 1, 1)
    v = fma_f32(b, rcp, acc.astype(F32)) * mult[0]
    lo = c["oz"] if c["relu"] else 0
    return np.clip(R.cvtps2dq(v) + c["oz"], lo, 255)


def explain_qk(qk, d, c, cfg, models, accs):
    """run qk on case d; None if it equals expected.npy, else the reason it differs"""
    import subprocess
    import tempfile
    args = json.load(open(os.path.join(d, "args.json")))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "y.npy")
        p = subprocess.run([qk] + args + ["--output", out], cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            return f"qk exit {p.returncode}: {p.stderr.strip()[:100]}"
        q = np.load(out)
    y = np.load(os.path.join(d, "expected.npy"))
    if np.array_equal(q, y):
        return None
    fb = [m for m, v in models.items() if np.array_equal(v, y)]
    qm = [m for m, v in models.items() if np.array_equal(v, q)]
    where = f"{cfg['path']}, {'per-channel' if c['per_channel'] else 'per-tensor'}{', bias' if c['b'] is not None else ''}"
    if c["per_channel"] and c["w"].shape[0] == 1:
        c1 = dict(c, per_channel=False)
        for fn in (False, True):
            if np.array_equal(epilogue(accs["exact"], c1, fn).astype(np.uint8), q):
                return (f"per-channel weights with O = 1 computed as per-tensor by qk (bias*rcp, not bias/ats) "
                        f"[{where}]")
    if "exact+2r" in qm and "dw+2r" in fb and "exact+2r" not in fb:
        return f"FBGEMM depthwise int16 pair saturation (vpmaddubsw), qk exact [{where}]"
    if "exact+2r" in qm and "exact+fma" in fb and "exact+2r" not in fb:
        return f"FBGEMM fused bias*rcp + acc (FMA, GCC contraction), qk two roundings [{where}]"
    return f"unexplained: FBGEMM matches {fb or 'no model'}, qk matches {qm or 'no model'} [{where}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--qk", help="also run this qk binary on every case and explain each mismatch")
    a = ap.parse_args()
    qk_causes, qk_fail_cases = Counter(), defaultdict(list)
    cases = sorted(d for d in os.listdir(a.cases) if os.path.exists(os.path.join(a.cases, d, "args.json")))
    table = defaultdict(Counter)  # variant -> model -> cases explained
    unexplained = defaultdict(list)
    per_case = {}
    for name in cases:
        d = os.path.join(a.cases, name)
        cfg = json.load(open(os.path.join(d, "config.json")))
        c = parse_args(d)
        accs = {"exact": accumulators(c, "exact")}
        if cfg["path"] == "depthwise" or cfg.get("path_avx2") == "depthwise":
            accs["dw"] = accumulators(c, "dw")
        accs["gemm"] = accumulators(c, "gemm")
        models = {}
        for an, acc in accs.items():
            for fn in (False, True):
                models[f"{an}+{'fma' if fn else '2r'}"] = epilogue(acc, c, fn).astype(np.uint8)
        res = {}
        for var in ["expected", "expected_exact", "expected_avx2", "expected_avx512"]:
            p = os.path.join(d, var + ".npy")
            if not os.path.exists(p):
                continue
            y = np.load(p)
            ok = sorted(m for m, v in models.items() if np.array_equal(v, y))
            res[var] = ok
            path = cfg["path"] if var in ("expected", "expected_exact") else cfg.get("path_" + var.split("_")[1], "?")
            key = f"{var} [{path}]"
            if ok:
                for m in ok:
                    table[key][m] += 1
                table[key]["(cases)"] += 1
            else:
                table[key]["(cases)"] += 1
                table[key]["UNEXPLAINED"] += 1
                best = min(models, key=lambda m: int((models[m] != y).sum()))
                unexplained[key].append((name, best, int((models[best] != y).sum()), y.size))
        per_case[name] = res
        if a.qk:
            cause = explain_qk(a.qk, d, c, cfg, models, accs)
            if cause:
                qk_causes[cause] += 1
                qk_fail_cases[cause].append(name)
    for key in sorted(table):
        print(f"{key}: " + ", ".join(f"{m} {n}" for m, n in sorted(table[key].items())))
    for key, lst in unexplained.items():
        print(f"UNEXPLAINED {key}: {len(lst)}")
        for t in lst[:a.show]:
            print("   ", t)
    if a.qk:
        n_fail = sum(qk_causes.values())
        print(f"qk: {len(cases) - n_fail} of {len(cases)} cases identical to expected.npy; {n_fail} differ:")
        for cause, n in qk_causes.most_common():
            print(f"  {n:4d}  {cause}: {' '.join(qk_fail_cases[cause][:12])}{' ...' if n > 12 else ''}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(per_case, f, indent=0)


if __name__ == "__main__":
    main()
