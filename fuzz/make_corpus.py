#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (committed; re-run only
when an encoding changes). Standard library only.

  fuzz_npy          .npy files numpy.save would write (every dtype, rank 0..8, versions 1.0-3.0,
                    the growth-axis padding of numpy >= 1.23) and a few near-misses
  fuzz_conv2d       conv2d cases in the byte encoding of fuzz/conv2d_case.h: each numerics mode
  fuzz_conv2d_isa   with plain, depthwise, grouped, 1x1, strided, dilated, padded shapes

Usage: fuzz/make_corpus.py [OUT_DIR]   (default fuzz/corpus)
Crash inputs found later are added by hand as fuzz/corpus/<target>/regress-<what> (see
docs/reliability.md); this script does not delete them.
"""
import hashlib
import os
import struct
import sys

MAGIC = b"\x93NUMPY"


def npy(descr, shape, data=None, version=1, fortran=False, grow=False, extra=b""):
    shape_txt = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_txt)
    if grow:
        header += " " * 21
    prefix = 10 if version == 1 else 12
    total = prefix + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    hl = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    item = {"u1": 1, "i1": 1, "i4": 4, "i8": 8, "f4": 4}[descr[1:]]
    count = 1
    for d in shape:
        count *= d
    if data is None:
        data = bytes((i * 37 + 11) & 0xFF for i in range(count * item))
    return MAGIC + bytes([version, 0]) + hl + header.encode() + data + extra


def npy_seeds():
    seeds = {}
    for descr in ["|u1", "<u1", "|i1", "<i4", "|i4", "<i8", "<f4"]:
        for shape in [(), (0,), (1,), (5,), (2, 3), (1, 3, 4, 4), (2, 0, 3), (1,) * 8]:
            name = "%s_%s" % (descr.replace("|", "p").replace("<", "l"),
                              "x".join(map(str, shape)) or "scalar")
            seeds[name] = npy(descr, shape)
    seeds["v2"] = npy("<f4", (3, 2), version=2)
    seeds["v3"] = npy("|u1", (4,), version=3)
    seeds["growth_axis"] = npy("<i4", (2, 2), grow=True)
    # Near-misses the reader must refuse cleanly.
    seeds["bad_fortran"] = npy("<f4", (2, 2), fortran=True)
    seeds["bad_big_endian"] = npy("|u1", (2,)).replace(b"|u1", b">u1")
    seeds["bad_trailing"] = npy("|u1", (3,), extra=b"\0")
    seeds["bad_truncated"] = npy("<i4", (8,))[:-3]
    seeds["bad_version"] = npy("|u1", (1,), version=4)
    seeds["bad_header_len"] = MAGIC + b"\x01\x00\xff\xff" + b"{}"
    seeds["bad_key"] = npy("|u1", (1,)).replace(b"'shape'", b"'shapf'")
    seeds["bad_huge_shape"] = npy("|u1", (1,), data=b"").replace(
        b"(1,)", b"(18446744073709551615, 3)")
    return seeds


# The byte encoding of fuzz/conv2d_case.h, field by field (keep in sync with its header comment).
FIELDS = ["numerics", "types", "shape", "cg", "og", "g", "size", "kh", "kw", "sh", "sw", "dh",
          "dw", "pt", "pl", "pb", "pr", "batch", "h", "w", "sx", "swt", "so", "zx", "zy", "wq",
          "wmix", "bias", "act", "xs", "ys", "pattern"]
# Small(lo, hi) fields are lo + byte % (hi - lo + 1): store value - lo.
LO = {"cg": 1, "og": 1, "g": 1, "kh": 1, "kw": 1, "sh": 1, "sw": 1, "dh": 1, "dw": 1}


def case(seed=1, **kw):
    v = dict(numerics=2, types=0, shape=0, cg=4, og=8, g=1, size=0, kh=3, kw=3, sh=1, sw=1, dh=1,
             dw=1, pt=1, pl=1, pb=1, pr=1, batch=1, h=7, w=7, sx=0, swt=1, so=2, zx=128, zy=120,
             wq=1, wmix=3, bias=1, act=0, xs=0, ys=0, pattern=0)
    v.update(kw)
    out = bytes((v[f] - LO.get(f, 0)) & 0xFF for f in FIELDS)
    return out + struct.pack("<Q", seed)


def conv_seeds():
    s = {}
    # modes: fbgemm u8 (per-channel, weight zp), qnnpack u8 / s8, onednn, onnxruntime, tflite
    s["fbgemm"] = case(numerics=1, wq=3)
    s["qnnpack_u8"] = case(numerics=2, wq=3)
    s["qnnpack_s8"] = case(numerics=2, types=1, zx=128, zy=128, wq=1)
    s["onednn"] = case(numerics=3, wq=1, zy=20)
    s["onnxruntime"] = case(numerics=4, wq=3)
    s["onnxruntime_s8"] = case(numerics=4, types=1, zx=128, zy=128, wq=1)
    s["tflite_u8"] = case(numerics=5, wq=2)
    s["tflite_s8"] = case(numerics=5, types=1, wq=1, zx=100, zy=140)
    # shapes
    s["depthwise3x3"] = case(shape=1, cg=16, kh=3, kw=3, h=9, w=9)
    s["depthwise_s2"] = case(shape=1, cg=12, sh=2, sw=2, h=11, w=10)
    s["depthwise_x2"] = case(shape=2, cg=5)
    s["grouped"] = case(shape=3, cg=3, og=5, g=3)
    s["pointwise_direct"] = case(kh=1, kw=1, pt=0, pl=0, pb=0, pr=0, cg=16, og=24)
    s["pointwise_s2"] = case(kh=1, kw=1, pt=0, pl=0, pb=0, pr=0, sh=2, sw=2, h=13, w=13)
    s["big_gemm"] = case(size=1, cg=16, og=24, h=6, w=6, batch=2)
    s["dilated"] = case(dh=2, dw=3, pt=3, pl=3, pb=3, pr=3)
    s["kernel5x5"] = case(kh=5, kw=5, pt=2, pl=2, pb=2, pr=2, h=12, w=12)
    s["strided_pixels"] = case(xs=3, ys=2)
    s["relu6"] = case(numerics=5, types=1, act=1 | (3 << 1) | (4 << 4), wq=1)
    s["extremes"] = case(pattern=1, numerics=4, wq=3)
    s["all_max"] = case(pattern=2, numerics=1, wq=3)
    s["all_min"] = case(pattern=3, numerics=2, types=1, zx=0, zy=255, wq=1)
    s["empty_output"] = case(kh=5, kw=5, pt=0, pl=0, pb=0, pr=0, h=3, w=3)
    s["batch0"] = case(batch=0)
    # invalid descriptors
    s["bad_scale"] = case(sx=17)
    s["bad_zero_point"] = case(zx=0xFF)
    s["bad_min_max"] = case(act=(6 << 1) | (2 << 4))
    s["bad_stride"] = case(xs=0xFF)
    s["bad_null_bias"] = case(bias=0x81)
    s["bad_numerics"] = case(numerics=0)
    return s


def write(out, target, seeds):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (d, len(seeds)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    write(out, "fuzz_npy", npy_seeds())
    conv = conv_seeds()
    write(out, "fuzz_conv2d", conv)
    write(out, "fuzz_conv2d_isa", {k: v for k, v in conv.items() if not k.startswith("bad_")})


if __name__ == "__main__":
    main()
