#!/usr/bin/python3
"""Validate golden conv2d case files (docs/golden-format.md) and recompute their outputs.

Usage:  /usr/bin/python3 tools/golden/check_golden.py FILE...

For every file: parses it strictly (key order, counts, value ranges, float32-exact scales and
biases, no empty lines), recomputes each `expect output` case of the PyTorch numerics modes with
numerics_reference.py, checks that each `expect unsupported` case is one torch 1.13 is known to
refuse (and that no `expect output` case is), and prints a summary with feature coverage.
Exit status 1 if any file has an error.  Written independently of gen_torch.py (it shares only the
reference model), so that a generator bug does not hide itself.
"""
import math
import os
import sys
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numerics_reference as R  # noqa: E402

MAGIC = "qk-golden-conv2d 1"
NUMERICS = {"pytorch-qnnpack", "pytorch-onednn-1.13", "pytorch-onednn", "pytorch-fbgemm", "pytorch-fbgemm-avx2", "pytorch-x86", "onnxruntime", "tflite", "xnnpack"}
TYPE_RANGE = {"u8": (0, 255), "s8": (-128, 127)}
# The keys of a case, in file order (after "case"); "expect" may be followed by "output".
KEYS = ["numerics", "input_type", "input_shape", "weight_shape", "stride", "padding", "dilation",
        "groups", "input_scale", "input_zero_point", "weight_scales", "weight_zero_points", "bias",
        "output_scale", "output_zero_point", "relu", "input", "weight", "expect"]


class FormatError(Exception):
    pass


def _int(tok, what):
    try:
        return int(tok, 10)
    except ValueError:
        raise FormatError("%s: %r is not an integer" % (what, tok))


def _ints(toks, n, what, lo=None, hi=None):
    if len(toks) != n:
        raise FormatError("%s: expected %d values, got %d" % (what, n, len(toks)))
    v = np.array([_int(t, what) for t in toks], np.int64)
    if lo is not None and v.size and (v.min() < lo or v.max() > hi):
        raise FormatError("%s: value out of [%d, %d]" % (what, lo, hi))
    return v


def _f32_exact(tok, what, positive):
    try:
        v = float(tok)
    except ValueError:
        raise FormatError("%s: %r is not a number" % (what, tok))
    if not math.isfinite(v) or (positive and v <= 0):
        raise FormatError("%s: %r must be finite%s" % (what, tok, " and > 0" if positive else ""))
    if float(np.float32(v)) != v:
        raise FormatError("%s: %r is not a float32 value" % (what, tok))
    return v


def parse(path):
    """-> (header comments, list of case dicts); raises FormatError with a line number"""
    with open(path) as f:
        raw = f.read().split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    if not raw or raw[0] != MAGIC:
        raise FormatError("line 1: expected %r" % MAGIC)
    header, cases, cur, want = [], [], None, None
    for lineno, line in enumerate(raw[1:], start=2):
        try:
            if line.startswith("#"):
                if not cases and cur is None:
                    header.append(line)
                continue
            toks = line.split()
            if not toks:
                raise FormatError("empty line")
            key, args = toks[0], toks[1:]
            if cur is None:
                if key != "case" or len(args) != 1:
                    raise FormatError("expected 'case <name>', got %r" % line[:60])
                cur, want = {"name": args[0], "line": lineno}, 0
                continue
            if want < len(KEYS):
                if key != KEYS[want]:
                    raise FormatError("expected key %r, got %r" % (KEYS[want], key))
                parse_key(cur, key, args)
                want += 1
                if key == "expect" and cur["expect"] == "unsupported":
                    want += 1  # no output line
                continue
            if want == len(KEYS):
                if key != "output":
                    raise FormatError("expected 'output', got %r" % key)
                parse_key(cur, key, args)
                want += 1
                continue
            if key != "end" or args:
                raise FormatError("expected 'end', got %r" % line[:60])
            cases.append(cur)
            cur = None
        except FormatError as e:
            raise FormatError("line %d: %s" % (lineno, e))
    if cur is not None:
        raise FormatError("end of file inside case %s" % cur["name"])
    if cases and header and raw[cases[0]["line"] - 2].startswith("#"):
        header.pop()  # the comment right before the first case describes that case
    return header, cases


