#!/usr/bin/env python3
"""Export a quantized PyTorch model to a qk model file (docs/model-format.md).

    from qk_export import export
    export(quantized_model, example_input, "model.safetensors")

or from the command line, for a model saved with torch.save / torch.jit.save is not supported yet:
the function API is the way in (a script builds the model, quantizes it and calls export).

The graph is recorded by running the model once on example_input with forward hooks on its leaf
modules (the modules eager-mode quantization produces: Quantize, Conv2d, ConvReLU2d, DeQuantize,
Identity), so it follows what forward() really does. A leaf module of another kind, or a tensor
operation between modules that the hooks cannot see, is an error naming the layer.

The numerics mode comes from the quantized engine and the torch version (and, for fbgemm / x86,
whether this CPU has AVX512-VNNI): docs/numerics.md, "which mode am I?".

Needs torch (Debian 12: python3-torch 1.13; Debian 13: 2.6) and numpy only. The safetensors file
is written by hand (8-byte header length, JSON header, data), no safetensors package needed.
"""
import argparse
import json
import struct
import sys

import numpy as np

FORMAT_VERSION = "1"


def numerics_mode(torch):
    """The qk mode of the current engine, torch version and CPU."""
    engine = torch.backends.quantized.engine
    major, minor = (int(p) for p in torch.__version__.split(".")[:2])
    vnni = False
    try:
        with open("/proc/cpuinfo") as f:
            vnni = "avx512_vnni" in f.read()
    except OSError:
        pass
    if engine == "qnnpack":
        return "pytorch-qnnpack"
    if engine == "onednn":
        return "pytorch-onednn" if (major, minor) >= (2, 2) else "pytorch-onednn-1.13"
    if engine == "fbgemm":
        return "pytorch-fbgemm" if vnni else "pytorch-fbgemm-avx2"
    if engine == "x86":
        return "pytorch-x86" if vnni else "pytorch-fbgemm-avx2"
    raise ValueError(f"quantized engine {engine!r} has no qk numerics mode")


def _quantized_modules(torch):
    """(quantized modules, fused quantized modules): torch.ao.nn.* since 2.0, torch.nn.* in 1.13."""
    import importlib
    found = []
    for names in (("torch.ao.nn.quantized", "torch.nn.quantized"),
                  ("torch.ao.nn.intrinsic.quantized", "torch.nn.intrinsic.quantized")):
        for n in names:
            try:
                found.append(importlib.import_module(n))
                break
            except ImportError:
                continue
    return found[0], found[1]


def _dtype_name(torch, dtype):
    return {torch.quint8: "u8", torch.qint8: "s8"}.get(dtype)


