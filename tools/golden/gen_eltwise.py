#!/usr/bin/python3
"""Golden quantized add / add_relu / mul / mul_relu cases from real PyTorch 1.13.

Usage:
  /usr/bin/python3 tools/golden/gen_eltwise.py --seed 11 --out test/data/golden/ops/eltwise-torch113
  (writes eltwise-torch113-add.txt and eltwise-torch113-mul.txt)

Engines qnnpack and onednn (this torch has no fbgemm), torch.set_num_threads(1), ops
torch.ops.quantized.add / add_relu / mul / mul_relu, quint8 and qint8. What ran in torch:
  add, onednn engine:           ATen qadd_kernel (float, FMA dequantization in 64-element blocks)
  add, qnnpack engine, quint8:  QNNPACK q8vadd;   qint8: XNNPACK qs8 vadd
  mul, both engines, quint8:    ATen qmul_kernel; qint8 (output zp < 127): XNNPACK qs8 vmul
Cases (every one checked against the numpy model below before it is written; a disagreement
aborts, so the file never holds a value nobody can explain):
  * flat: 1-D tensors of random length (never a multiple of 64, so ATen's scalar tail runs);
  * nhwc: [N, H, W, C] tensors in channels_last memory (what quantized convs return; ATen's
    positional FMA rule then counts in NHWC order), mul also with b of shape [N, 1, 1, C];
  * extreme: scale ratios at and beyond the frameworks' limits; torch's refusals are written as
    `error <message>` (qk must refuse them too);
  * grid: exhaustive 256 x 256 (a, b) grids with tie-producing ratios 0.5 / 0.25 / 0.75, run in
    chunks of `chunk` elements (65536: all FMA body; 63: all scalar tail). Stored as 64 FNV-1a
    64-bit hashes, one per 4 values of a (their 1024 outputs over b), to keep the file small.
File format (one record per line):
  case <key=value ...>   (qk=unsupported: torch answered, qk refuses by design)   then   a <hex>, b <hex>, then y <hex> or error <torch's message>
  grid <key=value ...>   then   rows <64 hex hashes>
Values are the raw bytes (two hex digits each, s8 as two's complement); arrays in NHWC order.
"""
import argparse
import sys

import numpy as np
import torch

F = np.float32
torch.set_num_threads(1)
TORCH2 = int(torch.__version__.split(".")[0]) >= 2  # run inside tools/debian13-root.sh for 2.6

RANGE = {"u8": (0, 255), "s8": (-128, 127)}
NPDT = {"u8": np.uint8, "s8": np.int8}
QDT = {"u8": torch.quint8, "s8": torch.qint8}


# ---------------------------------------------------------------------------------------------
# numpy model (docs/ops-eltwise.md)
# ---------------------------------------------------------------------------------------------
def f32(x):
    return np.float32(x)


def exponent(v):
    return int(np.array(v, np.float32).view(np.uint32) >> 23) - 127


def model(op, engine, dt, a, b, sa, za, sb, zb, so, zo):
    lo, hi = RANGE[dt]
    relu = op.endswith("_relu")
    if relu:
        lo = zo
    a = a.astype(np.int64).reshape(-1)
    b = b.astype(np.int64).reshape(-1)
    if op.startswith("add"):
        if engine == "qnnpack":
            as_ = f32(f32(sa) / f32(so))
            bs_ = f32(f32(sb) / f32(so))
            mx = max(as_, bs_)
            if dt == "u8":
                shift = 21 - exponent(mx)
                am = int(np.rint(np.float64(as_) * 2.0**shift))
                bm = int(np.rint(np.float64(bs_) * 2.0**shift))
                acc = -(am * za + bm * zb) + am * a + bm * b
                mask = (1 << shift) - 1
                rem = (acc & mask) - (acc < 0)
                q = (acc >> shift) + (rem > (mask >> 1))
            else:
                shift = 20 - exponent(mx)
                am = int(np.rint(np.float64(as_) * 2.0**shift))
                bm = int(np.rint(np.float64(bs_) * 2.0**shift))
                acc = (1 << (shift - 1)) - am * za - bm * zb + am * a + bm * b
                q = acc >> shift
            return np.clip(q + zo, lo, hi)
        n = a.size
        nb = n // 64 * 64
        sa32, sb32 = f32(sa), f32(sb)
        pa, pb = np.float64(sa32 * f32(-za)), np.float64(sb32 * f32(-zb))
        da = np.empty(n, F)
        db = np.empty(n, F)
        da[:nb] = (np.float64(sa32) * a[:nb] + pa).astype(F)  # fma: exact in double, one rounding
        db[:nb] = (np.float64(sb32) * b[:nb] + pb).astype(F)
        da[nb:] = sa32 * (a[nb:] - za).astype(F)
        db[nb:] = sb32 * (b[nb:] - zb).astype(F)
        c = (da + db) * (f32(1) / f32(so))
        return np.clip(np.rint(c).astype(np.int64) + zo, lo, hi)
    p = ((a - za) * (b - zb)).astype(F)
    if dt == "s8" and zo < 127:
        m = f32(f32(f32(sa) * f32(sb)) / f32(so))
    else:
        m = f32(f32(f32(sa) * f32(sb)) * f32(f32(1) / f32(so)))
    return np.clip(np.rint(p * m).astype(np.int64) + zo, lo, hi)