def out_hw(c):
    N, C, H, W = c["input_shape"]
    O, CG, KH, KW = c["weight_shape"]
    t, l, b, r = c["padding"]
    OH = (H + t + b - c["dilation"][0] * (KH - 1) - 1) // c["stride"][0] + 1
    OW = (W + l + r - c["dilation"][1] * (KW - 1) - 1) // c["stride"][1] + 1
    return OH, OW


def parse_key(c, key, a):
    if key == "numerics":
        if len(a) != 1 or a[0] not in NUMERICS:
            raise FormatError("numerics: unknown %r" % " ".join(a))
        c[key] = a[0]
    elif key == "input_type":
        if len(a) != 1 or a[0] not in TYPE_RANGE:
            raise FormatError("input_type: unknown %r" % " ".join(a))
        c[key] = a[0]
    elif key in ("input_shape", "weight_shape"):
        c[key] = tuple(int(v) for v in _ints(a, 4, key, 1, 1 << 20))
    elif key in ("stride", "dilation"):
        c[key] = tuple(int(v) for v in _ints(a, 2, key, 1, 1 << 10))
    elif key == "padding":
        c[key] = tuple(int(v) for v in _ints(a, 4, key, 0, 1 << 10))
    elif key == "groups":
        g = int(_ints(a, 1, key, 1, 1 << 20)[0])
        N, C, H, W = c["input_shape"]
        O, CG, KH, KW = c["weight_shape"]
        if C % g or O % g or CG * g != C:
            raise FormatError("groups %d does not fit C=%d, O=%d, C/groups=%d" % (g, C, O, CG))
        c[key] = g
        if min(out_hw(c)) < 1:
            raise FormatError("empty output (%d x %d)" % out_hw(c))
    elif key in ("input_scale", "output_scale"):
        if len(a) != 1:
            raise FormatError("%s: one value expected" % key)
        c[key] = _f32_exact(a[0], key, True)
    elif key in ("input_zero_point", "output_zero_point"):
        lo, hi = TYPE_RANGE[c["input_type"]]
        c[key] = int(_ints(a, 1, key, lo, hi)[0])
    elif key in ("weight_scales", "weight_zero_points"):
        if not a:
            raise FormatError("%s: count missing" % key)
        n = _int(a[0], key)
        O = c["weight_shape"][0]
        if n not in (1, O):
            raise FormatError("%s: count %d is neither 1 nor O=%d" % (key, n, O))
        if key == "weight_zero_points" and n != len(c["weight_scales"]):
            raise FormatError("weight_zero_points: count %d != weight_scales count" % n)
        if len(a) - 1 != n:
            raise FormatError("%s: expected %d values, got %d" % (key, n, len(a) - 1))
        c[key] = ([_f32_exact(t, key, True) for t in a[1:]] if key == "weight_scales"
                  else [int(v) for v in _ints(a[1:], n, key, -128, 127)])
    elif key == "bias":
        O = c["weight_shape"][0]
        if a == ["none"]:
            c["bias"], c["bias_type"] = None, None
        elif len(a) >= 2 and a[0] in ("f32", "s32"):
            if _int(a[1], "bias count") != O:
                raise FormatError("bias: count %s != O=%d" % (a[1], O))
            if len(a) - 2 != O:
                raise FormatError("bias: expected %d values, got %d" % (O, len(a) - 2))
            if a[0] == "f32":
                c["bias"] = np.array([_f32_exact(t, "bias", False) for t in a[2:]], np.float32)
            else:
                c["bias"] = _ints(a[2:], O, "bias", -(2 ** 31), 2 ** 31 - 1)
            c["bias_type"] = a[0]
        else:
            raise FormatError("bias: expected 'none', 'f32 <O> ...' or 's32 <O> ...'")
    elif key == "relu":
        c[key] = int(_ints(a, 1, key, 0, 1)[0])
    elif key == "input":
        lo, hi = TYPE_RANGE[c["input_type"]]
        c[key] = _ints(a, int(np.prod(c["input_shape"])), key, lo, hi).reshape(c["input_shape"])
    elif key == "weight":
        c[key] = _ints(a, int(np.prod(c["weight_shape"])), key, -128, 127).reshape(c["weight_shape"])
    elif key == "expect":
        if a == ["output"]:
            c["expect"] = "output"
        elif len(a) >= 2 and a[0] == "unsupported":
            c["expect"], c["reason"] = "unsupported", " ".join(a[1:])
        else:
            raise FormatError("expect: 'output' or 'unsupported <reason>'")
    elif key == "output":
        lo, hi = TYPE_RANGE[c["input_type"]]
        N = c["input_shape"][0]
        O = c["weight_shape"][0]
        OH, OW = out_hw(c)
        c[key] = _ints(a, N * O * OH * OW, key, lo, hi).reshape(N, O, OH, OW)


