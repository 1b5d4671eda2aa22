#!/usr/bin/python3
"""Generate golden quantized conv2d cases from PyTorch 1.13 (engines qnnpack / onednn).

Usage:
  /usr/bin/python3 tools/golden/gen_torch.py --engine qnnpack|onednn --cases N --seed S --out FILE

Writes FILE in the format of docs/golden-format.md.  Needs Debian's python3-torch (1.13) and
python3-numpy, hence /usr/bin/python3 rather than whatever python3 is first on PATH.

What the cases are
  * engine qnnpack: quint8 activations (QNNPACK q8conv path) and qint8 activations (XNNPACK
    qs8/qc8 path); both are numerics `pytorch-qnnpack`, told apart by input_type u8 / s8.
  * engine onednn: quint8 activations, symmetric weights (numerics `pytorch-onednn-1.13`).
  * Each case draws a random configuration but is "focused" on one feature taken round-robin from
    a list (depthwise, dilation, asymmetric padding, tiny multiplier, huge bias ...), so even a
    60-case CI run covers every feature; the rest of the configuration stays random.
  * A few percent of the cases are deliberate refusals: configurations torch rejects with a
    RuntimeError, written as `expect unsupported <torch's message>`.

Safety nets
  * Every torch output is recomputed with numerics_reference.py (a copy of the team's verified
    numpy model); a mismatch aborts before anything is written: a golden file must never hold a
    value we cannot explain.
  * PyTorch 1.13's onednn engine caches conv primitives and reuses one with a stale output zero
    point for a later conv of the same shape (team numerics notes, section 2.7); so within one run every
    onednn case gets a shape no earlier case had (the cross-check above would catch a miss).
  * XNNPACK (qint8 path) *asserts* and kills the process when a per-tensor requantization scale
    is below 2^-32; such draws are never handed to torch (see MIN_QS8_MULT).
  * quint8 QNNPACK treats an int32-saturated bias differently in 1x1 stride-1 convs than in the
    others; those biases are kept below 2^31-1 there (see keep_below_int32_max).
"""
import time

T_START = time.time()  # the summary's seconds include importing torch (most of a short run)

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numerics_reference as R  # noqa: E402

FORMAT_MAGIC = "qk-golden-conv2d 1"
F32 = np.float32
QRANGE = {"u8": (0, 255), "s8": (-128, 127)}
TORCH_QDTYPE = {"u8": torch.quint8, "s8": torch.qint8}
TORCH_INT = {"u8": torch.uint8, "s8": torch.int8}

# Keep tensors small: the two committed files together must stay well under 5 MB.
MAX_C, MAX_OC, MAX_HW = 16, 16, 12

# XNNPACK's qs8 params init asserts scale >= 2^-32 (process abort, not an exception). The per-channel
# (qc8) path does not assert, but we keep both paths a factor 2 clear of the edge.
MIN_QS8_MULT = 2.0 ** -31
# XNNPACK rejects (with an exception: "failed(4)") requantization scales >= 256.
MAX_QS8_MULT = 256.0

# Features a case may be focused on (round-robin).  "why": each is a place where an int8 conv
# implementation typically goes wrong (tails, index maths, epilogue rounding/overflow).
FOCI = [
    "odd_channels", "depthwise", "depthwise_x2", "groups", "dilation", "stride2", "mixed_stride",
    "asym_pad", "sym_pad", "k1x1", "k3x3", "k5x5", "nonsquare", "per_channel", "extreme_zp",
    "tiny_mult", "unit_mult", "big_mult", "huge_bias", "wrap_bias", "no_bias", "relu", "saturated_input",
]

REFUSALS = {
    # engine -> kinds of configurations torch 1.13 refuses (exercised deliberately)
    "qnnpack": ["s8_weight_zp", "s8_relu_zp127", "s8_mult_ge_256", "s8_mult_ge_256_pc"],
    "onednn": ["weight_zp", "weight_zp_pc", "s8_input"],
}
REFUSAL_RATE = 0.075

