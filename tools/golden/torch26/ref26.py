#!/usr/bin/python3
# Copy of the qk team's /work/shared/numerics/ref26.py (PyTorch 2.6 linear/add references, verified there against
# PyTorch 2.6; pytorch26.md). Copied unchanged below this comment; its `import reference` resolves to reference.py here.
"""Exact numpy references for PyTorch 2.6 quantized::linear[_relu] and quantized::add[_relu],
engines onednn and qnnpack, and checkers for the cases made by gen_linear26.py / gen_add26.py.

    python3 ref26.py linear CASES_DIR [...]
    python3 ref26.py add CASES_DIR [...]

Formulas (NOTES.md has the source lines):
  linear, onednn   onednn3_ref.requant_onednn3(op="linear"): the weight scale also goes through
                   the double reciprocal (PyTorch linear prepack stores 1/ws, ideep matmul inverts it)
  linear, qnnpack  quint8: QNNPACK, unchanged from 1.13 (reference.py requant_qnnpack, op="linear")
                   qint8:  XNNPACK qs8 fully-connected = reference.py requant_qnnpack_qs8
  add, onednn      ATen qadd_kernel = reference.py add_float(vec_block=128 on this AVX512 build)
  add, qnnpack     quint8: QNNPACK q8vadd (reference.py add_qnnpack); qint8: XNNPACK qs8 vadd
                   (reference.py add_xnnpack_qs8), relu = max(q, zp) also when zp = 127
"""
import os
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import reference as R  # noqa: E402  (PyTorch 1.13 reference, beside this file)
import onednn3_ref as O3  # noqa: E402

F32 = np.float32


def linear_ref(d, engine, alt=None):
    x = d["x"].astype(np.int64)
    K = x.shape[-1]
    x2 = x.reshape(-1, K)
    w = d["w"].astype(np.int64)
    N = w.shape[0]
    wz = np.broadcast_to(d["wz"], (N,))
    ws = np.broadcast_to(d["ws"].astype(np.float64), (N,))
    b = d["b"] if d["b"].size else None
    relu = bool(d["relu"])
    xs, xz, os_, oz = float(d["xs"]), int(d["xz"]), float(d["os"]), int(d["oz"])
    acc = R.linear_acc(x2, xz, w, wz)  # [M, N], exact
    if engine == "onednn" and alt:
        y = O3.requant_alternative(acc, xs, ws, os_, oz, b, relu, "linear", alt, chan_axis=1)
    elif engine == "onednn":
        y = O3.requant_onednn3(acc, xs, ws, os_, oz, b, relu, op="linear", chan_axis=1)
    elif d["x"].dtype == np.int8:
        y = R.requant_qnnpack_qs8(acc, xs, ws, os_, oz, b, relu)
    else:
        y = R.requant_qnnpack(acc, xs, ws, os_, oz, b, relu, per_channel=bool(d["per_channel"]), op="linear")
    return y.reshape(d["x"].shape[:-1] + (N,)).astype(d["x"].dtype)


# 2 * Vectorized<quint8/qint8>::size() of the AVX2 kernel: qadd_stub is registered with REGISTER_DISPATCH, which
# registers nullptr for AVX512 (aten/src/ATen/native/DispatchStub.h), so an AVX512 CPU runs the AVX2 kernel.
ADD_VEC_BLOCK = 64


def add_qnnpack_x86(a, a_scale, a_zp, b, b_scale, b_zp, out_scale, out_zp, relu=False, block=4096):
    """QNNPACK q8vadd as the x86 build runs it (q8vadd/sse2.c), including max(sa,sb)/so in [2^-14, 2^-10),
    where shift = 21 - exponent >= 32: C's (1u << shift) is undefined there and x86 masks the count
    (remainder_mask = (1 << (shift & 31)) - 1), psrad by >= 32 fills with the sign bit (SIMD path,
    blocks of >= 8 elements), and the scalar path (blocks < 8: numel < 8, or a last 4096-block < 8)
    uses asr_s32(x, n) = x >> n (the UB workaround in scalar-utils.h is only compiled for gcc < 8), which
    x86 `sar` computes as x >> (n & 31).
    For shift <= 31 this is exactly reference.py add_qnnpack."""
    as_ = F32(a_scale) / F32(out_scale)
    bs_ = F32(b_scale) / F32(out_scale)
    mx = max(as_, bs_)
    exp = int((np.array(mx, np.float32).view(np.uint32) >> 23)) - 127
    shift = 21 - exp
    am = int(np.rint(np.float64(as_) * 2.0 ** shift))
    bm = int(np.rint(np.float64(bs_) * 2.0 ** shift))
    zpp = R.wrap32(-(am * int(a_zp) + bm * int(b_zp)))
    A = np.asarray(a, np.int64).reshape(-1)
    B = np.asarray(b, np.int64).reshape(-1)
    acc = R.wrap32(zpp + am * A + bm * B)
    mask = ((1 << (shift & 31)) - 1) & 0xFFFFFFFF
    thr = mask >> 1
    rem = R.wrap32((acc & mask) - (acc < 0))
    q_simd = (acc >> min(shift, 31)) + (rem > (thr if thr < 1 << 31 else thr - (1 << 32)))  # psrad, pcmpgtd
    lo, hi = (int(out_zp) if relu else 0), 255
    y_simd = np.clip(np.clip(np.clip(q_simd, -32768, 32767) + int(out_zp), -32768, 32767), lo, hi)
    thr_s = thr if thr < 1 << 31 else thr - (1 << 32)
    sh = acc >> (shift & 31)  # scalar asr_s32 is a plain `x >> n` for gcc >= 8 (scalar-utils.h): sar masks n
    q_sc = R.wrap32(sh + (rem > thr_s))
    y_sc = np.clip(R.wrap32(q_sc + int(out_zp)), lo, hi)
    n = A.size
    y = y_simd.copy()
    for start in range(0, n, block):
        size = min(block, n - start)
        if size < 8:
            y[start:start + size] = y_sc[start:start + size]
    return y.reshape(np.asarray(a).shape)


