#!/usr/bin/python3
"""Generate golden quantized conv2d cases from PyTorch 1.13 or 2.6 (engines qnnpack / onednn).

Usage:
  /usr/bin/python3 tools/golden/gen_torch.py --engine qnnpack|onednn --cases N --seed S --out FILE
  (PyTorch 2.6: the same command inside the Debian 13 root, see tools/golden/README.md)

Writes FILE in the format of docs/golden-format.md.  Needs python3-torch and python3-numpy: Debian 12's
(torch 1.13, hence /usr/bin/python3 rather than whatever python3 is first on PATH) or Debian 13's
(torch 2.6, oneDNN 3.7.2, XNNPACK 4ea82e5).  Other torch versions are refused: their numerics are not
verified.

What the cases are
  * engine qnnpack: quint8 activations (QNNPACK q8conv path) and qint8 activations (XNNPACK
    qs8/qc8 path); both are numerics `pytorch-qnnpack`, told apart by input_type u8 / s8.
    Torch 2.6 computes two configurations 1.13 refused or aborted on (team notes pytorch26.md §3):
    qint8 relu with output zero point 127 (a constant 127) and per-tensor qint8 requantization scales
    < 2^-32 (the zero point); under 2.6 a few cases are focused on each ("s8_relu_zp127", "s8_tiny_mult").
  * engine onednn: quint8 activations, symmetric weights.  Torch 1.13 (oneDNN 2.x) is numerics
    `pytorch-onednn-1.13`, checked with numerics_reference.py; torch 2.6 (oneDNN 3.7) is
    `pytorch-onednn`, checked with onednn3_ref.py.  Under 2.6 about a quarter of the cases are
    "rcp_tie" cases (draw_rcp_tie): large accumulators cancelled by the float bias, each output channel
    tuned so that one output rounds differently without oneDNN 3's double reciprocal of the input
    scale, xs' = f32(1/f32(1/xs)) (pytorch26.md §1.1), or under another near-miss formula; the file
    header counts the cases each near-miss formula (onednn3_ref.ALTERNATIVES) gets wrong.
  * Each case draws a random configuration but is "focused" on one feature taken round-robin from
    a list (depthwise, dilation, asymmetric padding, tiny multiplier, huge bias ...), so even a
    60-case CI run covers every feature; the rest of the configuration stays random.
  * A few percent of the cases are deliberate refusals: configurations torch rejects with a
    RuntimeError, written as `expect unsupported <torch's message>`.

Safety nets
  * Every torch output is recomputed with numerics_reference.py / onednn3_ref.py (copies of the team's
    verified numpy models); a mismatch aborts before anything is written: a golden file must never
    hold a value we cannot explain.
  * One configuration per process: every case runs torch in a fork()ed child (fresh primitive caches,
    fresh prepack), and a child killed by a signal (an XNNPACK assert) stops the run with a message.
  * oneDNN (2.x and 3.7) on CPUs without AVX512-VNNI adds u8*s8 pairs with vpmaddubsw, saturating
    them to int16 (observed on a Zen 3: jit_uni_int8:avx2 / jit_uni_int8_1x1:avx2 kernels); use
    --reduce-range there (activations and zero points 0..127), as the file header then says.
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

import pickle  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numerics_reference as R  # noqa: E402
import onednn3_ref as O3  # noqa: E402

# Torch versions whose numerics are verified (team notes numerics.md / pytorch26.md), and what they change.
TORCH_VERSION = tuple(int(v) for v in re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
if TORCH_VERSION not in ((1, 13), (2, 6)):
    sys.exit("gen_torch: torch %s: only 1.13 and 2.6 are verified; check the numerics of this version "
             "against the team's references before adding it here" % torch.__version__)
TORCH26 = TORCH_VERSION == (2, 6)
ONEDNN_NUMERICS = "pytorch-onednn" if TORCH26 else "pytorch-onednn-1.13"  # oneDNN 3.7 / 2.x

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
if TORCH26:  # 2.6 computes qint8 relu with output zero point 127 (pytorch26.md §3): a focus, no refusal
    REFUSALS["qnnpack"] = ["s8_weight_zp", "s8_mult_ge_256", "s8_mult_ge_256_pc"]
# Foci added under torch 2.6 only (so that 1.13 runs draw exactly what they always drew).
FOCI_26 = {"qnnpack": ["s8_relu_zp127", "s8_tiny_mult"], "onednn": ["rcp_tie"] * 8}
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
    if focus == "rcp_tie":
        return draw_rcp_tie(rng, idx, used_shapes)
    if engine == "onednn":
        itype = "s8" if refusal == "s8_input" else "u8"
        numerics = ONEDNN_NUMERICS
    else:
        itype = "s8" if (refusal or focus.startswith("s8_") or rng.random() < 0.45) else "u8"
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
    elif refusal in ("weight_zp", "s8_weight_zp", "s8_mult_ge_256") or focus == "s8_tiny_mult":
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
    relu = focus in ("relu", "s8_relu_zp127") or refusal == "s8_relu_zp127" or rng.random() < 0.5
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
        if focus == "s8_tiny_mult":  # torch 2.6 only: below XNNPACK's old 2^-32 assert
            mult = loguniform(rng, 1e-14, 2.0 ** -34)
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
        if focus == "s8_tiny_mult":
            if m.max() < 2.0 ** -32:
                break
            continue
        if m.min() >= MIN_QS8_MULT and (refusal == "s8_mult_ge_256" or m.max() < MAX_QS8_MULT):
            break
    else:
        raise AssertionError("could not draw an output scale")  # never seen; a bug if it happens
    if itype == "s8" and qs8_mults(sx, ws, so).min() < MIN_QS8_MULT and focus != "s8_tiny_mult":
        raise AssertionError("about to hand XNNPACK a scale < 2^-31")  # would abort torch

    oz = draw_zp(rng, itype, extreme)
    if refusal == "s8_relu_zp127" or focus == "s8_relu_zp127":
        oz = 127
    elif itype == "s8" and relu and oz == xhi:
        # XNNPACK refuses an empty [zp, 127] range; keep that for the deliberate refusals
        oz = int(rng.choice([xlo, int(rng.integers(xlo, xhi))]))

    return dict(engine=engine, numerics=numerics, itype=itype, idx=idx, focus=focus, refusal=refusal,
                s=s, x=x, w=w, sx=sx, xz=xz, ws=ws, wz=wz, per_channel=per_channel, bias=bias,
                bmode=bmode, so=so, oz=oz, relu=relu, mkind=kind)


# rcp_tie cases: which near-miss each tuned output channel is aimed at, in rotation; the double-reciprocal
# rule itself ("src scale xs") three times as often as the others.  ("divide by os" and "zp after rounding"
# differ only within an ulp of a rounding tie of v*m + zp, which the coarse grid of cancelled values
# v = f32(acc*s) + bias cannot aim at; random cases catch those.)
RCP_TARGETS = ["src scale xs (1st candidate)", "1.13 onednn formula", "src scale xs (1st candidate)",
               "combined multiplier", "src scale xs (1st candidate)"]


def draw_rcp_tie(rng, idx, used_shapes):
    """A pytorch-onednn (torch 2.6) case aimed at oneDNN 3's double reciprocal of the input scale.

    xs' = f32(1/f32(1/xs)) differs from xs by an ulp for 17 % of floats; the product s = f32(xs'*ws)
    then differs by an ulp from f32(xs*ws), so f32(acc*s) moves by ~|acc*s|*2^-24 -- invisible in the
    output unless |acc*s*m| (m = 1/os) is in the thousands while the output stays in range.  So: the
    input sits at the extreme opposite its zero point give or take 0..3 (large, nearly equal
    accumulators), weights are large, xs has xs' != xs, the output scale makes |acc*s*m| ~ 2000, and
    each output channel's float bias cancels that and is then stepped float32 ulp by ulp until the
    output of the channel's largest accumulator rounds differently under the targeted near-miss formula
    (RCP_TARGETS) than under onednn3_ref.  Neighbouring outputs spread over tens of levels."""
    lo, hi = QRANGE["u8"]
    sub = str(rng.choice(["k3x3", "k1x1", "k5x5", "groups", "depthwise", "odd_channels", "stride2",
                          "asym_pad", "dilation", "nonsquare"]))
    for _ in range(10000):
        s = draw_structure(rng, sub)
        if shape_key(s) not in used_shapes:
            break
    else:
        raise AssertionError("could not draw a fresh onednn shape")
    used_shapes.add(shape_key(s))
    N, C, H, W, OC, G = s["N"], s["C"], s["H"], s["W"], s["OC"], s["groups"]
    KH, KW = s["k"]
    xz = int(rng.choice([lo, hi]))
    far = hi if xz == lo else lo
    toward = 1 if xz > far else -1
    x = (far + toward * rng.integers(0, 4, size=(N, C, H, W))).astype(np.int64)
    w = (rng.choice([-1, 1], size=(OC, C // G, KH, KW)) * rng.integers(64, 128, size=(OC, C // G, KH, KW)))
    w = np.clip(w, -128, 127).astype(np.int64)
    per_channel = bool(rng.random() < 0.5)
    relu = bool(rng.random() < 0.5)
    c = dict(engine="onednn", numerics=ONEDNN_NUMERICS, itype="u8", idx=idx, focus="rcp_tie", refusal=None,
             s=s, x=x, w=w, xz=xz, wz=[0] * (OC if per_channel else 1), per_channel=per_channel,
             relu=relu, bmode="tuned", mkind="rcp_tie")
    acc = accumulator(c)
    flat = np.moveaxis(acc, 1, 0).reshape(OC, -1)  # [OC, N*OH*OW]
    for attempt in range(300):
        sx = f32(loguniform(rng, 1e-3, 0.5))
        if O3.rcp2(F32(sx)) == F32(sx):
            continue  # xs' == xs: the rule is invisible with this scale
        base = loguniform(rng, 1e-4, 0.1)
        ws = []
        for o in range(OC if per_channel else 1):  # a weight scale whose product sees the ulp of xs'
            for _ in range(100):
                v = f32(base * (loguniform(rng, 1 / 8, 8) if per_channel else 1.0))
                if O3.scales_onednn3(sx, [v])[0] != F32(F32(sx) * F32(v)):
                    break
                base = base if per_channel else base * float(rng.uniform(0.9, 1.1))
            ws.append(v)
        wsb = np.array(ws * OC if len(ws) == 1 else ws, np.float64)
        s_true = O3.scales_onednn3(sx, wsb)
        if np.any(s_true == (F32(sx) * wsb.astype(F32)).astype(F32)):
            continue  # some channel's product does not see the ulp
        big = np.abs(flat).max(axis=1).astype(np.float64)
        if big.min() == 0:
            break  # an all-zero channel (cannot happen with |w| >= 64); give up on targeting
        mult = 2000.0 / float(np.median(big * s_true)) * loguniform(rng, 0.3, 3)
        so = f32(1.0 / mult)
        M = float(O3.dst_mult(F32(so)))
        oz = int(rng.integers(lo, hi + 1))
        bias = np.zeros(OC, F32)
        ok = True
        hits = []
        for o in range(OC):
            target = RCP_TARGETS[(o + idx) % len(RCP_TARGETS)]
            b = tune_rcp_bias(rng, c, o, flat[o], sx, ws, so, oz, M, s_true[o], target)
            if b is None:
                ok = False
                break
            bias[o] = b
            hits.append(target)
        if ok:
            c.update(sx=sx, ws=ws, so=so, oz=oz, bias=bias)
            c["note"] = "; tuned for: " + ", ".join("%s x%d" % (t, hits.count(t)) for t in sorted(set(hits)))
            return c
    raise AssertionError("rcp_tie: no discriminating scales found")  # never seen; a bug if it happens


def tune_rcp_bias(rng, c, o, accs, sx, ws, so, oz, M, s_o, target):
    """a float32 bias for output channel o that makes one of its large accumulators round differently
    under `target` than under onednn3_ref (None if no candidate works)"""
    lo, hi = QRANGE["u8"]
    wso = ws[o] if len(ws) > 1 else ws[0]
    order = np.argsort(-np.abs(accs), kind="stable")
    steps = np.arange(-400, 401)
    for t in accs[order[:6]]:
        klo, khi = (max(lo + 8, oz + 1) if c["relu"] else lo + 8), hi - 8
        if klo > khi:  # relu with the zero point near the top: outputs just above it
            klo = khi = hi - 1
        for _ in range(12):
            k = int(rng.integers(klo, khi + 1))
            b0 = F32((k + 0.5 - oz) / M - float(t) * float(s_o))
            cands = (b0 + steps * np.spacing(b0)).astype(F32)
            n = len(cands)
            a = np.full((1, n), int(t), np.int64)
            true = O3.requant_onednn3(a, sx, [wso] * n, so, oz, cands, c["relu"], "conv")[0]
            alt = O3.requant_alternative(a, sx, [wso] * n, so, oz, cands, c["relu"], "conv", target)[0]
            diff = np.nonzero((true != alt) & (true > lo) & (true < hi))[0]
            if len(diff):
                return cands[int(rng.choice(diff))]
    return None


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


def accumulator(c):
    """the exact integer accumulator [N, OC, OH, OW]"""
    s = c["s"]
    OC = s["OC"]
    wz = np.array(c["wz"] * OC if len(c["wz"]) == 1 else c["wz"], np.int64)
    # conv2d_acc only pads symmetrically: pad (possibly asymmetrically) here, then padding 0
    xp = pad_input(c["x"], s["pad"], c["xz"])
    return R.conv2d_acc(xp, c["xz"], c["w"], wz, s["stride"], (0, 0), s["dil"], s["groups"])


def onednn3_alternative(c, alt, acc=None):
    """a near-miss formula's output for a pytorch-onednn case (onednn3_ref.ALTERNATIVES; none is torch)"""
    acc = accumulator(c) if acc is None else acc
    ws = c["ws"] * c["s"]["OC"] if len(c["ws"]) == 1 else c["ws"]
    return O3.requant_alternative(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"], "conv", alt)


# The near-miss formulas counted for pytorch-onednn cases ("conv-style weight scale" IS the conv formula).
ONEDNN3_NEAR_MISSES = [a for a in O3.ALTERNATIVES if a != "conv-style weight scale"]


def reference(c):
    """the verified numpy model's prediction of the torch output"""
    OC = c["s"]["OC"]
    ws = c["ws"] * OC if len(c["ws"]) == 1 else c["ws"]
    acc = accumulator(c)
    if c["numerics"] == "pytorch-onednn-1.13":
        return R.requant_onednn(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"], c["per_channel"])
    if c["numerics"] == "pytorch-onednn":
        return O3.requant_onednn3(acc, c["sx"], ws, c["so"], c["oz"], c["bias"], c["relu"], "conv")
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


REFERENCE_NAME = {"pytorch-onednn": "onednn3_ref.py", "pytorch-onednn-1.13": "numerics_reference.py",
                  "pytorch-qnnpack": "numerics_reference.py"}


def debian_version(pkg):
    """'<pkg> <version>' when dpkg knows the package, else '<pkg>'"""
    import subprocess
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    except OSError:
        return pkg
    return ("%s %s" % (pkg, v.stdout.strip())) if v.returncode == 0 and v.stdout.strip() else pkg


def onednn_version():
    m = re.search(r"MKL-DNN v([0-9.]+)", torch.__config__.show())
    return m.group(1) if m else "?"


def cpu_description():
    model, flags = "?", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    have = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return "%s (%s; %s AVX512-VNNI)" % (model, " ".join(have) or "flags unknown",
                                        "with" if "avx512_vnni" in flags else "no")


def run_isolated(c):
    """run_torch in a fork()ed child: one configuration per process (no primitive or requantization cache
    survives from an earlier case).  Returns an int array or torch's refusal reason (str); exits the
    generator, writing nothing, when the child dies (e.g. an XNNPACK assert)."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        try:
            res = ("output", run_torch(c))
        except RuntimeError as e:
            res = ("refused", refusal_reason(e))
        except UnicodeDecodeError:
            # torch 2.6's pybind turns a RuntimeError whose message holds a raw zero-point byte >= 0x80
            # (XNNPACK's weight-zero-point check, see refusal_reason) into this; only on a deliberate refusal
            if not c["refusal"]:
                raise
            res = ("refused", "RuntimeError with a non-UTF-8 message")
        except BaseException as e:  # noqa: B902 -- reported by the parent
            res = ("error", "%s: %s" % (type(e).__name__, e))
        with os.fdopen(wfd, "wb") as f:
            pickle.dump(res, f)
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        sys.exit("gen_torch: ABORT, nothing written: torch died on case %s (wait status %#x)\n%s"
                 % (case_name(c), status, format_case(c, "(died)")))
    kind, val = pickle.loads(data)
    if kind == "error":
        sys.exit("gen_torch: ABORT, nothing written: case %s: %s" % (case_name(c), val))
    return val


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
    if c["focus"] == "rcp_tie":
        tags.append("rcp")
    if c["refusal"]:
        tags.append("refuse")
    return "-".join(tags)


def ints(a):
    return " ".join(str(int(v)) for v in np.asarray(a).ravel())


def format_case(c, result):
    """result: int array (torch's output) or str (torch's refusal reason)"""
    s = c["s"]
    m = qs8_mults(c["sx"], c["ws"], c["so"])
    note = "# focus %s; multiplier %s %.3g..%.3g; bias %s%s" % (
        c["focus"], c["mkind"], float(m.min()), float(m.max()), c["bmode"], c.get("note", ""))
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
                         "oneDNN (2.x, and 3.7 in torch 2.6) adds u8*s8 pairs with vpmaddubsw and "
                         "saturates them to int16")
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
    foci_all = FOCI + (FOCI_26[args.engine] if TORCH26 else [])
    near_miss = {}  # pytorch-onednn: near-miss formula -> [cases it gets wrong, of them rcp_tie]
    n_tuned = 0
    for i in range(n):
        if not foci:  # a fresh shuffled round of the feature list
            foci = list(rng.permutation(foci_all))
        focus = str(foci.pop())
        refusal = None
        if i in ref_at:
            refusal = kinds[ref_count % len(kinds)]
            ref_count += 1
        c = draw_case(rng, args.engine, i + 1, focus, refusal, used_shapes)
        result = run_isolated(c)
        if isinstance(result, str):
            n_refused += 1
            if not refusal:
                surprises.append("%s: unexpected refusal: %s" % (case_name(c), result))
        if not isinstance(result, str):
            problem = cross_check(c, result)
            if problem:
                sys.exit("gen_torch: ABORT, nothing written: torch and the reference (%s) disagree on "
                         "case %s (%s).\n%s" % (REFERENCE_NAME[c["numerics"]], case_name(c), problem,
                                                format_case(c, result)))
            if c["numerics"] == "pytorch-onednn":
                acc = accumulator(c)
                n_tuned += c["focus"] == "rcp_tie"
                for alt in ONEDNN3_NEAR_MISSES:
                    nm = near_miss.setdefault(alt, [0, 0])
                    if not np.array_equal(onednn3_alternative(c, alt, acc), result):
                        nm[0] += 1
                        nm[1] += c["focus"] == "rcp_tie"
            if refusal:
                surprises.append("%s: torch accepted a configuration expected to be refused (%s)"
                                 % (case_name(c), refusal))
        out.append(format_case(c, result))

    header = [
        FORMAT_MAGIC,
        "# generator: tools/golden/torch26/gen_torch.py --engine %s --cases %d --seed %d%s"
        % (args.engine, n, args.seed, " --reduce-range" if args.reduce_range else ""),
        "# framework: torch %s (Debian %s), engine %s%s, 1 thread; numpy %s" % (
            torch.__version__, debian_version("python3-torch"), args.engine,
            (" (oneDNN %s)" % onednn_version()) if args.engine == "onednn" else
            (" (quint8: QNNPACK; qint8: the system XNNPACK, %s)" % debian_version("libxnnpack-dev")
             if TORCH26 else ""), np.__version__),
        "# CPU: %s" % cpu_description(),
        "# quint8 activations: %s" % ("0..127 (--reduce-range)" if args.reduce_range else "0..255"),
        "# seed %d, %d cases, %d of them 'expect unsupported'" % (args.seed, n, n_refused),
        "# every output was cross-checked against tools/golden/%s (numerics %s)" % (
            REFERENCE_NAME[ONEDNN_NUMERICS if args.engine == "onednn" else "pytorch-qnnpack"],
            ONEDNN_NUMERICS if args.engine == "onednn" else "pytorch-qnnpack"),
    ]
    if args.reduce_range and args.engine == "onednn":
        header.append("# --reduce-range: this CPU has no AVX512-VNNI, and oneDNN's u8*s8 kernels here saturate pairs "
                      "(vpmaddubsw) on full-range activations")
    if near_miss:
        header.append("# %d rcp_tie cases (targeted at oneDNN 3's double reciprocal, see draw_rcp_tie); cases each "
                      "near-miss formula gets wrong (all / rcp_tie):" % n_tuned)
        header += ["#   %-30s %4d / %d" % ('"%s"' % k, v[0], v[1]) for k, v in near_miss.items()]
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
