#!/usr/bin/python3
"""ONNX models for qk-bench's ONNX Runtime rows, one per layer of the shape table.

    qk-bench --export_ort=DIR          # the data of every layer: DIR/<shape>.json + .bin files
    tools/bench_ort_models.py DIR      # DIR/<shape>.onnx (Debian's python3-onnx)

Each model is a single com.microsoft QLinearConv with channels_last=1: the NHWC kernel ONNX
Runtime's optimizer turns ONNX QLinearConv into inside a network (a lone NCHW layer would also
time two transposes qk does not do). Input x [1, H, W, C] u8; weights [O, C/G, KH, KW] s8 with
per-channel float scales and zero point 0; int32 bias; output y [1, OH, OW, O] u8. The values are
the ones qk-bench generates for every implementation, so ORT's output can be compared with qk's.
"""
import glob
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(meta, base):
    o, cg = meta["oc"], meta["ic"] // meta["groups"]
    w = np.fromfile(base + ".weights.bin", dtype=np.int8).reshape(o, cg, meta["kh"], meta["kw"])
    b = np.fromfile(base + ".bias.bin", dtype="<i4")
    ws = np.fromfile(base + ".wscale.bin", dtype="<f4")
    inits = [
        numpy_helper.from_array(np.array(meta["x_scale"], dtype=np.float32), "x_scale"),
        numpy_helper.from_array(np.array(meta["x_zp"], dtype=np.uint8), "x_zp"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(ws.astype(np.float32), "w_scale"),
        numpy_helper.from_array(np.zeros(o, dtype=np.int8), "w_zp"),
        numpy_helper.from_array(np.array(meta["y_scale"], dtype=np.float32), "y_scale"),
        numpy_helper.from_array(np.array(meta["y_zp"], dtype=np.uint8), "y_zp"),
        numpy_helper.from_array(b.astype(np.int32), "b"),
    ]
    p, s = meta["pad"], meta["stride"]
    node = helper.make_node(
        "QLinearConv",
        ["x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "b"],
        ["y"],
        domain="com.microsoft",
        channels_last=1,
        group=meta["groups"],
        kernel_shape=[meta["kh"], meta["kw"]],
        pads=[p, p, p, p],
        strides=[s, s],
        dilations=[1, 1],
    )
    graph = helper.make_graph(
        [node],
        meta["name"],
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, meta["ih"], meta["iw"], meta["ic"]])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, meta["oh"], meta["ow"], o])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="qk tools/bench_ort_models.py",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
    )
    model.ir_version = 8
    return model


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    files = sorted(glob.glob(os.path.join(d, "*.json")))
    if not files:
        sys.exit(f"bench_ort_models.py: no layer data in {d} (run qk-bench --export_ort={d})")
    for f in files:
        with open(f) as fh:
            meta = json.load(fh)
        base = f[: -len(".json")]
        onnx.save(build(meta, base), base + ".onnx")
    print(f"bench_ort_models.py: {len(files)} models in {d}")


if __name__ == "__main__":
    main()
