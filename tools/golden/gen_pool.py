#!/usr/bin/python3
"""Golden quantized max_pool2d / avg_pool2d / adaptive_avg_pool2d cases from real PyTorch 1.13.

Usage:
  /usr/bin/python3 tools/golden/gen_pool.py --engine qnnpack|onednn --op max|avg|adaptive \
      --cases N --seed S --out FILE

Engines: this torch has qnnpack and onednn (no fbgemm). ATen's quantized pooling code does not
look at the engine except for the qnnpack branches (quint8 max/avg pool without ceil_mode and
adaptive pools whose input is a multiple of the output go to QNNPACK); the onednn-engine files
therefore hold what every non-qnnpack PyTorch engine (fbgemm, x86, onednn) computes, and
test/pool_test.cc runs them under each of those numerics modes.

Each case draws a random configuration: N 1-2, C 1-40 (a third of the cases 33-80, for the SIMD
blocks), H, W 1-12, kernel 1-4 (max also dilation 1-3), stride 1-3, padding 0..k/2, ceil_mode,
count_include_pad, divisor_override, u8 / s8, zero points at the extremes a third of the time,
activations uniform / concentrated / saturated, scales log-uniform over 1e-6 .. 1e3, and the input
either channels-last (x.contiguous(memory_format=torch.channels_last), what a quantized conv
returns) or contiguous NCHW. Torch's refusals (e.g. QNNPACK's 1x1 kernels) are written as
`expect error <message>`. Every accepted output is recomputed with numerics_reference.py where it
models the case (the team's verified numpy model); a mismatch aborts.

Format (one block per case, NCHW values):
  case NAME / numerics / op / type / shape N C H W / kernel KH KW / stride SH SW /
  padding PH PW / dilation DH DW / ceil_mode / count_include_pad / divisor_override (0 = none) /
  output_size OH OW (adaptive) / memory_format channels_last|contiguous / scale / zero_point /
  input ... / expect ok OH OW + output ... | expect error MESSAGE / end
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numerics_reference as R  # noqa: E402

MAGIC = "qk-golden-pool2d 1"
QR = {"u8": (0, 255), "s8": (-128, 127)}
TD = {"u8": torch.quint8, "s8": torch.qint8}
ND = {"u8": np.uint8, "s8": np.int8}
NUMERICS = {"qnnpack": "pytorch-qnnpack", "onednn": "pytorch-onednn-1.13"}


def rand_q(rng, shape, dt):
    lo, hi = QR[dt]
    kind = rng.integers(0, 3)
    if kind == 0:
        q = rng.integers(lo, hi + 1, shape)
    elif kind == 1:  # concentrated around a random centre (ties in the average)
        c = rng.integers(lo, hi + 1)
        q = np.clip(c + rng.integers(-3, 4, shape), lo, hi)
    else:  # saturated
        q = rng.choice([lo, hi, lo + 1, hi - 1], shape)
    return q.astype(np.int64)


def rand_zp(rng, dt):
    lo, hi = QR[dt]
    if rng.integers(0, 3) == 0:
        return int(rng.choice([lo, hi]))
    return int(rng.integers(lo, hi + 1))


def make_case(rng, op, engine, i):
    dt = "u8" if rng.integers(0, 3) else "s8"
    N = 2 if rng.integers(0, 4) == 0 else 1
    C = int(rng.integers(33, 73)) if i % 6 == 0 else int(rng.integers(1, 25))
    c = dict(op=op, type=dt, N=N, C=C, kh=1, kw=1, sh=1, sw=1, ph=0, pw=0, dh=1, dw=1, ceil=0,
             cip=1, div=0, oh=0, ow=0)
    c["cl"] = bool(rng.integers(0, 2))
    c["scale"] = float(10 ** rng.uniform(-6, 3))
    c["zp"] = rand_zp(rng, dt)
    if op == "adaptive":
        if i % 5 == 4:  # global average pool, larger images
            H, W = int(rng.integers(1, 15)), int(rng.integers(1, 15))
            c["C"] = min(C, 16)
            c["oh"] = c["ow"] = 1
        else:
            H, W = int(rng.integers(1, 10)), int(rng.integers(1, 10))
            if i % 2:  # a divisor: QNNPACK's path on qnnpack u8
                c["oh"] = int(rng.choice([d for d in range(1, H + 1) if H % d == 0]))
                c["ow"] = int(rng.choice([d for d in range(1, W + 1) if W % d == 0]))
            else:
                c["oh"], c["ow"] = int(rng.integers(1, H + 3)), int(rng.integers(1, W + 3))
    else:
        c["kh"], c["kw"] = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        c["sh"], c["sw"] = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        c["ph"] = int(rng.integers(0, c["kh"] // 2 + 1))
        c["pw"] = int(rng.integers(0, c["kw"] // 2 + 1))
        if rng.integers(0, 12) == 0:  # a refusal: padding above half the kernel
            c["ph"] = c["kh"] // 2 + 1
        if op == "max" and rng.integers(0, 2):
            c["dh"], c["dw"] = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        c["ceil"] = int(rng.integers(0, 3) == 0)
        if op == "avg":
            c["cip"] = int(rng.integers(0, 2))
            if rng.integers(0, 4) == 0:
                c["div"] = int(rng.integers(1, 40))
        ext_h = c["dh"] * (c["kh"] - 1) + 1
        ext_w = c["dw"] * (c["kw"] - 1) + 1
        lo_h, lo_w = max(1, ext_h - 2 * c["ph"]), max(1, ext_w - 2 * c["pw"])
        H = int(rng.integers(lo_h, max(lo_h + 1, 10)))
        W = int(rng.integers(lo_w, max(lo_w + 1, 10)))
        if op == "avg" and H * W == 1 and c["C"] > 1:
            # PyTorch 1.13 bug: a 1x1 input (its strides are both NCHW and NHWC) takes the NHWC
            # kernel, whose NHWC output bytes are returned as an NCHW-contiguous tensor when the
            # output has more than one pixel: the logical values come out permuted (qk's NHWC
            # output equals torch's memory). Not a case to record.
            W = 2
    if op == "adaptive" and H * W == 1 and c["C"] > 1:
        # the same PyTorch 1.13 layout bug as avg_pool2d's below, for outputs of several pixels
        c["oh"] = c["ow"] = 1
    c["H"], c["W"] = H, W
    c["q"] = rand_q(rng, (N, c["C"], H, W), dt)
    return c


def run_torch(c):
    x = torch._make_per_tensor_quantized_tensor(torch.from_numpy(c["q"].astype(ND[c["type"]])),
                                                c["scale"], c["zp"])
    if c["cl"]:
        x = x.contiguous(memory_format=torch.channels_last)
    if c["op"] == "max":
        y = F.max_pool2d(x, (c["kh"], c["kw"]), (c["sh"], c["sw"]), (c["ph"], c["pw"]),
                         (c["dh"], c["dw"]), ceil_mode=bool(c["ceil"]))
    elif c["op"] == "avg":
        y = F.avg_pool2d(x, (c["kh"], c["kw"]), (c["sh"], c["sw"]), (c["ph"], c["pw"]),
                         ceil_mode=bool(c["ceil"]), count_include_pad=bool(c["cip"]),
                         divisor_override=c["div"] or None)
    else:
        y = F.adaptive_avg_pool2d(x, (c["oh"], c["ow"]))
    assert y.q_scale() == x.q_scale() and y.q_zero_point() == x.q_zero_point()
    return y.int_repr().contiguous().numpy().astype(np.int64)


def reference(c, engine):
    """numerics_reference.py's answer, or None where it does not model the case."""
    q, dt = c["q"], c["type"]
    tq = "quint8" if dt == "u8" else "qint8"
    qnn = engine == "qnnpack" and dt == "u8"
    k, s, p = (c["kh"], c["kw"]), (c["sh"], c["sw"]), (c["ph"], c["pw"])
    if c["op"] == "max":
        if c["ceil"]:
            return None
        if qnn:
            return R.max_pool2d_qnnpack(q, k, s, p, (c["dh"], c["dw"]))
        # a window with every tap in the padding: ATen's max starts at the type's lowest value
        r = R.max_pool2d(q, k, s, p, (c["dh"], c["dw"]))
        return np.where(r == np.iinfo(np.int64).min, QR[dt][0], r)
    if c["op"] == "avg":
        if qnn and not c["ceil"]:
            return R.avg_pool2d_qnnpack(q, k, s, p, c["scale"], c["zp"])
        return R.avg_pool2d(q, k, s, p, bool(c["cip"]), c["div"] or None, c["zp"], tq,
                            bool(c["ceil"]), c["scale"], c["scale"], channels_last=c["cl"])
    H, W, OH, OW = c["H"], c["W"], c["oh"], c["ow"]
    if qnn and not (H == OH and W == OW) and H % OH == 0 and W % OW == 0:
        return R.avg_pool2d_qnnpack(q, (H // OH, W // OW), (H // OH, W // OW), (0, 0), c["scale"],
                                    c["zp"])
    return R.adaptive_avg_pool2d(q, (OH, OW), c["zp"], tq, channels_last=c["cl"])


def fmt_case(name, numerics, c, out, err):
    L = [f"case {name}", f"numerics {numerics}", f"op {c['op']}", f"type {c['type']}",
         f"shape {c['N']} {c['C']} {c['H']} {c['W']}", f"kernel {c['kh']} {c['kw']}",
         f"stride {c['sh']} {c['sw']}", f"padding {c['ph']} {c['pw']}",
         f"dilation {c['dh']} {c['dw']}", f"ceil_mode {c['ceil']}",
         f"count_include_pad {c['cip']}", f"divisor_override {c['div']}",
         f"output_size {c['oh']} {c['ow']}",
         f"memory_format {'channels_last' if c['cl'] else 'contiguous'}",
         f"scale {c['scale']!r}", f"zero_point {c['zp']}",
         "input " + " ".join(map(str, c["q"].ravel().tolist()))]
    if err is not None:
        L.append("expect error " + err.replace("\n", " ")[:200])
    else:
        L.append(f"expect ok {out.shape[2]} {out.shape[3]}")
        L.append("output " + " ".join(map(str, out.ravel().tolist())))
    L.append("end")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True, choices=["qnnpack", "onednn"])
    ap.add_argument("--op", required=True, choices=["max", "avg", "adaptive"])
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--torch26", action="store_true",
                    help="torch 2.6 (inside tools/debian13-root.sh): the onednn engine is numerics pytorch-onednn")
    a = ap.parse_args()
    torch.backends.quantized.engine = a.engine
    if a.torch26:
        NUMERICS["onednn"] = "pytorch-onednn"
    torch.set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    blocks, ok, errors, checked, outputs = [], 0, 0, 0, 0
    for i in range(a.cases):
        c = make_case(rng, a.op, a.engine, i)
        try:
            out, err = run_torch(c), None
        except RuntimeError as e:
            out, err = None, str(e).split("\n")[0]
        if err is None:
            ref = reference(c, a.engine)
            if ref is not None:
                if not np.array_equal(ref, out):
                    sys.exit(f"case {i}: torch and numerics_reference.py disagree: "
                             f"{ {k: v for k, v in c.items() if k != 'q'} }")
                checked += 1
            ok += 1
            outputs += out.size
        else:
            errors += 1
        blocks.append(fmt_case(f"{a.engine}-{a.op}-{a.seed}-{i}", NUMERICS[a.engine], c, out, err))
    with open(a.out, "w") as f:
        f.write(f"{MAGIC}\n# generated by tools/golden/gen_pool.py --engine {a.engine} --op {a.op} "
                f"--cases {a.cases} --seed {a.seed}{' --torch26' if a.torch26 else ''} (torch {torch.__version__})\n")
        f.writelines(blocks)
    print(f"{a.out}: {ok} cases ({outputs} outputs, {checked} cross-checked with "
          f"numerics_reference.py), {errors} torch refusals")


if __name__ == "__main__":
    main()
