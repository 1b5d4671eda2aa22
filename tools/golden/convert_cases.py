#!/usr/bin/python3
"""Convert case directories of the team's framework runs (../shared/golden/*.tgz: args.json with
qk's conv2d argv, x.npy, w.npy, b.npy, ws.npy / wz.npy, expected*.npy, config.json) into qk's
golden format (docs/golden-format.md).

    /usr/bin/python3 tools/golden/convert_cases.py --cases DIR --variant expected=pytorch-fbgemm \
        [--variant expected_avx2=pytorch-fbgemm-avx2] --header "provenance line" --out FILE

Each --variant FILE=MODE writes every case once per variant, with that expected file and mode
(the mode replaces args.json's --numerics). A case without the variant's file is written as
`expect unsupported` with config.json's reason when it has one. Per-channel weights (a
--weight-scales file) are marked `weight_quantization per-channel`, so one output channel stays per
channel. Inputs are read as numpy saves them (any order, float64 or length-1 scales, int64 zero
points) and written in the format's NCHW / OIHW text.
"""
import argparse
import json
import os

import numpy as np


def parse(case):
    a = json.load(open(os.path.join(case, "args.json")))
    assert a[0] == "conv2d", case
    o, i = {}, 1
    while i < len(a):
        if a[i] == "--relu":
            o["relu"] = True
            i += 1
        else:
            o[a[i][2:]] = a[i + 1]
            i += 2
    return o


def pair(s):
    v = [int(t) for t in s.split(",")]
    return v * 2 if len(v) == 1 else v


def load(case, name):
    return np.load(os.path.join(case, name))


def case_text(name, case, o, mode, expected, reason):
    x = load(case, o["input"])
    w = load(case, o["weight"]).astype(np.int64)
    N, C, H, W = x.shape
    O, CG, KH, KW = w.shape
    itype = {"uint8": "u8", "int8": "s8"}[str(x.dtype)]
    stride = pair(o.get("stride", "1"))
    pad = pair(o.get("padding", "0"))
    if len(pad) == 2:
        pad = [pad[0], pad[1], pad[0], pad[1]]
    dil = pair(o.get("dilation", "1"))
    per_channel = "weight-scales" in o
    if per_channel:
        ws = load(case, o["weight-scales"]).astype(np.float64).reshape(-1)
        wz = (load(case, o["weight-zero-points"]).astype(np.int64).reshape(-1)
              if "weight-zero-points" in o else np.zeros(len(ws), np.int64))
        if len(ws) == 1 and O > 1:
            ws = np.repeat(ws, O)
        if len(wz) == 1 and len(ws) > 1:
            wz = np.repeat(wz, len(ws))
    else:
        ws = np.array([float(np.float32(o["weight-scale"]))])
        wz = np.array([int(o.get("weight-zero-point", "0"))])
    lines = [f"case {name}", f"numerics {mode}", f"input_type {itype}",
             f"input_shape {N} {C} {H} {W}", f"weight_shape {O} {CG} {KH} {KW}",
             f"stride {stride[0]} {stride[1]}", f"padding {pad[0]} {pad[1]} {pad[2]} {pad[3]}",
             f"dilation {dil[0]} {dil[1]}", f"groups {int(o.get('groups', '1'))}",
             f"input_scale {repr(float(np.float32(o['input-scale'])))}",
             f"input_zero_point {int(o['input-zero-point'])}",
             f"weight_scales {len(ws)} " + " ".join(repr(float(np.float32(v))) for v in ws),
             f"weight_zero_points {len(wz)} " + " ".join(str(int(v)) for v in wz)]
    if per_channel:
        lines.append("weight_quantization per-channel")
    if "bias" in o:
        b = load(case, o["bias"]).reshape(-1)
        if b.dtype.kind == "f":
            lines.append(f"bias f32 {O} " + " ".join(repr(float(np.float32(v))) for v in b))
        else:
            lines.append(f"bias s32 {O} " + " ".join(str(int(v)) for v in b))
    else:
        lines.append("bias none")
    lines += [f"output_scale {repr(float(np.float32(o['output-scale'])))}",
              f"output_zero_point {int(o['output-zero-point'])}",
              f"relu {1 if o.get('relu') else 0}"]
    if "output-min" in o:
        lines.append(f"output_min {int(o['output-min'])}")
    if "output-max" in o:
        lines.append(f"output_max {int(o['output-max'])}")
    lines.append("input " + " ".join(str(int(v)) for v in x.astype(np.int64).reshape(-1)))
    lines.append("weight " + " ".join(str(int(v)) for v in w.reshape(-1)))
    if expected is None:
        lines.append("expect unsupported " + reason)
    else:
        y = expected.astype(np.int64)
        if itype == "s8" and expected.dtype == np.uint8:
            y = expected.view(np.int8).astype(np.int64)
        lines += ["expect output", "output " + " ".join(str(int(v)) for v in y.reshape(-1))]
    lines.append("end")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--variant", action="append", required=True, help="FILE=MODE, e.g. expected=tflite")
    ap.add_argument("--header", action="append", default=[], help="a comment line for the file header")
    ap.add_argument("--prefix", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cases = sorted(d for d in os.listdir(a.cases) if os.path.exists(os.path.join(a.cases, d, "args.json")))
    out = ["qk-golden-conv2d 1"] + ["# " + h for h in a.header]
    counts = {}
    for var in a.variant:
        fname, mode = var.split("=")
        n_out = n_ref = 0
        for d in cases:
            case = os.path.join(a.cases, d)
            o = parse(case)
            cfg = json.load(open(os.path.join(case, "config.json")))
            p = os.path.join(case, fname + ".npy")
            expected = np.load(p) if os.path.exists(p) else None
            reason = str(cfg.get("refusal_" + fname, cfg.get("refusal", "the framework did not run it"))) \
                .replace("\n", " ")
            if expected is None:
                reason = cfg.get("why_no_" + fname, "") or ("FBGEMM's groupwise kernel overruns its buffers "
                                                           "for this configuration (the harness refused it)")
            tag = f"{a.prefix}{d[5:]}-{mode}-{cfg.get('path' if fname in ('expected', 'expected_exact') else 'path_' + fname.split('_')[-1], cfg.get('path', 'conv'))}"
            out.append(case_text(tag, case, o, mode, expected, reason))
            n_out += expected is not None
            n_ref += expected is None
        counts[mode] = (n_out, n_ref)
    out.insert(1 + len(a.header), "# cases per mode (computed, refused): " +
               ", ".join(f"{m} {c[0]}/{c[1]}" for m, c in counts.items()))
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(a.out, counts)


if __name__ == "__main__":
    main()
