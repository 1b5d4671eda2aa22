#!/usr/bin/python3
"""Golden conv2d cases from the real ONNX Runtime (numerics mode `onnxruntime`).

    /usr/bin/python3 tools/golden/gen_ort.py --cases 200 --seed 1 --out test/data/golden/ort.txt

Draws random QLinearConv configurations, builds one single-node ONNX model per case (Debian's
python3-onnx), runs them all in one node process through the CPU library of the npm package
onnxruntime-node (tools/golden/ort/run_ort.js; `npm ci --ignore-scripts` in tools/golden/ort first),
checks every output against the QLinearConv arithmetic written out below in numpy, and writes the
cases in the format of docs/golden-format.md. Deterministic per seed (given the same ORT).

If ORT and the numpy formula disagree anywhere, nothing is written and the disagreements are
printed: the file must only hold numerics we understand.

Per-channel weight zero points that are not all equal: earlier ORT releases refused them
("QLinearConv : zero point of per-channel filter must be same"); ORT 1.30 computes them, and its
results equal the exact per-channel accumulator. A few such cases are drawn (names end in `_wzpvar`); they are written
as `expect output` when ORT computes them and as `expect unsupported` when it refuses. Any other
refusal is an error.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32 = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
ORT_DIR = os.path.join(HERE, "ort")

TYPES = {  # golden-format type -> (qmin, qmax, numpy dtype, ONNX type, onnxruntime-node type)
    "u8": (0, 255, np.uint8, TensorProto.UINT8, "uint8"),
    "s8": (-128, 127, np.int8, TensorProto.INT8, "int8"),
}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# ----------------------------------------------------------------------------------------------
# random configurations
# ----------------------------------------------------------------------------------------------
def log_uniform(rng, lo, hi):
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def f32_scale(v):
    """Scales are float32 values everywhere (ONNX scale tensors are float); draw them as such."""
    return F32(v)


def rand_zp(rng, qmin, qmax):
    """A quarter of the zero points sit at the ends of the range, where clamping bounds are lopsided."""
    c = rng.integers(0, 8)
    if c == 0:
        return qmin
    if c == 1:
        return qmax
    return int(rng.integers(qmin, qmax + 1))


def rand_q(rng, shape, qmin, qmax, zp):
    """Integers in [qmin, qmax] of several kinds; 'saturated' and 'near the zero point' matter most:
    the first gives extreme accumulators, the second small ones (for multipliers > 1)."""
    kind = int(rng.integers(0, 5))
    if kind == 0:  # concentrated around the middle of the range
        v = np.round(rng.normal((qmin + qmax) / 2, (qmax - qmin) / 8, size=shape))
    elif kind == 1:  # many extremes, half of them random
        v = rng.choice([qmin, qmax, qmin + 1, qmax - 1, (qmin + qmax) // 2], size=shape)
        v = np.where(rng.random(shape) < 0.5, v, rng.integers(qmin, qmax + 1, size=shape))
    elif kind == 2:  # fully saturated: only the two ends
        v = rng.choice([qmin, qmax], size=shape)
    elif kind == 3:  # near the zero point
        v = zp + rng.integers(-3, 4, size=shape)
    else:
        v = rng.integers(qmin, qmax + 1, size=shape)
    return np.clip(v, qmin, qmax).astype(np.int64), ["mid", "extremes", "saturated", "near-zp", "uniform"][kind]


def draw_shape(rng):
    gk = int(rng.integers(0, 5))
    if gk == 0:  # depthwise (channel multiplier 1 or 2)
        C = int(rng.integers(1, 17))
        groups = C
        OC = C * (int(rng.choice([1, 1, 2])) if C <= 8 else 1)
    elif gk == 1:  # grouped
        groups = int(rng.choice([2, 3, 4]))
        C = groups * int(rng.integers(1, 16 // groups + 1))
        OC = groups * int(rng.integers(1, 16 // groups + 1))
    else:
        groups = 1
        C = int(rng.integers(1, 17))
        OC = int(rng.integers(1, 17))
    kh = int(rng.choice([1, 1, 2, 3, 3, 3, 5]))
    kw = kh if rng.random() < 0.7 else int(rng.choice([1, 2, 3, 5]))
    stride = tuple(int(rng.choice([1, 1, 2])) for _ in range(2))
    dil = tuple(int(rng.choice([1, 1, 1, 2])) for _ in range(2))
    pk = rng.random()
    if pk < 0.4:
        pads = (0, 0, 0, 0)
    elif pk < 0.7:  # symmetric
        ph, pw = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        pads = (ph, pw, ph, pw)
    else:  # asymmetric: ONNX takes [top, left, bottom, right] natively
        pads = tuple(int(v) for v in rng.integers(0, 3, size=4))
    # smallest image that still gives one output row/column
    hmin = max(1, dil[0] * (kh - 1) + 1 - pads[0] - pads[2])
    wmin = max(1, dil[1] * (kw - 1) + 1 - pads[1] - pads[3])
    H = int(rng.integers(hmin, 13))
    W = int(rng.integers(wmin, 13))
    N = 2 if rng.random() < 0.2 else 1
    return dict(N=N, C=C, H=H, W=W, OC=OC, groups=groups, kernel=(kh, kw), stride=stride, dilation=dil,
                pads=pads)


def find_boundary_t(rng, c, o, alt):
    """An int32 t for which output channel o rounds differently under the ORT multiplier and
    under MULTIPLIERS[alt], with the result well inside the output range; None if there is none.
    Candidates sit next to the half-way points (k + 1/2) / scale."""
    OC = c["OC"]
    ws = np.broadcast_to(np.asarray(c["w_scale"], F32), (OC,))
    xs, ys = F32(c["x_scale"]), F32(c["y_scale"])
    a = MULTIPLIERS["ort"](xs, ws, ys)[o]
    b = MULTIPLIERS[alt](xs, ws, ys)[o]
    if a == b:
        return None
    for k in rng.permutation(np.arange(-100, 101)):
        t0 = int((k + 0.5) / float(a))
        for t in range(t0 - 3, t0 + 4):
            if abs(t) < INT32_MAX - 64 and np.rint(F32(t) * a) != np.rint(F32(t) * b):
                return t
    return None


def draw_targeted(rng, index, kind):
    """Cases that pin the epilogue down. Random cases almost never land on a rounding boundary, so
    they cannot tell ORT's formula from near-identical ones (see ALTERNATIVES). Here a depthwise
    1x1 convolution with w - w_zp = ±1 makes acc sweep every integer in [-32, 31] across the 64
    pixels of each channel, and the bias moves that sweep onto a boundary:
      "tie":   scale[o] = 2^-m exactly, so t·scale is often exactly k + 1/2 (round half to even vs
               away; zero point added before vs after rounding, for odd output zero points);
      "order": tiny multipliers (t ~ 1e7..2e9) where ORT's f32((xs·ws)/ys) and another way of
               forming the multiplier differ by an ulp, with the bias chosen so that it matters."""
    typ = "u8" if rng.random() < 0.5 else "s8"
    qmin, qmax = TYPES[typ][:2]
    mid = (qmin + qmax + 1) // 2
    C = int(rng.integers(1, 9))
    c = dict(N=1, C=C, H=8, W=8, OC=C, groups=C, kernel=(1, 1), stride=(1, 1), dilation=(1, 1),
             pads=(0, 0, 0, 0), type=typ, unequal_wzp=False, x_kind="sweep", bias_kind="targeted")
    c["per_channel"] = bool(rng.random() < 0.5)
    nscale = C if c["per_channel"] else 1
    c["x_zp"] = int(rng.integers(qmin + 32, qmax - 31))
    c["y_zp"] = int(rng.integers(mid - 20, mid + 20))  # room for ±100 either side
    wz = int(rng.integers(-127, 127)) if rng.random() < 0.5 else 0
    c["w_zp"] = [wz] * nscale
    sign = rng.choice([-1, 1], size=C)
    c["w"] = (wz + sign).reshape(C, 1, 1, 1).astype(np.int64)
    sweep = np.stack([rng.permutation(np.arange(-32, 32)) for _ in range(C)])
    c["x"] = (c["x_zp"] + sweep).reshape(1, C, 8, 8).astype(np.int64)
    c["acc"] = conv_acc(c)
    c["x_scale"] = f32_scale(log_uniform(rng, 1e-3, 0.5))

    if kind == "tie":
        # f32(xs·ws0)·2^m is exact, and so is every quotient below: scale[o] = 2^-(m + j_o).
        ws0 = f32_scale(log_uniform(rng, 1e-3, 0.1))
        j = rng.integers(0, 3, size=nscale)
        c["w_scale"] = [F32(ws0 * F32(2.0 ** -int(v))) for v in j]
        m = int(rng.integers(1, 3))
        c["y_scale"] = F32(F32(c["x_scale"]) * ws0) * F32(2.0 ** m)
        jj = np.broadcast_to(j, (C,))
        # bias: output level in [-60, 60], t = bias + acc lands on ties for some of the sweep
        c["bias"] = np.array([int(rng.integers(-60, 61)) * 2 ** (m + int(jj[o])) for o in range(C)], np.int64)
        c["mult_class"] = "tie"
        return c

    # "order": retry scales until every channel has a discriminating t for some alternative
    alts = [a for a in MULTIPLIERS if a != "ort"]
    for _ in range(200):
        mult = log_uniform(rng, 1e-7, 1e-5)
        w_base = log_uniform(rng, 1e-4, 0.1)
        c["w_scale"] = [f32_scale(w_base * log_uniform(rng, 0.5, 2.0)) for _ in range(nscale)]
        c["y_scale"] = f32_scale(float(c["x_scale"]) * float(np.mean(c["w_scale"])) / mult)
        bias = []
        for o in range(C):
            # rotate through the alternatives so that every one of them gets targeted
            for i in range(len(alts)):
                alt = alts[(o + index + i) % len(alts)]
                t = find_boundary_t(rng, c, o, alt)
                if t is not None:
                    break
            if t is None:
                break
            bias.append(t)  # the pixel with x = x_zp (acc 0) gets exactly this t
        else:
            c["bias"] = np.array(bias, np.int64)
            c["mult_class"] = "order"
            return c
    raise RuntimeError(f"case {index}: no discriminating multiplier found")


def draw_case(rng, index):
    if index % 8 == 3:  # one case in 8 is targeted; tie and order alternate
        return draw_targeted(rng, index, "tie" if (index // 8) % 2 == 0 else "order")
    c = draw_shape(rng)
    c["type"] = "u8" if rng.random() < 0.5 else "s8"
    qmin, qmax = TYPES[c["type"]][:2]
    OC, kh, kw = c["OC"], *c["kernel"]
    Cg = c["C"] // c["groups"]

    # Every 29th case gets per-channel weight zero points that differ (see the module docstring).
    unequal_wzp = index % 29 == 5 and OC >= 2
    c["per_channel"] = unequal_wzp or rng.random() < 0.5
    nscale = OC if c["per_channel"] else 1

    c["x_scale"] = f32_scale(log_uniform(rng, 1e-3, 0.5))
    w_base = log_uniform(rng, 1e-4, 0.1)
    c["w_scale"] = [f32_scale(w_base * log_uniform(rng, 0.5, 2.0)) for _ in range(nscale)]
    c["x_zp"] = rand_zp(rng, qmin, qmax)
    if unequal_wzp:
        wz = rng.integers(-128, 128, size=OC)
        wz[1] = wz[0] + (1 if wz[0] < 127 else -1)  # guarantee at least two different values
        c["w_zp"] = [int(v) for v in wz]
    else:
        wz = rand_zp(rng, -128, 127) if rng.random() < 0.5 else 0
        c["w_zp"] = [wz] * nscale
    c["y_zp"] = rand_zp(rng, qmin, qmax)

    # Multipliers. "typical" aims at outputs within about ±60 of the zero point. Multipliers near
    # or above 1 only give non-saturated outputs for small accumulators, so those cases mostly take
    # data within ±1 of the zero points.
    mk = rng.random()
    if mk < 0.15:
        mclass = "tiny"
    elif mk < 0.55:
        mclass = "typical"
    elif mk < 0.7:
        mclass = "near-one"
    else:
        mclass = "large"
    small_data = mclass in ("near-one", "large") and rng.random() < 0.8
    x, xkind = rand_q(rng, (c["N"], c["C"], c["H"], c["W"]), qmin, qmax, c["x_zp"])
    if small_data:
        x = np.clip(c["x_zp"] + rng.integers(-1, 2, size=x.shape), qmin, qmax)
        xkind = "near-zp"
    w, _ = rand_q(rng, (OC, Cg, kh, kw), -128, 127, c["w_zp"][0])
    if small_data:
        w = np.clip(np.asarray(c["w_zp"])[:, None, None, None] + rng.integers(-1, 2, size=w.shape), -128, 127)
    c["x"], c["w"], c["x_kind"] = x, w, xkind

    acc = conv_acc(c)
    typ = float(np.abs(acc).mean()) + 1.0

    # Bias (int32, scale x_scale*w_scale as ONNX specifies). "wrap" puts biases next to ±2^31 so
    # that acc + bias overflows int32 for part of the outputs.
    bk = rng.random()
    if bk < 0.25:
        c["bias"], c["bias_kind"] = None, "none"
    elif bk < 0.6:
        b = rng.normal(0, 1, OC) * typ * float(rng.choice([0.1, 1.0, 3.0]))
        c["bias"], c["bias_kind"] = np.round(b).astype(np.int64), "typical"
    elif bk < 0.75:
        b = np.clip(np.round(rng.normal(0, 1, OC) * typ * 1000), INT32_MIN, INT32_MAX)
        c["bias"], c["bias_kind"] = b.astype(np.int64), "large"
    else:
        sign = rng.choice([-1, 1], size=OC)
        r = rng.integers(0, int(2 * typ) + 1, size=OC)
        c["bias"] = np.where(sign > 0, INT32_MAX - r, INT32_MIN + r).astype(np.int64)
        c["bias_kind"] = "wrap"
        if rng.random() < 0.5:
            # so that the wrapped values land inside the output range instead of clamping
            mclass = "wrap-tiny"
    if c["bias_kind"] in ("typical", "large"):
        typ = float(np.abs(acc + c["bias"][None, :, None, None]).mean()) + 1.0

    mult = {
        "tiny": lambda: log_uniform(rng, 1e-7, 1e-5),
        "wrap-tiny": lambda: log_uniform(rng, 1e-9, 5e-8),
        "typical": lambda: min(30.0 / typ * rng.uniform(0.3, 2.0), 8.0),
        "near-one": lambda: log_uniform(rng, 0.5, 2.0),
        "large": lambda: rng.uniform(1.0, 8.0),
    }[mclass]()
    c["mult_class"] = mclass
    c["y_scale"] = f32_scale(float(c["x_scale"]) * float(np.mean(c["w_scale"])) / mult)
    c["unequal_wzp"] = bool(unequal_wzp)
    c["acc"] = acc
    return c


# ----------------------------------------------------------------------------------------------
# the arithmetic being checked
# ----------------------------------------------------------------------------------------------
def conv_acc(c):
    """acc = Σ (x − x_zp)(w − w_zp[o]) over the window, in int64 (exact); padded taps add 0."""
    x, w = c["x"], c["w"]
    N, C, H, W = x.shape
    OC, Cg, KH, KW = w.shape
    pt, pl, pb, pr = c["pads"]
    sh, sw = c["stride"]
    dh, dw = c["dilation"]
    G = c["groups"]
    OCg = OC // G
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr), np.int64)
    xp[:, :, pt:pt + H, pl:pl + W] = x - c["x_zp"]
    wz = np.broadcast_to(np.asarray(c["w_zp"], np.int64), (OC,))
    wd = w - wz[:, None, None, None]
    OH = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
    acc = np.zeros((N, OC, OH, OW), np.int64)
    for g in range(G):
        xg = xp[:, g * Cg:(g + 1) * Cg]
        wg = wd[g * OCg:(g + 1) * OCg]
        for i in range(KH):
            for j in range(KW):
                patch = xg[:, :, i * dh:i * dh + sh * (OH - 1) + 1:sh, j * dw:j * dw + sw * (OW - 1) + 1:sw]
                acc[:, g * OCg:(g + 1) * OCg] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    return acc


def wrap32(v):
    return ((np.asarray(v, np.int64) + 2**31) % 2**32) - 2**31


# How the requantization multiplier is formed. "ort" is ORT's ComputeOutputScale: float32,
# left to right, a division. The others are plausible implementations that differ by an ulp for
# some scales; they are here only so the generator can count the outputs that rule them out.
MULTIPLIERS = {
    "ort": lambda xs, ws, ys: (xs * ws) / ys,
    "xs*(ws/ys)": lambda xs, ws, ys: xs * (ws / ys),
    "(xs/ys)*ws": lambda xs, ws, ys: (xs / ys) * ws,
    "(xs*ws)*(1/ys)": lambda xs, ws, ys: (xs * ws) * (F32(1) / ys),
    "double": lambda xs, ws, ys: (np.float64(xs) * ws.astype(np.float64) / np.float64(ys)).astype(F32),
}


def requantize(c, mult="ort", product="f32", zp_add="after", rounding="even", bias_add="wrap"):
    """The epilogue, with switches for the alternatives above. The defaults are QLinearConv on
    ORT's CPU provider (qlinearconv.cc ComputeOutputScale, MLAS MlasRequantizeOutput):
    t = wrap32(acc + bias); v = f32(t) * scale[o] (float32, no FMA); clamp v in float to
    [qmin - zp, qmax - zp]; round half to even; add the zero point as an integer."""
    qmin, qmax = TYPES[c["type"]][:2]
    OC = c["w"].shape[0]
    ws = np.broadcast_to(np.asarray(c["w_scale"], F32), (OC,))
    scale = MULTIPLIERS[mult](F32(c["x_scale"]), ws, F32(c["y_scale"]))[None, :, None, None]
    bias = np.zeros(OC, np.int64) if c["bias"] is None else c["bias"]
    t = c["acc"] + bias[None, :, None, None]
    t = wrap32(t) if bias_add == "wrap" else np.clip(t, INT32_MIN, INT32_MAX)
    if product == "f32":
        v = t.astype(F32) * scale
    else:  # the product in double, rounded once at the end
        v = t.astype(np.float64) * scale.astype(np.float64)
    if zp_add == "before":  # zero point added in float, then rounded and clamped
        v = v + c["y_zp"]
        r = np.rint(v) if rounding == "even" else np.sign(v) * np.floor(np.abs(v) + 0.5)
        return np.clip(r, qmin, qmax).astype(np.int64)
    v = np.clip(v, qmin - c["y_zp"], qmax - c["y_zp"])
    r = np.rint(v) if rounding == "even" else np.sign(v) * np.floor(np.abs(v) + 0.5)
    return r.astype(np.int64) + c["y_zp"]


def reference(c):
    return requantize(c)


# Rejected alternatives: the header of the golden file says how many outputs rule each one out.
ALTERNATIVES = {
    **{f"multiplier {m}": dict(mult=m) for m in MULTIPLIERS if m != "ort"},
    "product in double": dict(product="f64"),
    "zero point added before rounding": dict(zp_add="before"),
    "round half away from zero": dict(rounding="away"),
    "acc+bias saturating": dict(bias_add="saturate"),
}


# ----------------------------------------------------------------------------------------------
# ONNX model and ORT driver
# ----------------------------------------------------------------------------------------------
def build_model(c):
    _, _, np_t, onnx_t, _ = TYPES[c["type"]]
    OC, _, kh, kw = c["w"].shape
    per_channel = len(c["w_scale"]) > 1

    def vec_or_scalar(vals, dtype):
        a = np.asarray(vals, dtype)
        return a if per_channel else a.reshape(())

    inits = [
        numpy_helper.from_array(np.asarray(c["x_scale"], F32).reshape(()), "x_scale"),
        numpy_helper.from_array(np.asarray(c["x_zp"], np_t).reshape(()), "x_zero_point"),
        numpy_helper.from_array(c["w"].astype(np.int8), "w"),
        numpy_helper.from_array(vec_or_scalar(c["w_scale"], F32), "w_scale"),
        numpy_helper.from_array(vec_or_scalar(c["w_zp"], np.int8), "w_zero_point"),
        numpy_helper.from_array(np.asarray(c["y_scale"], F32).reshape(()), "y_scale"),
        numpy_helper.from_array(np.asarray(c["y_zp"], np_t).reshape(()), "y_zero_point"),
    ]
    inputs = ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point"]
    if c["bias"] is not None:
        inits.append(numpy_helper.from_array(c["bias"].astype(np.int32), "B"))
        inputs.append("B")
    node = helper.make_node("QLinearConv", inputs, ["y"], kernel_shape=[kh, kw], strides=list(c["stride"]),
                            pads=list(c["pads"]), dilations=list(c["dilation"]), group=c["groups"])
    graph = helper.make_graph(
        [node], "qlinearconv",
        [helper.make_tensor_value_info("x", onnx_t, list(c["x"].shape))],
        [helper.make_tensor_value_info("y", onnx_t, list(c["acc"].shape))],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="qk gen_ort.py")
    onnx.checker.check_model(model)
    return model


def run_ort(cases, node):
    """Write all models + inputs to a temporary directory, run them in one node process, read back.
    Returns (ort_version, [(ok, error, output_all, output_noopt)])."""
    tmp = tempfile.mkdtemp(prefix="qk-gen-ort-")
    try:
        manifest = []
        for c in cases:
            _, _, np_t, _, ort_t = TYPES[c["type"]]
            onnx.save(build_model(c), os.path.join(tmp, c["name"] + ".onnx"))
            with open(os.path.join(tmp, c["name"] + ".in.bin"), "wb") as f:
                f.write(c["x"].astype(np_t).tobytes())
            manifest.append(dict(name=c["name"], model=c["name"] + ".onnx", input=c["name"] + ".in.bin",
                                 dtype=ort_t, dims=list(c["x"].shape)))
        with open(os.path.join(tmp, "manifest.json"), "w") as f:
            json.dump({"cases": manifest}, f)
        subprocess.run([node, os.path.join(ORT_DIR, "run_ort.js"), tmp], check=True)
        with open(os.path.join(tmp, "results.json")) as f:
            res = json.load(f)
        out = []
        for c, r in zip(cases, res["results"]):
            assert r["name"] == c["name"]
            if not r["ok"]:
                out.append((False, r["error"], None, None))
                continue
            np_t = TYPES[c["type"]][2]
            ys = []
            for tag in ("all", "noopt"):
                with open(os.path.join(tmp, f"{c['name']}.{tag}.bin"), "rb") as f:
                    ys.append(np.frombuffer(f.read(), np_t).astype(np.int64).reshape(r["dims"]))
            out.append((True, None, ys[0], ys[1]))
        return res["ort_version"], out
    finally:
        shutil.rmtree(tmp)


# ----------------------------------------------------------------------------------------------
# golden file
# ----------------------------------------------------------------------------------------------
def ints(a):
    return " ".join(str(int(v)) for v in np.asarray(a).ravel())


def scales(vals):
    return " ".join(repr(float(F32(v))) for v in vals)


def format_case(c, expect):
    OC, Cg, kh, kw = c["w"].shape
    lines = [
        f"case {c['name']}",
        "numerics onnxruntime",
        f"input_type {c['type']}",
        "input_shape {} {} {} {}".format(*c["x"].shape),
        f"weight_shape {OC} {Cg} {kh} {kw}",
        "stride {} {}".format(*c["stride"]),
        "padding {} {} {} {}".format(*c["pads"]),
        "dilation {} {}".format(*c["dilation"]),
        f"groups {c['groups']}",
        f"input_scale {repr(float(c['x_scale']))}",
        f"input_zero_point {c['x_zp']}",
        f"weight_scales {len(c['w_scale'])} {scales(c['w_scale'])}",
        f"weight_zero_points {len(c['w_zp'])} {ints(c['w_zp'])}",
        "bias none" if c["bias"] is None else f"bias s32 {OC} {ints(c['bias'])}",
        f"output_scale {repr(float(c['y_scale']))}",
        f"output_zero_point {c['y_zp']}",
        "relu 0",
        f"input {ints(c['x'])}",
        f"weight {ints(c['w'])}",
    ]
    lines += expect
    lines.append("end")
    return "\n".join(lines) + "\n"


def case_name(i, c):
    kh, kw = c["kernel"]
    g = "dw" if c["groups"] == c["C"] and c["groups"] > 1 else f"g{c['groups']}"
    name = f"ort{i:04d}_{c['type']}_{'pc' if c['per_channel'] else 'pt'}_{g}_k{kh}x{kw}"
    if c["mult_class"] in ("tie", "order"):
        return f"{name}_{c['mult_class']}"
    return name + "_wzpvar" if c["unequal_wzp"] else name


def unsupported_reason(c, error):
    """The one refusal we accept: unequal per-channel weight zero points (older ORT). The reason
    words are ORT's message without the source location (it changes between ORT builds)."""
    if not c["unequal_wzp"]:
        return None
    msg = error.split("QLinearConv :", 1)
    if len(msg) != 2:
        return None
    return "ort: QLinearConv : " + msg[1].strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--node", default="node", help="node executable")
    args = ap.parse_args()
    t0 = time.time()

    rng = np.random.default_rng(args.seed)
    cases = []
    for i in range(args.cases):
        c = draw_case(rng, i)
        c["name"] = case_name(i, c)
        cases.append(c)

    ort_version, results = run_ort(cases, args.node)

    blocks, problems = [], []
    n_out = n_refused = n_elems = n_wrapped = n_sat = n_wzpvar = 0
    ruled_out = dict.fromkeys(ALTERNATIVES, 0)  # outputs that each rejected alternative gets wrong
    for c, (ok, error, y, y_noopt) in zip(cases, results):
        if not ok:
            reason = unsupported_reason(c, error)
            if reason is None:
                problems.append(f"{c['name']}: unexpected ORT error: {error}")
                continue
            n_refused += 1
            blocks.append(format_case(c, [f"expect unsupported {reason}"]))
            continue
        n_wzpvar += c["unequal_wzp"]
        want = reference(c)
        for tag, got in (("default optimisation", y), ("optimisation disabled", y_noopt)):
            if got.shape != want.shape:
                problems.append(f"{c['name']} ({tag}): ORT shape {got.shape}, formula {want.shape}")
                continue
            bad = np.argwhere(got != want)
            if len(bad):
                idx = tuple(bad[0])
                o = idx[1]
                bias = 0 if c["bias"] is None else int(c["bias"][o])
                problems.append(
                    f"{c['name']} ({tag}): {len(bad)}/{want.size} outputs differ; first at {list(map(int, idx))}: "
                    f"ORT {int(got[idx])}, formula {int(want[idx])} (acc {int(c['acc'][idx])}, bias {bias})")
        for alt, kw in ALTERNATIVES.items():
            ruled_out[alt] += int((requantize(c, **kw) != y).sum())
        n_out += 1
        n_elems += y.size
        bias = 0 if c["bias"] is None else c["bias"][None, :, None, None]
        n_wrapped += int((wrap32(c["acc"] + bias) != c["acc"] + bias).sum())
        qmin, qmax = TYPES[c["type"]][:2]
        n_sat += int(((y == qmin) | (y == qmax)).sum())
        blocks.append(format_case(c, ["expect output", f"output {ints(y)}"]))

    elapsed = time.time() - t0
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print(f"gen_ort.py: {len(problems)} problem(s) with ORT {ort_version}; {args.out} NOT written "
              f"({elapsed:.1f} s)", file=sys.stderr)
        sys.exit(1)

    def count(key, val):
        return sum(1 for c in cases if c[key] == val)

    header = [
        "qk-golden-conv2d 1",
        f"# ONNX Runtime {ort_version} (npm onnxruntime-node, CPU provider, 1 intra-op thread), QLinearConv",
        f"# generated by: /usr/bin/python3 tools/golden/gen_ort.py --cases {args.cases} --seed {args.seed} --out <file>",
        "# every output also equals the float32 requantization formula in gen_ort.py reference(), and ORT gave",
        "# the same bytes with graph optimisation 'all' (default: NHWC contrib kernel) and 'disabled' (NCHW kernel)",
        f"# {n_out} computed cases ({n_elems} outputs, {n_sat} at qmin/qmax, {n_wrapped} with acc+bias wrapping int32),",
        f"# {n_refused} refused by ORT; {n_wzpvar} computed cases have unequal per-channel weight zero points (_wzpvar)",
        "# coverage: u8 {} s8 {}; per-channel {}; weight zp != 0 {}; bias none {} typical {} large {} wrap {};".format(
            count("type", "u8"), count("type", "s8"), sum(1 for c in cases if len(c["w_scale"]) > 1),
            sum(1 for c in cases if any(c["w_zp"])), count("bias_kind", "none"), count("bias_kind", "typical"),
            count("bias_kind", "large"), count("bias_kind", "wrap")),
        "# multipliers tiny {} wrap-tiny {} typical {} near-one {} large {}; targeted tie {} order {};".format(
            count("mult_class", "tiny"), count("mult_class", "wrap-tiny"), count("mult_class", "typical"),
            count("mult_class", "near-one"), count("mult_class", "large"), count("mult_class", "tie"),
            count("mult_class", "order")),
        "# depthwise {} grouped {}; stride 2 {} dilation 2 {} asymmetric padding {} non-square kernel {} 5-tap kernel {};"
        " saturated input {}".format(
            sum(1 for c in cases if c["groups"] == c["C"] and c["groups"] > 1),
            sum(1 for c in cases if 1 < c["groups"] < c["C"]),
            sum(1 for c in cases if 2 in c["stride"]), sum(1 for c in cases if 2 in c["dilation"]),
            sum(1 for c in cases if c["pads"][:2] != c["pads"][2:]),
            sum(1 for c in cases if c["kernel"][0] != c["kernel"][1]),
            sum(1 for c in cases if 5 in c["kernel"]), count("x_kind", "saturated")),
        "# outputs that rule out near-identical epilogues: "
        + ", ".join(f"{alt} {n}" for alt, n in ruled_out.items()),
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(header) + "\n")
        f.writelines(blocks)
    print(f"gen_ort.py: wrote {args.out}: {n_out} cases ({n_elems} outputs, {n_wzpvar} with unequal weight zps) + "
          f"{n_refused} refused, ORT {ort_version}, "
          f"all equal to the numpy formula, seed {args.seed}, {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