# ---------------------------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------------------------
def qtensor(arr_nhwc, s, z, dt, nhwc):
    t = torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.ascontiguousarray(arr_nhwc)), s, z)
    if nhwc:
        t = t.permute(0, 3, 1, 2)  # NCHW view of NHWC memory: channels_last, as conv outputs are
    return t


def run_torch(op, engine, dt, a, b, sa, za, sb, zb, so, zo, nhwc):
    torch.backends.quantized.engine = engine
    qa = qtensor(a, sa, za, dt, nhwc)
    qb = qtensor(b, sb, zb, dt, nhwc)
    fn = getattr(torch.ops.quantized, op)
    y = fn(qa, qb, so, zo)
    if nhwc:
        assert y.is_contiguous(memory_format=torch.channels_last) or y.shape[1] == 1 or \
            y.shape[2] * y.shape[3] == 1, "torch output is not channels_last"
        y = y.permute(0, 2, 3, 1)
    return y.int_repr().contiguous().numpy().astype(np.int64).reshape(-1)


def hexs(arr, dt):
    return np.asarray(arr).astype(NPDT[dt]).view(np.uint8).tobytes().hex()


def fnv1a(values_u8):
    h = 0xCBF29CE484222325
    for v in values_u8.tobytes():
        h ^= v
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class Writer:
    def __init__(self, out):
        self.out = out
        self.counts = {}
        self.n = 0

    def count(self, key, kind):
        self.counts.setdefault(key, {"cases": 0, "values": 0, "errors": 0, "grids": 0})
        self.counts[key][kind] += 1 if kind != "values" else 0