# ----------------------------------------------------------------------------------------------
def per_oc(c, key):
    v = c[key]
    return v * c["weight_shape"][0] if len(v) == 1 else list(v)


def qs8_mults(c):
    ws = np.array(per_oc(c, "weight_scales"), np.float64).astype(np.float32)
    return (np.float32(c["input_scale"]) * ws) / np.float32(c["output_scale"])


def torch_refusal(c):
    """why torch 1.13 refuses this configuration, or None if it computes it"""
    if c["numerics"] == "pytorch-onednn-1.13":
        if c["input_type"] != "u8":
            return "onednn: input must be quint8"
        if any(c["weight_zero_points"]):
            return "onednn: weight zero points must be 0"
    elif c["numerics"] == "pytorch-qnnpack" and c["input_type"] == "s8":
        if len(c["weight_zero_points"]) == 1 and c["weight_zero_points"][0] != 0:
            return "xnnpack: per-tensor weight zero point must be 0"
        if c["relu"] and c["output_zero_point"] == 127:
            return "xnnpack: relu with output zero point 127 (empty range)"
        if qs8_mults(c).max() >= 256:
            return "xnnpack: requantization scale >= 256"
    return None


def accumulator(c):
    """exact int accumulator [N, O, OH, OW] (int64, no wrap)"""
    xz = c["input_zero_point"]
    t, l, b, r = c["padding"]
    # padding with the zero point == a zero contribution; lets the reference run with padding 0
    xp = np.pad(c["input"], ((0, 0), (0, 0), (t, b), (l, r)), constant_values=xz)
    wz = np.array(per_oc(c, "weight_zero_points"), np.int64)
    return R.conv2d_acc(xp, xz, c["weight"], wz, c["stride"], (0, 0), c["dilation"], c["groups"])


def qnnpack_int32_wraps(c, acc):
    """does acc + int32 bias leave the int32 range somewhere (PyTorch qnnpack's int32 bias)?"""
    if c["bias"] is None or c["bias_type"] != "f32":
        return False
    ws = np.array(per_oc(c, "weight_scales"), np.float64)
    bq = np.array([R.quantize(b, s * np.float64(c["input_scale"]), 0, "qint32")
                   for b, s in zip(c["bias"], ws)])
    tot = acc + bq.reshape(1, -1, 1, 1)
    return bool(((tot > 2 ** 31 - 1) | (tot < -(2 ** 31))).any())


def expected(c, acc):
    """the reference's output, or None when this checker has no model for the case"""
    if c["numerics"] not in ("pytorch-qnnpack", "pytorch-onednn-1.13") or c["bias_type"] == "s32":
        return None
    ws = per_oc(c, "weight_scales")
    pc = len(c["weight_scales"]) > 1
    a = (acc, c["input_scale"], ws, c["output_scale"], c["output_zero_point"], c["bias"], bool(c["relu"]))
    if c["numerics"] == "pytorch-onednn-1.13":
        return R.requant_onednn(*a, per_channel=pc)
    if c["input_type"] == "s8":
        return R.requant_qnnpack_qs8(*a)
    return R.requant_qnnpack(*a, per_channel=pc, out_dtype="quint8", op="conv")


