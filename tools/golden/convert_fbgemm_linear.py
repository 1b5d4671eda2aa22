#!/usr/bin/python3
"""Linear golden cases from the team's real-FBGEMM conv2d runs (fbgemm-seed31.txt, unpacked from
test/data/golden/team-golden.tar.xz into the build tree).

Usage:
  python3 tools/golden/convert_fbgemm_linear.py build/test/golden/fbgemm-seed31.txt \
      --mode pytorch-fbgemm --max-rows 12 --out test/data/golden/ops/linear-fbgemm.txt

Why these are linear goldens: FBGEMM's pointwise path (1x1 kernel, stride 1, no padding, one
group: ConvFastPath -> PackAWithRowOffset + fbgemmPacked + ReQuantizeOutput, numerics/fbgemm.md
§2.1) is the computation PyTorch's fbgemm linear makes (qlinear.cpp PackedLinearWeight::apply_impl:
PackAWithRowOffset, fbgemmPacked, ReQuantizeOutput with the same float bias and
act_times_w_scale), each output pixel a row. The values are real FBGEMM outputs (VNNI for
pytorch-fbgemm, VNNI disabled for pytorch-fbgemm-avx2); not a PyTorch linear run (no PyTorch with
fbgemm is available here). Rows are the NHWC pixels: row (n, y, x) = x[n, :, y, x].
"""
import argparse
import os

KEYS_DROPPED = ("stride", "padding", "dilation", "groups")


def cases(path):
    block = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("case "):
                block = [line]
            elif block:
                block.append(line)
                if line == "end":
                    yield block
                    block = []


def convert(block, mode, max_rows):
    kv = {}
    for line in block:
        key, _, rest = line.partition(" ")
        kv[key] = rest
    if kv["numerics"] != mode or not kv["case"].endswith("-pointwise"):
        return None
    if kv.get("groups", "1") != "1" or "output_min" in kv or "output_max" in kv:
        return None
    n, c, h, w = (int(v) for v in kv["input_shape"].split())
    o = int(kv["weight_shape"].split()[0])
    x = kv["input"].split()
    rows = []
    for ni in range(n):
        for yi in range(h):
            for xi in range(w):
                rows += [x[((ni * c + ci) * h + yi) * w + xi] for ci in range(c)]
    # Rows are independent: keep at most max_rows of them, evenly spread over the batch.
    m = n * h * w
    keep = sorted(set(int(i * m / max_rows) for i in range(max_rows))) if m > max_rows else \
        list(range(m))
    rows = [v for r in keep for v in rows[r * c:(r + 1) * c]]
    out = ["case " + kv["case"].replace("-pointwise", "-linear"),
           "numerics " + kv["numerics"], "input_type " + kv["input_type"],
           "input_shape %d %d" % (len(keep), c), "weight_shape %d %d" % (o, c)]
    for key in ("input_scale", "input_zero_point", "weight_scales", "weight_zero_points",
                "weight_quantization", "bias", "output_scale", "output_zero_point", "relu"):
        if key in kv:
            out.append(key + " " + kv[key])
    out += ["input " + " ".join(rows), "weight " + kv["weight"]]
    if kv["expect"].startswith("unsupported"):
        out.append("expect " + kv["expect"])
    else:
        y = kv["output"].split()
        yr = []
        for ni in range(n):
            for yi in range(h):
                for xi in range(w):
                    yr += [y[((ni * o + oi) * h + yi) * w + xi] for oi in range(o)]
        yr = [v for r in keep for v in yr[r * o:(r + 1) * o]]
        out += ["expect output", "output " + " ".join(yr)]
    out.append("end")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source")
    ap.add_argument("--mode", required=True, choices=["pytorch-fbgemm", "pytorch-fbgemm-avx2"])
    ap.add_argument("--max-bytes", type=int, default=280000)
    ap.add_argument("--max-rows", type=int, default=12)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    kept, total = [], 0
    for block in cases(args.source):
        text = convert(block, args.mode, args.max_rows)
        if text is None or total + len(text) > args.max_bytes:
            continue
        kept.append(text)
        total += len(text)
    header = ["qk-golden-linear 1",
              "# real FBGEMM (main 71d6f8b22, GCC 12.2) pointwise conv2d cases of the team's "
              "fbgemm-seed31 set, as linear rows (tools/golden/convert_fbgemm_linear.py: why that "
              "is PyTorch's fbgemm linear); %s; %d cases, at most %d rows each (spread over the "
              "batch)" % (args.mode, len(kept), args.max_rows)]
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(header) + "\n")
        f.writelines(kept)
    os.replace(tmp, args.out)
    print("convert_fbgemm_linear: %d cases, %d bytes -> %s" % (len(kept), total, args.out))


if __name__ == "__main__":
    main()