NONSQUARE = [(3, 1), (1, 3), (2, 3), (3, 2), (1, 5), (5, 1), (2, 1), (1, 2), (5, 3)]


def f32(v):
    """the float32 value nearest v, as the Python float (double) torch is handed"""
    return float(F32(v))


def loguniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_zp(rng, itype, extreme):
    lo, hi = QRANGE[itype]
    if extreme or rng.random() < 0.3:
        return int(rng.choice([lo, hi]))
    return int(rng.integers(lo, hi + 1))


def draw_ints(rng, shape, lo, hi, saturated=False):
    """integer tensor values; saturated = every element at one end of the range"""
    if saturated:
        return np.full(shape, int(rng.choice([lo, hi])), np.int64)
    kind = rng.integers(0, 4)
    if kind == 0:  # concentrated around the middle, like real activations
        v = np.round(rng.normal((lo + hi) / 2, (hi - lo) / 8, size=shape))
    elif kind == 1:  # many values at or next to the extremes
        v = rng.choice([lo, hi, lo + 1, hi - 1, (lo + hi) // 2], size=shape)
        v = np.where(rng.random(shape) < 0.5, v, rng.integers(lo, hi + 1, size=shape))
    else:
        v = rng.integers(lo, hi + 1, size=shape)
    return np.clip(v, lo, hi).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------
def draw_structure(rng, focus):
    """shapes, kernel, stride, padding, dilation, groups (everything independent of the values)"""
    gkind = {"depthwise": "dw", "depthwise_x2": "dw2", "groups": "groups"}.get(focus)
    if gkind is None:
        gkind = rng.choice(["g1", "g1", "g1", "g1", "dw", "dw2", "groups"])
    if gkind == "dw":
        C = int(rng.integers(1, MAX_C + 1))
        groups, OC = C, C
    elif gkind == "dw2":  # depth multiplier 2
        C = int(rng.integers(1, MAX_OC // 2 + 1))
        groups, OC = C, 2 * C
    elif gkind == "groups":
        groups = int(rng.choice([2, 3]))
        C = groups * int(rng.integers(1, MAX_C // groups + 1))
        OC = groups * int(rng.integers(1, MAX_OC // groups + 1))
    else:
        groups = 1
        C = int(rng.integers(1, MAX_C + 1))
        OC = int(rng.integers(1, MAX_OC + 1))
    if focus == "odd_channels":  # not a multiple of any SIMD width: exercises channel tails
        groups = 1
        C = int(rng.choice(range(1, MAX_C + 1, 2)))
        OC = int(rng.choice(range(1, MAX_OC + 1, 2)))

    if focus in ("k1x1", "k3x3", "k5x5"):
        k = {"k1x1": (1, 1), "k3x3": (3, 3), "k5x5": (5, 5)}[focus]
    elif focus == "nonsquare":
        k = NONSQUARE[rng.integers(len(NONSQUARE))]
    else:
        r = rng.random()
        k = ((1, 1) if r < 0.25 else (3, 3) if r < 0.6 else (5, 5) if r < 0.7 else (2, 2) if r < 0.8
             else NONSQUARE[rng.integers(len(NONSQUARE))])

    if focus == "stride2":
        stride = (2, 2)
    elif focus == "mixed_stride":
        stride = [(1, 2), (2, 1)][rng.integers(2)]
    else:
        r = rng.random()
        stride = (1, 1) if r < 0.6 else (2, 2) if r < 0.85 else [(1, 2), (2, 1)][rng.integers(2)]

    if focus == "dilation":
        dil = [(2, 2), (2, 2), (1, 2), (2, 1)][rng.integers(4)]
        if k == (1, 1):  # dilation is invisible with a 1x1 kernel
            k = (3, 3)
    else:
        r = rng.random()
        dil = (1, 1) if r < 0.8 else (2, 2) if r < 0.9 else [(1, 2), (2, 1)][rng.integers(2)]

    pkind = {"asym_pad": "asym", "sym_pad": "sym"}.get(focus)
    if pkind is None:
        pkind = rng.choice(["none", "none", "sym", "sym", "sym", "asym"])
    if pkind == "none":
        pad = (0, 0, 0, 0)
    elif pkind == "sym":
        ph, pw = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        if ph == pw == 0:
            ph = 1
        pad = (ph, pw, ph, pw)  # top, left, bottom, right (golden-format order)
    else:
        while True:
            pad = tuple(int(v) for v in rng.integers(0, 4, size=4))
            if pad[0] != pad[2] or pad[1] != pad[3]:
                break

    # smallest input that still gives one output row / column
    ekh, ekw = dil[0] * (k[0] - 1) + 1, dil[1] * (k[1] - 1) + 1
    hmin = max(1, ekh - pad[0] - pad[2])
    wmin = max(1, ekw - pad[1] - pad[3])
    H = int(rng.integers(hmin, max(hmin, MAX_HW) + 1))
    W = int(rng.integers(wmin, max(wmin, MAX_HW) + 1))
    N = 1 if rng.random() < 0.7 else 2
    return dict(N=N, C=C, H=H, W=W, OC=OC, groups=groups, k=k, stride=stride, pad=pad, dil=dil)


def is_symmetric(pad):
    t, l, b, r = pad
    return t == b and l == r


def torch_geometry(s):
    """what torch actually sees: asymmetric padding becomes a padded input and padding 0"""
    t, l, b, r = s["pad"]
    if is_symmetric(s["pad"]):
        return s["H"], s["W"], (t, l)
    return s["H"] + t + b, s["W"] + l + r, (0, 0)


def shape_key(s):
    Hp, Wp, tpad = torch_geometry(s)
    return (s["N"], s["C"], Hp, Wp, s["OC"], s["k"], s["stride"], tpad, s["dil"], s["groups"])


def pad_input(x, pad, zp):
    """pad the integer input with its zero point: a padded tap then contributes (zp - zp) * w = 0,
    exactly what the frameworks' own padding does"""
    t, l, b, r = pad
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=zp)


def keep_below_int32_max(bias, bscale):
    """QNNPACK quint8 path, 1x1 stride-1 convs only: lower any bias that would quantize to the
    saturated int32 value 2^31-1.

    Why: QNNPACK runs a 1x1 / stride 1 / unpadded conv as a plain GEMM (PyTorch's qnnpack
    include/conv_utils.h picks the kernel kind), and there a saturated +2^31-1 bias stays 2^31-1,
    as in linear; its other conv kernels behave as if it were -2^31 (visible where acc == 0).  numerics_reference models only the latter, and for asymmetric
    padding we call torch unpadded, which would turn a padded 1x1 conv into the GEMM kind.  So keep
    these cases in the domain where every QNNPACK kernel agrees.  Biases just below 2^31 (wrap-around
    of acc + bias) and negative saturation are the same in all kernels and stay."""
    for o in range(len(bias)):
        if R.quantize(bias[o], bscale[o], 0, "qint32") >= 2 ** 31 - 1:
            bias[o] = F32((2.0 ** 31 - 2.0 ** 10) * bscale[o])  # then step down float32 ulps
        while R.quantize(bias[o], bscale[o], 0, "qint32") >= 2 ** 31 - 1:
            bias[o] = np.nextafter(bias[o], F32(0))


def qs8_mults(sx, ws, so):
    """XNNPACK's requantization scale per output channel (float32, a division)"""
    return (F32(sx) * np.asarray(ws, np.float64).astype(F32)) / F32(so)


def draw_case(rng, engine, idx, focus, refusal, used_shapes):
    """one case as a dict; refusal = None or a REFUSALS kind to provoke on purpose"""
    if engine == "onednn":
        itype = "s8" if refusal == "s8_input" else "u8"
        numerics = "pytorch-onednn-1.13"
    else:
        itype = "s8" if (refusal or rng.random() < 0.45) else "u8"
        numerics = "pytorch-qnnpack"
    xlo, xhi = QRANGE[itype]

    for _ in range(10000):
        s = draw_structure(rng, focus)
        # one onednn conv shape per process (primitive cache bug); refusals included, harmless
        if engine != "onednn" or shape_key(s) not in used_shapes:
            break
    else:
        raise AssertionError("could not draw a fresh onednn shape")  # never seen; a bug if it happens
    used_shapes.add(shape_key(s))
    N, C, H, W, OC, G = s["N"], s["C"], s["H"], s["W"], s["OC"], s["groups"]
    KH, KW = s["k"]
    CG = C // G

    extreme = focus == "extreme_zp"
    sx = f32(loguniform(rng, 1e-3, 0.5))
    xz = draw_zp(rng, itype, extreme)
    x = draw_ints(rng, (N, C, H, W), xlo, xhi,
                  saturated=(focus == "saturated_input" or rng.random() < 0.04))
    w = draw_ints(rng, (OC, CG, KH, KW), -128, 127)

    if refusal in ("weight_zp_pc", "s8_mult_ge_256_pc"):
        per_channel = True
    elif refusal in ("weight_zp", "s8_weight_zp", "s8_mult_ge_256"):
        per_channel = False
    else:
        per_channel = focus == "per_channel" or rng.random() < 0.5
    base = loguniform(rng, 1e-4, 0.1)
    if per_channel:
        ws = [f32(base * loguniform(rng, 1 / 8, 8)) for _ in range(OC)]
    else:
        ws = [f32(base)]
    # Weight zero points: only QNNPACK's quint8 path honours nonzero ones.  XNNPACK (qint8) refuses
    # per-tensor ones and silently ignores per-channel ones, onednn refuses both.
    nz = len(ws)
    wz = [0] * nz
    if engine == "qnnpack" and itype == "u8" and (extreme or rng.random() < 0.5):
        wz = [draw_zp(rng, "s8", extreme and rng.random() < 0.5) for _ in range(nz)]
    if refusal in ("s8_weight_zp", "weight_zp"):
        wz = [int(rng.choice([v for v in range(-128, 128) if v != 0]))]
    if refusal == "weight_zp_pc":
        wz = [0] * nz
        wz[int(rng.integers(nz))] = int(rng.choice([-128, -3, 1, 5, 127]))
    wzb = np.array([wz[0]] * OC if nz == 1 else wz, np.int64)

    xp = pad_input(x, s["pad"], xz)
    acc = R.conv2d_acc(xp, xz, w, wzb, s["stride"], (0, 0), s["dil"], G)
    typ = float(np.abs(acc).mean()) + 1.0
    maxacc = int(np.abs(acc).max())
    swd = np.array([ws[0]] * OC if nz == 1 else ws, np.float64)

    # bias (float32).  "wrap"/"saturate" aim at QNNPACK's int32 bias: bias/(sx*sw) near or beyond
    # 2^31, so acc + bias_q wraps around int32 or the quantized bias saturates.
    if focus == "no_bias":
        bmode = "none"
    elif focus == "huge_bias":
        bmode = rng.choice(["x1000", "wrap", "saturate"])
    elif focus == "wrap_bias":
        bmode = "wrap"
    else:
        r = rng.random()
        bmode = "none" if r < 0.25 else "normal" if r < 0.85 else "x1000" if r < 0.93 else (
            "wrap" if r < 0.97 else "saturate")
    bscale = sx * swd  # scale of the int32 bias, per channel (double, as torch)
    if bmode == "none":
        bias = None
    elif bmode == "normal":
        bias = rng.normal(0, 1, OC) * typ * bscale * rng.choice([0.1, 1, 10])
    elif bmode == "x1000":
        bias = rng.normal(0, 1, OC) * typ * bscale * 1000
    elif bmode == "wrap":
        sign = rng.choice([-1, 1], size=OC)
        bias = sign * (2.0 ** 31 - rng.integers(0, maxacc + 2, size=OC)) * bscale
    else:
        bias = rng.choice([-1, 1], size=OC) * 2.0 ** 31 * rng.uniform(1, 3, size=OC) * bscale
    if bias is not None:
        bias = bias.astype(F32)
        if engine == "qnnpack" and itype == "u8" and s["k"] == (1, 1) and s["stride"] == (1, 1):
            keep_below_int32_max(bias, bscale)

    # output scale from a target multiplier sx*sw/so
    relu = focus == "relu" or refusal == "s8_relu_zp127" or rng.random() < 0.5
    mkind = {"tiny_mult": "tiny", "unit_mult": "unit", "big_mult": "big"}.get(focus)
    for attempt in range(100):
        if attempt >= 50:  # "unit" always fits (channel spread is at most 64x)
            kind = "unit"
        elif mkind:
            kind = mkind
        else:
            kind = rng.choice(["typical", "typical", "typical", "tiny", "unit", "big"])
        if kind == "tiny":
            mult = loguniform(rng, 1e-7, 1e-5)
        elif kind == "unit":
            mult = loguniform(rng, 0.5, 2.0)
        elif kind == "big":
            mult = rng.uniform(1.0, 8.0)
        else:  # spread the outputs over ~100 levels
            mult = min(max(100.0 / typ * rng.uniform(0.3, 3), 1e-7), 8.0)
        if refusal in ("s8_mult_ge_256", "s8_mult_ge_256_pc"):
            mult = loguniform(rng, 300, 5000)
        so = f32(sx * float(np.mean(swd)) / mult)
        if itype != "s8":
            break
        m = qs8_mults(sx, ws, so)
        if refusal == "s8_mult_ge_256_pc":
            # only the largest channel needs to cross 256; all must stay clear of the abort
            so = f32(sx * float(np.max(swd)) / mult)
            m = qs8_mults(sx, ws, so)
            if m.max() >= 300 and m.min() >= 2 * MIN_QS8_MULT:
                break
            continue
        if m.min() >= MIN_QS8_MULT and (refusal == "s8_mult_ge_256" or m.max() < MAX_QS8_MULT):
            break
    else:
        raise AssertionError("could not draw an output scale")  # never seen; a bug if it happens
    if itype == "s8" and qs8_mults(sx, ws, so).min() < MIN_QS8_MULT:
        raise AssertionError("about to hand XNNPACK a scale < 2^-31")  # would abort torch

    oz = draw_zp(rng, itype, extreme)
    if refusal == "s8_relu_zp127":
        oz = 127
    elif itype == "s8" and relu and oz == xhi:
        # XNNPACK refuses an empty [zp, 127] range; keep that for the deliberate refusals
        oz = int(rng.choice([xlo, int(rng.integers(xlo, xhi))]))

    return dict(engine=engine, numerics=numerics, itype=itype, idx=idx, focus=focus, refusal=refusal,
                s=s, x=x, w=w, sx=sx, xz=xz, ws=ws, wz=wz, per_channel=per_channel, bias=bias,
                bmode=bmode, so=so, oz=oz, relu=relu, mkind=kind)


# ----------------------------------------------------------------------------------------------
# torch and the reference
# ----------------------------------------------------------------------------------------------
def run_torch(c):
    """the framework's own result (int array), or RuntimeError when it refuses the configuration"""
    s = c["s"]
    Hp, Wp, tpad = torch_geometry(s)
    xp = c["x"] if is_symmetric(s["pad"]) else pad_input(c["x"], s["pad"], c["xz"])
    xt = torch._make_per_tensor_quantized_tensor(
        torch.from_numpy(xp).to(TORCH_INT[c["itype"]]), c["sx"], c["xz"])
    wi = torch.from_numpy(c["w"]).to(torch.int8)
    if c["per_channel"]:
        wt = torch._make_per_channel_quantized_tensor(
            wi, torch.tensor(c["ws"], dtype=torch.double), torch.tensor(c["wz"], dtype=torch.long), 0)
    else:
        wt = torch._make_per_tensor_quantized_tensor(wi, c["ws"][0], c["wz"][0])
    bias = None if c["bias"] is None else torch.from_numpy(c["bias"])
    packed = torch.ops.quantized.conv2d_prepack(wt, bias, list(s["stride"]), list(tpad),
                                                list(s["dil"]), s["groups"])
    op = torch.ops.quantized.conv2d_relu if c["relu"] else torch.ops.quantized.conv2d
    y = op(xt, packed, c["so"], c["oz"])
    assert y.dtype == TORCH_QDTYPE[c["itype"]], y.dtype  # output has the input's type
    return y.int_repr().numpy().astype(np.int64)


def reference(c):
    """numerics_reference.py's prediction of the torch output"""
    s = c["s"]
    OC = s["OC"]
    wz = np.array(c["wz"] * OC if len(c["wz"]) == 1 else c["wz"], np.int64)
    ws = c["ws"] * OC if len(c["ws"]) == 1 else c["ws"]
    # conv2d_acc only pads symmetrically: pad (possibly asymmetrically) here, then padding 0
    xp = pad_input(c["x"], s["pad"], c["xz"])
    acc = R.conv2d_acc(xp, c["xz"], c["w"], wz, s["stride"], (0, 0), s["dil"], s["groups"])
    if c["numerics"] == "pytorch-onednn-1.13":
        return R.requant_onednn(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"], c["per_channel"])
    if c["itype"] == "s8":
        return R.requant_qnnpack_qs8(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"])
    return R.requant_qnnpack(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"], c["per_channel"],
                             "quint8", op="conv")


def cross_check(c, got):
    """None if numerics_reference.py predicts torch's output exactly, else what differs"""
    want = reference(c)
    if want.shape != got.shape:
        return "shape torch %s vs reference %s" % (got.shape, want.shape)
    bad = np.argwhere(want != got)
    if len(bad) == 0:
        return None
    i = tuple(bad[0])
    return "%d of %d outputs differ, first at %s: torch %d, reference %d" % (
        len(bad), want.size, i, got[i], want[i])


def refusal_reason(err):
    """a one-line reason from torch's message"""
    text = str(err).strip()
    # torch's XNNPACK weight-zero-point check streams the int8 zero point as a raw char: "...to be
    # zero.But got: \x05".  With a negative zero point (a byte >= 0x80, presumably invalid UTF-8)
    # Python receives an EMPTY message (observed).  Drop the raw tail; say so when nothing is left.
    text = re.sub(r"\s*But got:.*$", "", text, flags=re.S)
    if not text:
        return "RuntimeError with an empty message"
    msg = text.splitlines()[0]
    msg = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in msg)
    return " ".join(msg.split())[:120]


# ----------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------
def case_name(c):
    s = c["s"]
    tags = [c["engine"], "%04d" % c["idx"], c["itype"]]
    if s["groups"] > 1:
        tags.append("dw" if s["groups"] == s["C"] else "g%d" % s["groups"])
    tags.append("k%dx%d" % s["k"])
    if s["stride"] != (1, 1):
        tags.append("s%d%d" % s["stride"])
    if s["dil"] != (1, 1):
        tags.append("d%d%d" % s["dil"])
    t, l, b, r = s["pad"]
    if t != b or l != r:
        tags.append("asym")
    elif t or l:
        tags.append("pad")
    if c["per_channel"]:
        tags.append("pc")
    if c["relu"]:
        tags.append("relu")
    if c["refusal"]:
        tags.append("refuse")
    return "-".join(tags)


def ints(a):
    return " ".join(str(int(v)) for v in np.asarray(a).ravel())


def format_case(c, result):
    """result: int array (torch's output) or str (torch's refusal reason)"""
    s = c["s"]
    m = qs8_mults(c["sx"], c["ws"], c["so"])
    note = "# focus %s; multiplier %s %.3g..%.3g; bias %s" % (
        c["focus"], c["mkind"], float(m.min()), float(m.max()), c["bmode"])
    if c["refusal"]:
        note += "; provokes refusal " + c["refusal"]
    lines = [
        note,
        "case " + case_name(c),
        "numerics " + c["numerics"],
        "input_type " + c["itype"],
        "input_shape %d %d %d %d" % (s["N"], s["C"], s["H"], s["W"]),
        "weight_shape %d %d %d %d" % c["w"].shape,
        "stride %d %d" % s["stride"],
        "padding %d %d %d %d" % s["pad"],
        "dilation %d %d" % s["dil"],
        "groups %d" % s["groups"],
        "input_scale " + repr(c["sx"]),
        "input_zero_point %d" % c["xz"],
        "weight_scales %d %s" % (len(c["ws"]), " ".join(repr(v) for v in c["ws"])),
        "weight_zero_points %d %s" % (len(c["wz"]), ints(c["wz"])),
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", required=True, choices=["qnnpack", "onednn"])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reduce-range", action="store_true",
                    help="quint8 activations and zero points in 0..127 (what fbgemm/x86 qconfigs "
                         "calibrate to); needed for --engine onednn on CPUs without AVX512-VNNI, where "
                         "oneDNN 2.x adds u8*s8 pairs with vpmaddubsw and saturates them to int16")
    args = ap.parse_args()
    if args.reduce_range:
        QRANGE["u8"] = (0, 127)
    if args.seed < 0 or args.cases < 0:
        ap.error("--seed and --cases must be >= 0")
    torch.set_num_threads(1)  # one thread: deterministic kernels, no per-thread tails
    torch.backends.quantized.engine = args.engine
    rng = np.random.default_rng(args.seed)

    n = args.cases
    n_ref = int(round(n * REFUSAL_RATE)) if n >= 5 else 0
    ref_at = set(int(i) for i in rng.choice(n, size=n_ref, replace=False)) if n_ref else set()
    kinds = REFUSALS[args.engine]
    foci = []
    used_shapes = set()
    out, n_refused, surprises = [], 0, []
    ref_count = 0
    for i in range(n):
        if not foci:  # a fresh shuffled round of the feature list
            foci = list(rng.permutation(FOCI))
        focus = str(foci.pop())
        refusal = None
        if i in ref_at:
            refusal = kinds[ref_count % len(kinds)]
            ref_count += 1
        c = draw_case(rng, args.engine, i + 1, focus, refusal, used_shapes)
        try:
            result = run_torch(c)
        except RuntimeError as e:
            result = refusal_reason(e)
            n_refused += 1
            if not refusal:
                surprises.append("%s: unexpected refusal: %s" % (case_name(c), result))
        if not isinstance(result, str):
            problem = cross_check(c, result)
            if problem:
                sys.exit("gen_torch: ABORT, nothing written: torch and numerics_reference.py disagree on "
                         "case %s (%s).\n%s" % (case_name(c), problem, format_case(c, result)))
            if refusal:
                surprises.append("%s: torch accepted a configuration expected to be refused (%s)"
                                 % (case_name(c), refusal))
        out.append(format_case(c, result))

    header = [
        FORMAT_MAGIC,
        "# generator: tools/golden/gen_torch.py --engine %s --cases %d --seed %d%s"
        % (args.engine, n, args.seed, " --reduce-range" if args.reduce_range else ""),
        "# framework: torch %s (Debian python3-torch), engine %s, 1 thread; numpy %s" % (
            torch.__version__, args.engine, np.__version__),
        "# quint8 activations: %s" % ("0..127 (--reduce-range)" if args.reduce_range else "0..255"),
        "# seed %d, %d cases, %d of them 'expect unsupported'" % (args.seed, n, n_refused),
        "# every output was cross-checked against tools/golden/numerics_reference.py",
    ]
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(header) + "\n")
        f.writelines(out)
    os.replace(tmp, args.out)  # never leave a half-written golden file behind
    for sline in surprises:
        print("gen_torch: note: " + sline, file=sys.stderr)
    print("gen_torch: %s: %d cases written (%d refusals) to %s in %.1f s"
          % (args.engine, n, n_refused, args.out, time.time() - T_START), file=sys.stderr)


if __name__ == "__main__":
    main()