def features(c, cov):
    """count what the case exercises (for the coverage summary)"""
    N, C, H, W = c["input_shape"]
    O, CG, KH, KW = c["weight_shape"]
    g = c["groups"]
    lo, hi = TYPE_RANGE[c["input_type"]]
    f = ["type " + c["input_type"], "relu %d" % c["relu"]]
    if g == C and C > 1:
        f.append("depthwise x%d" % (O // C))
    elif g > 1:
        f.append("groups %d" % g)
    if C % 2 or O % 2:
        f.append("odd channels")
    f.append("kernel %dx%d" % (KH, KW) if KH == KW else "kernel non-square")
    if c["stride"] == (2, 2):
        f.append("stride 2")
    elif c["stride"][0] != c["stride"][1]:
        f.append("stride mixed")
    if c["dilation"] != (1, 1):
        f.append("dilation")
    t, l, b, r = c["padding"]
    f.append("padding asym" if (t != b or l != r) else "padding sym" if (t or l) else "padding 0")
    f.append("weights per-channel" if len(c["weight_scales"]) > 1 else "weights per-tensor")
    if any(c["weight_zero_points"]):
        f.append("weight zp nonzero")
    if set(c["weight_zero_points"]) & {-128, 127}:
        f.append("weight zp extreme")
    if c["input_zero_point"] in (lo, hi):
        f.append("input zp extreme")
    if c["output_zero_point"] in (lo, hi):
        f.append("output zp extreme")
    if c["input"].min() == c["input"].max() and c["input"].flat[0] in (lo, hi):
        f.append("input saturated")
    m = qs8_mults(c)
    if m.min() < 1e-5:
        f.append("multiplier < 1e-5")
    if ((m > 0.5) & (m < 2)).any():
        f.append("multiplier ~1")
    if m.max() > 2:
        f.append("multiplier > 2")
    if c["bias"] is None:
        f.append("bias none")
    else:
        f.append("bias")
        bq = np.abs(np.asarray(c["bias"], np.float64)) / (
            c["input_scale"] * np.array(per_oc(c, "weight_scales"), np.float64))
        if bq.max() >= 2.0 ** 30:
            f.append("bias |b/(sx*sw)| >= 2^30")
    cov.update(f)


def check(path):
    try:
        header, cases = parse(path)
    except (FormatError, OSError) as e:
        print("%s: FORMAT ERROR %s" % (path, e))
        return False
    ok = True
    names = Counter(c["name"] for c in cases)
    for n, k in names.items():
        if k > 1:
            print("%s: case name %s used %d times" % (path, n, k))
            ok = False
    cov, stats = Counter(), Counter()
    reasons = Counter()
    for c in cases:
        features(c, cov)
        rule = torch_refusal(c) if c["numerics"].startswith("pytorch-") else None
        if c["expect"] == "unsupported":
            stats["refusals"] += 1
            reasons[c["reason"]] += 1
            if c["numerics"].startswith("pytorch-") and rule is None:
                print("%s: note: case %s: refusal not explained by the known torch rules: %s"
                      % (path, c["name"], c["reason"]))
                stats["unexplained refusals"] += 1
            continue
        stats["outputs"] += 1
        stats["output values"] += c["output"].size
        if rule is not None:
            print("%s: case %s (line %d) has an output although torch refuses it (%s)"
                  % (path, c["name"], c["line"], rule))
            ok = False
        acc = accumulator(c)
        if c["numerics"] == "pytorch-qnnpack" and qnnpack_int32_wraps(c, acc):
            cov["acc+bias wraps int32"] += 1
        want = expected(c, acc)
        if want is None:
            stats["not recomputed (no model here)"] += 1
            continue
        bad = int((want != c["output"]).sum())
        stats["recomputed"] += 1
        if bad:
            i = tuple(np.argwhere(want != c["output"])[0])
            print("%s: case %s (line %d): %d of %d outputs differ from numerics_reference, first at %s:"
                  " file %d, reference %d" % (path, c["name"], c["line"], bad, want.size, i,
                                              c["output"][i], want[i]))
            stats["mismatching cases"] += 1
            ok = False
    size = os.path.getsize(path)
    print("%s: %s, %d cases (%d outputs, %d refusals), %d output values, %.1f kB" % (
        path, "OK" if ok else "FAILED", len(cases), stats["outputs"], stats["refusals"],
        stats["output values"], size / 1000))
    for h in header:
        print("    " + h)
    print("  recomputed with numerics_reference: %d, mismatching cases: %d, not recomputed: %d" % (
        stats["recomputed"], stats["mismatching cases"], stats["not recomputed (no model here)"]))
    print("  coverage: " + ", ".join("%s %d" % kv for kv in sorted(cov.items())))
    for r, k in sorted(reasons.items()):
        print("  refusal x%d: %s" % (k, r))
    return ok


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ok = True
    for p in sys.argv[1:]:
        ok &= check(p)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