class _Exporter:
    def __init__(self, torch, model):
        self.torch = torch
        self.model = model
        self.nodes = []
        self.tensors = {}  # name -> numpy array
        self.names = {}  # id(tensor) -> value name
        self.keep = []  # keeps traced tensors alive so their ids stay unique
        self.error = None

    def value_of(self, t, layer):
        name = self.names.get(id(t))
        if name is None:
            raise ValueError(f"layer '{layer}': its input was not produced by an exported layer "
                             "(a tensor operation outside modules?)")
        return name

    def new_value(self, t, name):
        self.names[id(t)] = name
        self.keep.append(t)
        return name

    def hook(self, name, module, inputs, output):
        if self.error is not None:
            return
        try:
            self.record(name, module, inputs, output)
        except Exception as e:  # reported after the forward pass, with the layer's name
            self.error = e

    def record(self, name, module, inputs, output):
        torch = self.torch
        nnq, nniq = _quantized_modules(torch)
        kind = type(module)
        if kind is torch.nn.Identity:
            self.names[id(output)] = self.value_of(inputs[0], name)
            self.keep.append(output)
            return
        if kind is nnq.Quantize:
            node = {"op": "quantize", "name": name, "input": self.value_of(inputs[0], name),
                    "dtype": _dtype_name(torch, module.dtype), "scale": float(module.scale),
                    "zero_point": int(module.zero_point)}
        elif kind is nnq.DeQuantize:
            node = {"op": "dequantize", "name": name, "input": self.value_of(inputs[0], name)}
        elif kind in (nnq.Conv2d, nniq.ConvReLU2d):
            node = self.conv2d(name, module, inputs[0], output)
        else:
            raise ValueError(f"layer '{name}' ({kind.__module__}.{kind.__name__}) is not supported "
                             "by qk_export yet (supported: Quantize, Conv2d, ConvReLU2d, DeQuantize, "
                             "Identity)")
        node["output"] = self.new_value(output, name + ":out")
        self.nodes.append(node)

    def conv2d(self, name, m, x, y):
        torch = self.torch
        if m.padding_mode != "zeros":
            raise ValueError(f"layer '{name}': padding_mode {m.padding_mode!r} (only zeros)")
        w = m.weight()
        if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            scales = np.array([w.q_scale()], dtype=np.float64)
            zps = np.array([w.q_zero_point()], dtype=np.int64)
            quantization = "per-tensor"
        else:
            scales = w.q_per_channel_scales().numpy().astype(np.float64)
            zps = w.q_per_channel_zero_points().numpy().astype(np.int64)
            quantization = "per-channel"
        self.tensors[name + ".weight"] = w.int_repr().numpy().astype(np.int8)
        self.tensors[name + ".weight_scales"] = scales
        self.tensors[name + ".weight_zero_points"] = zps
        node = {"op": "conv2d", "name": name, "input": self.value_of(x, name),
                "weight": name + ".weight", "weight_scales": name + ".weight_scales",
                "weight_zero_points": name + ".weight_zero_points",
                "weight_quantization": quantization,
                "stride": list(m.stride), "dilation": list(m.dilation), "groups": int(m.groups),
                "padding": [m.padding[0], m.padding[1], m.padding[0], m.padding[1]],
                "relu": type(m) is _quantized_modules(torch)[1].ConvReLU2d,
                "output_dtype": _dtype_name(torch, y.dtype), "output_scale": float(m.scale),
                "output_zero_point": int(m.zero_point)}
        b = m.bias()
        if b is not None:
            self.tensors[name + ".bias"] = b.detach().numpy().astype(np.float32)
            node["bias"] = name + ".bias"
        return node


def _input_entry(torch, name, x):
    if x.dim() != 4:
        raise ValueError(f"input '{name}' must be 4-D (N, C, H, W), got {tuple(x.shape)}")
    if x.is_quantized:
        return {"name": name, "dtype": _dtype_name(torch, x.dtype), "shape": list(x.shape),
                "scale": float(x.q_scale()), "zero_point": int(x.q_zero_point())}
    if x.dtype != torch.float32:
        raise ValueError(f"input '{name}' must be float32 or quantized, got {x.dtype}")
    return {"name": name, "dtype": "f32", "shape": list(x.shape)}


def trace(model, example_input):
    """Runs the model once; returns (graph dict, tensors dict, output of the model)."""
    import torch
    ex = _Exporter(torch, model)
    handles = []
    for name, module in model.named_modules():
        if len(list(module.children())) == 0:
            handles.append(module.register_forward_hook(
                lambda mod, i, o, name=name: ex.hook(name, mod, i, o)))
    x = example_input
    ex.new_value(x, "input")
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    if ex.error is not None:
        raise ex.error
    graph = {"numerics": numerics_mode(torch), "inputs": [_input_entry(torch, "input", x)],
             "outputs": [ex.value_of(y, "model output")], "nodes": ex.nodes}
    return graph, ex.tensors, y


_ST_DTYPES = {np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8", np.dtype(np.int32): "I32",
              np.dtype(np.int64): "I64", np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _ST_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data region starts 8-byte aligned (spec allows padding)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def export(model, example_input, path):
    """Writes `model` (an eager-mode quantized torch module, in eval mode) to `path`; returns the
    model's output on example_input, as PyTorch computed it."""
    graph, tensors, y = trace(model, example_input)
    write_safetensors(path, tensors, {"qk.format": "qk-model", "qk.version": FORMAT_VERSION,
                                      "qk.graph": json.dumps(graph)})
    return y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--describe", metavar="MODEL",
                    help="print the graph of an existing qk model file")
    args = ap.parse_args()
    if args.describe:
        with open(args.describe, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        meta = header.pop("__metadata__", {})
        print(json.dumps(json.loads(meta.get("qk.graph", "{}")), indent=1))
        for name, t in sorted(header.items()):
            print(f"tensor {name}: {t['dtype']} {t['shape']}")
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