def fmt_params(op, engine, dt, sa, za, sb, zb, so, zo):
    return (f"op={op} engine={engine} dtype={dt} sa={sa!r} za={za} sb={sb!r} zb={zb} so={so!r} "
            f"zo={zo}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", required=True)
    ap.add_argument("--random", type=int, default=4, help="flat + nhwc cases per combination")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    lines = [
        "# qk golden eltwise cases, generated by tools/golden/gen_eltwise.py "
        f"--seed {args.seed} from torch {torch.__version__} (set_num_threads(1))",
    ]
    stats = {}

    def stat(key, field, k=1):
        stats.setdefault(key, {"cases": 0, "values": 0, "refused": 0, "grids": 0, "grid_values": 0})
        stats[key][field] += k

    def emit_case(op, engine, dt, shape, bshape, sa, za, sb, zb, so, zo, nhwc):
        lo, hi = RANGE[dt]
        a = rng.integers(lo, hi + 1, shape).astype(NPDT[dt])
        b = rng.integers(lo, hi + 1, bshape).astype(NPDT[dt])
        if rng.random() < 0.2:  # saturated / concentrated inputs
            a = np.clip(a, lo, lo + 5).astype(NPDT[dt]) if rng.random() < 0.5 else a
        key = (op, engine, dt)
        head = (f"case {fmt_params(op, engine, dt, sa, za, sb, zb, so, zo)} "
                f"N={shape[0]} H={shape[1]} W={shape[2]} C={shape[3]} "
                f"bcast={int(bshape != shape)}")
        if op.startswith("add") and engine == "qnnpack" and dt == "u8" and \
                max(f32(f32(sa) / f32(so)), f32(f32(sb) / f32(so))) < f32(2.0**-10):
            # torch runs it with shifts >= 32 (undefined behaviour in QNNPACK's C): qk refuses
            head += " qk=unsupported"
        try:
            y = run_torch(op, engine, dt, a, b, sa, za, sb, zb, so, zo, nhwc)
        except RuntimeError as e:
            msg = str(e).splitlines()[0][:160]
            lines.extend([head, "a " + hexs(a, dt), "b " + hexs(b, dt), "error " + msg])
            stat(key, "refused")
            return
        bb = np.broadcast_to(b, shape)
        ref = model(op, engine, dt, a, bb, sa, za, sb, zb, so, zo)
        if not np.array_equal(ref, y):
            bad = np.nonzero(ref != y)[0]
            sys.exit(f"model disagrees with torch: {head}: {len(bad)} values, first at {bad[0]} "
                     f"torch {y[bad[0]]} model {ref[bad[0]]}")
        lines.extend([head, "a " + hexs(a, dt), "b " + hexs(b, dt), "y " + hexs(y, dt)])
        stat(key, "cases")
        stat(key, "values", y.size)

    def draw_qparams(op, engine, dt, ratio_lo=-4.0, ratio_hi=2.0):
        lo, hi = RANGE[dt]
        zs = []
        for _ in range(3):
            r = rng.random()
            zs.append(int(lo if r < 0.15 else hi if r < 0.3 else rng.integers(lo, hi + 1)))
        za, zb, zo = zs
        sa = float(np.exp(rng.uniform(-7, 1)))
        sb = float(sa * np.exp(rng.uniform(-2, 2)))
        if op.startswith("add"):
            so = float(max(sa, sb) / np.exp2(rng.uniform(ratio_lo, ratio_hi)))
        else:
            so = float(sa * sb / np.exp2(rng.uniform(-8, 4)))
        if op.endswith("relu") and zo == hi:
            zo = hi - int(rng.integers(1, 30))  # the top zero point is tested by the extremes
        if dt == "s8" and zo == 127:
            zo = 126
        return sa, za, sb, zb, so, zo

    combos = [(op, eng, dt) for op in ["add", "add_relu", "mul", "mul_relu"]
              for eng in ["onednn", "qnnpack"] for dt in ["u8", "s8"]]
    for op, eng, dt in combos:
        for i in range(args.random):
            n = int(rng.integers(1, 400))
            if n % 64 == 0:
                n += int(rng.integers(1, 63))
            emit_case(op, eng, dt, (1, 1, n, 1), (1, 1, n, 1), *draw_qparams(op, eng, dt), nhwc=False)
        for i in range(args.random):
            shape = (int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 7)),
                     int(rng.integers(1, 33)))
            bshape = shape
            if op.startswith("mul") and i % 2 == 1:
                bshape = (shape[0], 1, 1, shape[3])
            emit_case(op, eng, dt, shape, bshape, *draw_qparams(op, eng, dt), nhwc=True)

    # extremes: ratios around the limits (torch refusals recorded), top zero points with relu
    for op, eng, dt in combos:
        lo, hi = RANGE[dt]
        if op.startswith("add"):
            ratios = [2.0**-14 * 0.99, 2.0**-14, 2.0**-10 * 0.999, 2.0**-10, 2.0**-10 * 1.001,
                      255.9, 256.0, 300.0]
        else:
            ratios = [2.0**-16 * 0.999, 2.0**-16, 2.0**-16 * 1.001, 255.9, 256.0, 300.0]
        for r in ratios:
            sa = 0.0123
            sb = sa * float(np.exp(rng.uniform(-1, 0)))
            so = (max(sa, sb) if op.startswith("add") else sa * sb) / r
            if TORCH2 and op.startswith("add") and eng == "qnnpack" and (
                    r < 2.0**-10 or (dt == "s8" and (r >= 256.0 or sb / so < 2.0**-10))):
                # torch 2.x: XNNPACK's qs8 add asserts (aborts the process) outside [2^-10, 2^8);
                # QNNPACK's u8 add below 2^-10 shifts by >= 32 (C undefined behaviour,
                # numerics/pytorch26.md 5.2). qk refuses both; no golden.
                continue
            za, zb, zo = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1)), 0
            if op.startswith("mul") and dt == "s8":
                zo = int(rng.integers(lo, 126))
                pos = F(F(F(sa) * F(sb)) / F(so))  # XNNPACK's product_output_scale
                if TORCH2 and (pos < F(2.0**-16) or pos >= F(256.0)):
                    continue  # torch 2.x: XNNPACK's qs8 mul asserts (aborts) outside [2^-16, 2^8)
            n = int(rng.integers(65, 200))
            emit_case(op, eng, dt, (1, 1, n, 1), (1, 1, n, 1), sa, za, sb, zb, so, zo, nhwc=False)
        if op.endswith("relu") and not (dt == "s8" and op.startswith("add") and eng == "qnnpack"):
            # the top output zero point with relu: QNNPACK refuses (empty range), others a constant
            # (XNNPACK qs8 add_relu with zp 127 is refused by 1.13 but accepted by 2.6 and qk,
            # so it is left out)
            sa, za, sb, zb, so, _ = draw_qparams(op, eng, dt)
            emit_case(op, eng, dt, (1, 1, 70, 1), (1, 1, 70, 1), sa, za, sb, zb, so, hi, nhwc=False)

    # qint8 mul with output zero point 127 is ATen's qmul (XNNPACK only takes zp < 127): no
    # XNNPACK scale limit, ATen's multiplier sa * sb * (1 / so)
    for eng in ["onednn", "qnnpack"]:
        for r in [300.0, 2.0**-17, 0.37, 1.9, 0.011]:
            sa, sb = 0.0173, 0.0291
            so = sa * sb / r
            m_aten = f32(f32(f32(sa) * f32(sb)) * f32(f32(1) / f32(so)))
            m_xnn = f32(f32(f32(sa) * f32(sb)) / f32(so))
            k = 0
            while m_aten == m_xnn and k < 50:  # scales where the two multipliers differ
                so *= 1.0001
                m_aten = f32(f32(f32(sa) * f32(sb)) * f32(f32(1) / f32(so)))
                m_xnn = f32(f32(f32(sa) * f32(sb)) / f32(so))
                k += 1
            emit_case("mul", eng, "s8", (1, 1, 300, 1), (1, 1, 300, 1), sa, -3, sb, 5, so, 127,
                      nhwc=False)

    # ATen's 64-element blocks: scales where FMA and plain dequantization often round apart,
    # lengths with tails of every size class (a 128-element block would move 64..127 of them)
    for op in ["add", "add_relu"]:
        for dt in ["u8", "s8"]:
            lo, hi = RANGE[dt]
            for n in [65, 100, 127, 129, 191, 200, 255, 300, 383, 450]:
                sa, sb, so = [(0.1, 0.05, 0.1), (0.3, 0.7, 0.9), (0.02, 0.03, 0.01)][n % 3]
                za, zb = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
                zo = int(rng.integers(lo, hi - 30))
                emit_case(op, "onednn", dt, (1, 1, n, 1), (1, 1, n, 1), sa, za, sb, zb, so, zo,
                          nhwc=False)
            emit_case(op, "onednn", dt, (2, 3, 5, 7), (2, 3, 5, 7), 0.1, 3, 0.05, 9, 0.1, 20,
                      nhwc=True)

    # exhaustive grids
    grid_specs = [
        # (a/out ratio, b/out ratio, out scale)
        (0.5, 0.25, 0.1), (0.75, 0.5, 0.0123), (0.25, 0.75, 1.0 / 64), (0.5, 0.5, 0.3),
    ]
    for op in ["add", "add_relu", "mul"]:
        for eng in ["onednn", "qnnpack"]:
            for dt in ["u8", "s8"]:
                lo, hi = RANGE[dt]
                vals = np.arange(lo, hi + 1, dtype=np.int64)
                ga = np.repeat(vals, 256)
                gb = np.tile(vals, 256)
                for gi, (ra, rb, so) in enumerate(grid_specs):
                    if op.startswith("add"):
                        sa, sb = ra * so, rb * so
                    else:
                        sa, sb = ra * 0.05, rb * 0.1
                        so = sa * sb / (ra * 0.5)
                    za = int(rng.integers(lo, hi + 1))
                    zb = int(rng.integers(lo, hi + 1))
                    zo = int(rng.integers(lo, hi)) if dt == "s8" else int(rng.integers(lo, hi))
                    for chunk in ([65536, 63] if op.startswith("add") and eng == "onednn" else [65536]):
                        if (op, eng) == ("add_relu", "onednn") and chunk == 63 and gi > 1:
                            continue
                        y = np.empty(65536, np.int64)
                        for s in range(0, 65536, chunk):
                            e = min(65536, s + chunk)
                            y[s:e] = run_torch(op, eng, dt, ga[s:e].astype(NPDT[dt]).reshape(1, 1, -1, 1),
                                               gb[s:e].astype(NPDT[dt]).reshape(1, 1, -1, 1),
                                               sa, za, sb, zb, so, zo, nhwc=False)
                            ref = model(op, eng, dt, ga[s:e], gb[s:e], sa, za, sb, zb, so, zo)
                            if not np.array_equal(ref, y[s:e]):
                                sys.exit(f"grid model disagrees: {op} {eng} {dt} {gi} chunk {chunk}")
                        rows = [fnv1a(y[r * 1024:(r + 1) * 1024].astype(NPDT[dt]).view(np.uint8))
                                for r in range(64)]
                        lines.append(f"grid {fmt_params(op, eng, dt, sa, za, sb, zb, so, zo)} "
                                     f"chunk={chunk}")
                        lines.append("rows " + " ".join(f"{h:016x}" for h in rows))
                        stat((op, eng, dt), "grids")
                        stat((op, eng, dt), "grid_values", 65536)

    # one file per op: <out>-add.txt (add, add_relu) and <out>-mul.txt (mul, mul_relu)
    for fam in ["add", "mul"]:
        with open(f"{args.out}-{fam}.txt", "w") as f:
            keep = [lines[0]]
            take = False
            for ln in lines[1:]:
                if ln.startswith("case ") or ln.startswith("grid "):
                    take = (" op=" + fam) in ln
                if take:
                    keep.append(ln)
            f.write("\n".join(keep) + "\n")
    for k in sorted(stats):
        print(" ".join(k), stats[k])


if __name__ == "__main__":
    main()
