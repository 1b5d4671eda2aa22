#!/usr/bin/python3
"""Generate golden quantized linear (fully connected) cases from PyTorch 1.13, or from the team's
verified PyTorch 2.6 onednn reference.

Usage:
  /usr/bin/python3 tools/golden/gen_linear.py --engine qnnpack|onednn|onednn26-ref --cases N \
      --seed S --out FILE

Writes FILE in the linear golden format (docs/ops-linear.md, "Golden files").

  * engine qnnpack: torch.ops.quantized.linear / linear_relu with prepacked weights on PyTorch's
    qnnpack engine. quint8 activations run QNNPACK, qint8 ones XNNPACK's fully connected operator;
    both are numerics `pytorch-qnnpack` (input_type u8 / s8).
  * engine onednn: the same on the onednn engine of torch 1.13 (numerics `pytorch-onednn-1.13`).
  * engine onednn26-ref: numerics `pytorch-onednn` (PyTorch >= 2.2, oneDNN 3.x). PyTorch 2.x is not
    installed here: the expected values come from torch26/onednn3_ref.py (a copy of the team's
    numpy reference, verified against real PyTorch 2.6 on 2000 linear cases with 0 mismatches,
    numerics/pytorch26.md §2), op="linear": the weight scale goes through the double reciprocal
    f32(1/f32(1/ws)). Half of these cases are targeted: accumulators where that rule and the conv
    rule (ws as it is) round differently, so a qk without the rule fails them.
  * Shapes: K (in_features) often not a multiple of 4 or 16, batch 1..65, O 1..40; per-tensor and
    per-channel weights; nonzero weight zero points where the engine takes them; extreme scales
    (multipliers 1e-7..8), huge biases; relu through linear_relu; targeted ties (accumulators
    where the candidate multiplier / zero-point orders disagree, as the team's verify.py does).
  * A few cases are deliberate refusals (torch raises): written `expect unsupported <message>`.

Safety nets: every torch output is recomputed with numerics_reference.py (the team's verified
numpy model of 1.13) and a mismatch aborts before anything is written. torch 1.13's onednn engine
caches primitives and can reuse one with a stale output zero point for a later op of the same
shape (numerics.md §2.7): every onednn case here has a (batch, K, O) no earlier case had, and the
cross-check would catch a miss.
"""
import argparse
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "torch26"))
import numerics_reference as R  # noqa: E402

FORMAT_MAGIC = "qk-golden-linear 1"
F32 = np.float32
KS = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 129]
QRANGE = {"u8": (0, 255), "s8": (-128, 127)}
MIN_QS8_MULT, MAX_QS8_MULT = 2.0 ** -31, 256.0
K1 = 16  # targeted cases: K = K1 + 1, weights [127] * K1 + [1]
MAX_TARGETED_ROWS = 32


def f32(v):
    return float(F32(v))


def loguniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_zp(rng, t):
    lo, hi = QRANGE[t]
    if rng.random() < 0.3:
        return int(rng.choice([lo, hi]))
    return int(rng.integers(lo, hi + 1))