def add_ref(d, engine, vec_block=ADD_VEC_BLOCK):
    a, b = d["a"].astype(np.int64), d["b"].astype(np.int64)
    dt = "quint8" if d["a"].dtype == np.uint8 else "qint8"
    args = (a, float(d["as"]), int(d["az"]), b, float(d["bs"]), int(d["bz"]), float(d["os"]), int(d["oz"]))
    relu = bool(d["relu"])
    if engine == "qnnpack" and dt == "qint8":
        y = R.add_xnnpack_qs8(*args, relu=relu)
    elif engine == "qnnpack" and a.shape == b.shape:
        y = add_qnnpack_x86(*args, relu=relu)
    else:
        y = R.add_float(*args, relu=relu, dtype=dt, vec_block=vec_block)
    return np.asarray(y).astype(d["a"].dtype)


def alternatives(kind, engine, d):
    """near-miss formulas (none is what torch does) -- evidence that the cases discriminate"""
    if kind == "linear" and engine == "onednn":
        return [(a, (lambda a=a: linear_ref(d, engine, a))) for a in O3.ALTERNATIVES
                if a != "linear-style weight scale"]
    if kind == "add":
        dt = "quint8" if d["a"].dtype == np.uint8 else "qint8"
        args = (d["a"].astype(np.int64), float(d["as"]), int(d["az"]), d["b"].astype(np.int64), float(d["bs"]),
                int(d["bz"]), float(d["os"]), int(d["oz"]))
        relu = bool(d["relu"])
        out = []
        if engine == "qnnpack" and dt == "qint8":
            out.append(("xnnpack half-away rounding", lambda: R.add_xnnpack_qs8(*args, relu=relu, rounding="away")))
        elif engine == "qnnpack" and d["a"].shape == d["b"].shape:
            out.append(("float add (no fixed point)", lambda: R.add_float(*args, relu=relu, dtype=dt, vec_block=0)))
            out.append(("reference.py add_qnnpack (no x86 shift>=32 emulation)", lambda: R.add_qnnpack(*args, relu=relu)))
        else:
            out.append(("vec_block 128 (AVX512 split)", lambda: add_ref(d, engine, vec_block=128)))
            out.append(("all scalar (no FMA)", lambda: add_ref(d, engine, vec_block=0)))
            out.append(("all FMA", lambda: add_ref(d, engine, vec_block=1)))
        return out
    return []


def check(kind, roots):
    total_bad = 0
    for root in roots:
        engine = "onednn" if "onednn" in os.path.basename(os.path.normpath(root)) else "qnnpack"
        import json
        sj = os.path.join(root, "summary.json")
        if os.path.isfile(sj):
            engine = json.load(open(sj))["engine"]
        tally = Counter()
        alt_bad = Counter()
        bad_el = tot_el = shown = 0
        for c in sorted(os.listdir(root)):
            if not c.endswith(".npz"):
                continue
            d = dict(np.load(os.path.join(root, c)))
            e = d["expected"]
            y = linear_ref(d, engine) if kind == "linear" else add_ref(d, engine)
            key = str(d.get("impl", d.get("path", "?")))
            key += " " + ("u8" if e.dtype == np.uint8 else "s8")
            if str(d.get("targeted", "")):
                key += " targeted"
            n = int((y != e).sum()) if y.shape == e.shape else e.size
            tot_el += e.size
            bad_el += n
            tally[(key, "ok" if n == 0 else "BAD")] += 1
            for alt, fn in alternatives(kind, engine, d):
                if not np.array_equal(fn(), e):
                    alt_bad[alt + (" (targeted)" if str(d.get("targeted", "")) else " (random)")] += 1
            if n and shown < 6:
                shown += 1
                idx = np.argwhere(y != e)[:3].tolist()
                print("MISMATCH", os.path.join(root, c), n, "of", e.size, idx,
                      [int(y[tuple(i)]) for i in idx], [int(e[tuple(i)]) for i in idx])
        nb = sum(v for (k, s), v in tally.items() if s == "BAD")
        total_bad += nb
        print(f"{root} [{engine}]: {sum(tally.values()) - nb} cases ok, {nb} bad; {bad_el}/{tot_el} elements differ")
        for (k, s), v in sorted(tally.items()):
            print(f"   {k:45s} {s:4s} {v:5d}")
        for k in sorted(alt_bad):
            print(f'   alternative "{k}" fails {alt_bad[k]} cases')
    return total_bad


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("linear", "add"):
        raise SystemExit(__doc__)
    sys.exit(1 if check(sys.argv[1], sys.argv[2:]) else 0)