def draw_ints(rng, shape, lo, hi):
    kind = rng.integers(0, 4)
    if kind == 0:
        v = np.round(rng.normal((lo + hi) / 2, (hi - lo) / 8, size=shape))
    elif kind == 1:
        v = rng.choice([lo, hi, lo + 1, hi - 1, (lo + hi) // 2], size=shape)
        v = np.where(rng.random(shape) < 0.5, v, rng.integers(lo, hi + 1, size=shape))
    else:
        v = rng.integers(lo, hi + 1, size=shape)
    return np.clip(v, lo, hi).astype(np.int64)


def qs8_mults(c):
    ws = np.array(c["ws"], np.float64)
    return (F32(c["sx"]) * ws.astype(F32)) / F32(c["so"])


def acc_of(c):
    O = c["w"].shape[0]
    wz = np.array(c["wz"] * O if len(c["wz"]) == 1 else c["wz"], np.int64)
    return R.linear_acc(c["x"], c["xz"], c["w"], wz)


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------
def draw_random(rng, engine, itype, refusal, used):
    while True:
        r = rng.random()  # batch 1..65, mostly small (the files must stay small)
        M = int(rng.integers(1, 9)) if r < 0.7 else int(rng.integers(9, 34)) if r < 0.9 else \
            int(rng.choice([64, 65]))
        K = int(rng.choice(KS if M <= 4 else KS[:-2]))
        O = int(rng.integers(1, 41)) if M * K < 2000 else int(rng.integers(1, 9))
        if engine == "qnnpack" or (M, K, O) not in used:
            break
    used.add((M, K, O))
    per_channel = bool(rng.random() < 0.5)
    if itype == "s8" and engine == "qnnpack" and refusal != "s8_per_channel":
        per_channel = False  # XNNPACK's fully connected is per tensor (refusal below)
    if refusal == "s8_per_channel":
        per_channel = True
    extreme = rng.random() < 0.2
    sx = f32(loguniform(rng, 1e-6, 10.0) if extreme else loguniform(rng, 1e-3, 0.5))
    nws = O if per_channel else 1
    ws = [f32(loguniform(rng, 1e-6, 1.0) if extreme else loguniform(rng, 1e-4, 0.05))
          for _ in range(nws)]
    lo, hi = QRANGE[itype]
    xz = draw_zp(rng, itype)
    x = draw_ints(rng, (M, K), lo, hi)
    w = draw_ints(rng, (O, K), -128, 127)
    wz = [0] * nws
    if engine == "qnnpack" and itype == "u8" and rng.random() < 0.35:
        wz = [int(rng.integers(-128, 128)) for _ in range(nws)]
    if refusal in ("weight_zp", "s8_weight_zp"):
        wz = [int(rng.choice([-3, 5, 17]))] * nws
    if refusal == "weight_zp_pc":
        wz = [0] * nws
        wz[-1] = 7
    c = dict(engine=engine, itype=itype, x=x, w=w, sx=sx, xz=xz, ws=ws, wz=wz,
             per_channel=per_channel, relu=bool(rng.random() < 0.5), refusal=refusal)
    acc = acc_of(c)
    typ = float(np.abs(acc).mean()) + 1
    mk = rng.integers(0, 6)
    if mk == 0:
        mult, mkind = rng.uniform(1.0, 8.0), "big"
    elif mk == 1:
        mult, mkind = loguniform(rng, 1e-7, 1e-5), "tiny"
    else:
        mult, mkind = 100.0 / typ * rng.uniform(0.3, 3), "typical"
    if refusal == "s8_mult_ge_256":
        mult, mkind = rng.uniform(300, 1000), "refused"
    so = f32(sx * float(np.mean(ws)) / mult)
    c.update(so=so, oz=draw_zp(rng, itype), mkind=mkind)
    if itype == "s8" and engine == "qnnpack" and refusal is None:
        m = qs8_mults(c)
        if not (m.min() >= MIN_QS8_MULT and m.max() < MAX_QS8_MULT):  # XNNPACK asserts / refuses
            c["so"] = so = f32(sx * float(np.mean(ws)))
            c["mkind"] = "unit"
    bias, bmode = None, "none"
    if rng.random() < 0.7:
        k = float(rng.choice([0.1, 1, 10, 1000]))
        bias = (rng.normal(0, 1, O) * typ * sx * float(np.mean(ws)) * k).astype(F32)
        bmode = "x%g" % k
        if rng.random() < 0.05:  # saturates int32 when quantized (qnnpack linear keeps INT32_MAX)
            bias = (np.abs(bias) + F32(3e9 * sx * float(np.max(ws)))).astype(F32)
            bmode = "huge"
    c.update(bias=bias, bmode=bmode, kind="random")
    return c


def build_rows(ts):
    """rows x (values 0..255, zero point 128) with Σ_k (x_k - 128) w_k == t for w = [127]*K1 + [1]"""
    p = np.round(ts / 127).astype(np.int64)
    q = ts - 127 * p
    X = np.zeros((len(ts), K1 + 1), np.int64)
    rem = p.copy()
    for k in range(K1):
        cl = np.clip(rem, -128, 127)
        X[:, k] = cl
        rem = rem - cl
    X[:, K1] = q
    return X + 128


def targeted_candidates(engine):
    """y(t) of formulas an implementation might use instead; 'mine' is the framework's"""
    rne = R.rne

    def qnn_div(xs, ws, os_, zp, t):
        return rne(t.astype(F32) * ((F32(ws) * F32(xs)) / F32(os_))) + zp

    def qnn_mul(xs, ws, os_, zp, t):
        return rne(t.astype(F32) * ((F32(ws) * F32(xs)) * (F32(1) / F32(os_)))) + zp

    def dnn_after(xs, ws, os_, zp, t):
        return rne(t.astype(F32) * (R.f32(1 / os_) / (R.f32(1 / xs) * R.f32(1 / ws)))) + zp

    def dnn_float(xs, ws, os_, zp, t):
        return rne(t.astype(F32) * (R.f32(1 / os_) / (R.f32(1 / xs) * R.f32(1 / ws))) + F32(zp))

    import onednn3_ref as O3

    def dnn3(op):
        return lambda xs, ws, os_, zp, t: O3.requant_onednn3(
            t.reshape(-1, 1), xs, [ws], os_, zp, None, False, op=op)[:, 0]

    cands = {"qnnpack_div": qnn_div, "qnnpack_mul": qnn_mul, "onednn113_zp_after": dnn_after,
             "onednn113": dnn_float, "onednn3_linear": dnn3("linear"), "onednn3_conv": dnn3("conv")}
    mine = {"qnnpack": "qnnpack_mul", "onednn": "onednn113", "onednn26-ref": "onednn3_linear"}[engine]
    return cands, mine


def draw_targeted(rng, engine, used):
    cands, mine = targeted_candidates(engine)
    for _ in range(1000):
        xs = f32(loguniform(rng, 1e-3, 0.1))
        ws = f32(loguniform(rng, 5e-4, 0.02))
        if engine == "onednn26-ref":  # the rule only shows where f32(1/f32(1/ws)) != ws
            import onednn3_ref as O3
            if float(O3.rcp2(F32(ws))) == ws:
                continue
        os_ = f32(xs * ws * rng.uniform(100, 4000))
        zp = draw_zp(rng, "u8")
        r = int(300 / (xs * ws / os_))
        t = np.arange(-r, r)
        t = t[np.abs(t) < 127 * 127 * K1]
        outs = {k: np.clip(f(xs, ws, os_, zp, t), 0, 255) for k, f in cands.items()}
        sel = np.zeros(t.shape, bool)
        if engine == "onednn26-ref":
            sel |= outs["onednn3_conv"] != outs[mine]
        else:
            for k in cands:
                if k != mine and not k.startswith("onednn3"):
                    sel |= outs[k] != outs[mine]
        if sel.sum() == 0:
            continue
        ts = t[sel]
        if len(ts) > MAX_TARGETED_ROWS:
            ts = np.sort(rng.choice(ts, MAX_TARGETED_ROWS, replace=False))
        n = len(ts)  # onednn: a (batch, K, O) no earlier case had (primitive cache)
        while engine == "onednn" and (n, K1 + 1, 1) in used and n > 1:
            n -= 1
        if engine == "onednn" and (n, K1 + 1, 1) in used:
            continue
        ts = ts[:n]
        used.add((n, K1 + 1, 1))
        return dict(engine=engine, itype="u8", x=build_rows(ts), w=np.array([[127] * K1 + [1]]),
                    sx=xs, xz=128, ws=[ws], wz=[0], per_channel=bool(rng.random() < 0.5),
                    relu=False, refusal=None, so=os_, oz=zp, mkind="targeted", bias=None,
                    bmode="none", kind="targeted (%d of %d accumulators where the formulas differ)"
                    % (len(ts), int(sel.sum())))
    raise RuntimeError("no targeted case found")


# ----------------------------------------------------------------------------------------------
# framework and reference
# ----------------------------------------------------------------------------------------------
def run_torch(c):
    import torch
    tint = {"u8": torch.uint8, "s8": torch.int8}[c["itype"]]
    xt = torch._make_per_tensor_quantized_tensor(torch.from_numpy(c["x"]).to(tint), c["sx"], c["xz"])
    wi = torch.from_numpy(c["w"]).to(torch.int8)
    if c["per_channel"]:
        wt = torch._make_per_channel_quantized_tensor(
            wi, torch.tensor(c["ws"], dtype=torch.double), torch.tensor(c["wz"], dtype=torch.long), 0)
    else:
        wt = torch._make_per_tensor_quantized_tensor(wi, c["ws"][0], c["wz"][0])
    bias = None if c["bias"] is None else torch.from_numpy(c["bias"])
    packed = torch.ops.quantized.linear_prepack(wt, bias)
    op = torch.ops.quantized.linear_relu if c["relu"] else torch.ops.quantized.linear
    y = op(xt, packed, c["so"], c["oz"])
    return y.int_repr().numpy().astype(np.int64)


def reference(c):
    acc = acc_of(c)
    O = c["w"].shape[0]
    ws = c["ws"] * O if len(c["ws"]) == 1 else c["ws"]
    if c["engine"] == "onednn26-ref":
        import onednn3_ref as O3
        return O3.requant_onednn3(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"],
                                  op="linear", chan_axis=1)
    if c["engine"] == "onednn":
        return R.requant_onednn(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"],
                                c["per_channel"])
    if c["itype"] == "s8":
        return R.requant_qnnpack_qs8(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"])
    return R.requant_qnnpack(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"],
                             c["per_channel"], "quint8", op="linear")


def refusal_reason(err):
    text = re.sub(r"\s*But got:.*$", "", str(err).strip(), flags=re.S)
    if not text:
        return "RuntimeError with an empty message"
    msg = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text.splitlines()[0])
    return " ".join(msg.split())[:120]


def ints(a):
    return " ".join(str(int(v)) for v in np.asarray(a).ravel())


NUMERICS = {"qnnpack": "pytorch-qnnpack", "onednn": "pytorch-onednn-1.13",
            "onednn26-ref": "pytorch-onednn"}


def format_case(c, idx, result):
    tags = [c["engine"], "%04d" % idx, c["itype"], "k%d" % c["x"].shape[1]]
    if c["per_channel"]:
        tags.append("pc")
    if c["relu"]:
        tags.append("relu")
    if c["mkind"] == "targeted":
        tags.append("ties")
    if c["refusal"]:
        tags.append("refuse")
    note = "# %s; multiplier %s; bias %s" % (c["kind"], c["mkind"], c["bmode"])
    if c["refusal"]:
        note += "; provokes refusal " + c["refusal"]
    lines = [
        note,
        "case " + "-".join(tags),
        "numerics " + NUMERICS[c["engine"]],
        "input_type " + c["itype"],
        "input_shape %d %d" % c["x"].shape,
        "weight_shape %d %d" % c["w"].shape,
        "input_scale " + repr(c["sx"]),
        "input_zero_point %d" % c["xz"],
        "weight_scales %d %s" % (len(c["ws"]), " ".join(repr(v) for v in c["ws"])),
        "weight_zero_points %d %s" % (len(c["wz"]), ints(c["wz"])),
        "weight_quantization " + ("per-channel" if c["per_channel"] else "per-tensor"),
        "bias none" if c["bias"] is None else
        "bias f32 %d %s" % (len(c["bias"]), " ".join(repr(float(v)) for v in c["bias"])),
        "output_scale " + repr(c["so"]),
        "output_zero_point %d" % c["oz"],
        "relu %d" % int(c["relu"]),
        "input " + ints(c["x"]),
        "weight " + ints(c["w"]),
    ]
    if isinstance(result, str):
        lines.append("expect unsupported " + result)
    else:
        lines += ["expect output", "output " + ints(result)]
    lines.append("end")
    return "\n".join(lines) + "\n"


REFUSALS = {"qnnpack": ["s8_per_channel", "s8_weight_zp", "s8_mult_ge_256"],
            "onednn": ["weight_zp", "weight_zp_pc", "s8_input"], "onednn26-ref": []}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", required=True, choices=sorted(NUMERICS))
    ap.add_argument("--cases", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--torch26", action="store_true",
                    help="run REAL torch 2.6 (inside tools/debian13-root.sh): engine onednn26-ref "
                    "then runs torch's onednn engine and cross-checks with onednn3_ref.py")
    args = ap.parse_args()
    real = args.engine != "onednn26-ref" or args.torch26
    if real:
        import torch
        torch.set_num_threads(1)
        torch.backends.quantized.engine = "onednn" if args.engine == "onednn26-ref" else args.engine
    rng = np.random.default_rng(args.seed)
    used, out, n_refused, surprises = set(), [], 0, []
    kinds = REFUSALS[args.engine]
    for i in range(args.cases):
        refusal = kinds[(i // 12) % len(kinds)] if kinds and i % 12 == 11 else None
        if i % 4 == 3 and refusal is None:
            c = draw_targeted(rng, args.engine, used)
        else:
            itype = "u8"
            if args.engine == "qnnpack" and (rng.random() < 0.35 or
                                             (refusal or "").startswith("s8")):
                itype = "s8"
            if refusal == "s8_input":
                itype = "s8"
            c = draw_random(rng, args.engine, itype, refusal, used)
        if real:
            try:
                result = run_torch(c)
            except RuntimeError as e:
                result = refusal_reason(e)
                n_refused += 1
                if not refusal:
                    surprises.append("case %d: unexpected refusal: %s" % (i + 1, result))
        else:
            result = reference(c)
        if not isinstance(result, str):
            want = reference(c)
            bad = np.argwhere(want != result)
            if len(bad):
                sys.exit("gen_linear: ABORT, nothing written: torch and the reference disagree on "
                         "case %d (%d of %d values)\n%s" % (i + 1, len(bad), want.size,
                                                           format_case(c, i + 1, result)))
            if refusal:
                surprises.append("case %d: accepted although expected refused (%s)" % (i + 1, refusal))
        out.append(format_case(c, i + 1, result))
    if real:
        fw = "torch %s (Debian python3-torch), engine %s, 1 thread" % (
            torch.__version__, torch.backends.quantized.engine)
        check = "every output was cross-checked against tools/golden/" + (
            "torch26/onednn3_ref.py" if args.engine == "onednn26-ref" else "numerics_reference.py")
    else:
        fw = ("no framework run: expected values from tools/golden/torch26/onednn3_ref.py "
              "requant_onednn3(op=\"linear\"), the team's reference verified against real "
              "PyTorch 2.6 (oneDNN 3.7.2) on 2000 linear cases, 0 mismatches (numerics/pytorch26.md)")
        check = "targeted cases: accumulators where ws' = f32(1/f32(1/ws)) and ws round differently"
    header = [FORMAT_MAGIC,
              "# generator: tools/golden/gen_linear.py --engine %s --cases %d --seed %d%s"
              % (args.engine, args.cases, args.seed, " --torch26" if args.torch26 else ""),
              "# framework: " + fw + "; numpy " + np.__version__,
              "# seed %d, %d cases, %d of them 'expect unsupported'" % (args.seed, args.cases, n_refused),
              "# " + check]
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(header) + "\n")
        f.writelines(out)
    os.replace(tmp, args.out)
    for s in surprises:
        print("gen_linear: note: " + s, file=sys.stderr)
    print("gen_linear: %s: %d cases (%d refusals) -> %s" % (args.engine, args.cases, n_refused,
                                                           args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
