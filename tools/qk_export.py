#!/usr/bin/env python3
"""Export a quantized PyTorch model to a qk model file (docs/model-format.md).

    from qk_export import export
    export(quantized_model, example_input, "model.safetensors")
    export(quantized_model, example_input, "model.safetensors", dump_layers="layers/")
    # then: qk run model.safetensors --input x.npy --compare layers/

or from the command line, for a model saved with torch.save / torch.jit.save is not supported yet:
the function API is the way in (a script builds the model, quantizes it and calls export).

The graph is recorded by running the model once on example_input, so it follows what forward()
really does: forward hooks on its leaf modules (Quantize, Conv2d, ConvReLU2d, Linear, LinearReLU,
MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, ReLU, ReLU6, Hardswish, Hardsigmoid, Sigmoid, Flatten,
DeQuantize, Identity), the QFunctional methods (add, add_relu, mul, cat) and torch.flatten /
F.adaptive_avg_pool2d between modules. A leaf module of another kind, or a tensor operation between
modules that the exporter does not know, is an error naming the layer. Which of these ops the C
runtime of this qk runs: docs/model-format.md (an op it does not run is refused at load).

The numerics mode comes from the quantized engine and the torch version (and, for fbgemm / x86,
whether this CPU has AVX512-VNNI): docs/numerics.md, "which mode am I?".

Needs torch (Debian 12: python3-torch 1.13; Debian 13: 2.6) and numpy only. The safetensors file
is written by hand (8-byte header length, JSON header, data), no safetensors package needed.
"""
import argparse
import json
import os
import re
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


def _pair(v):
    return [int(v[0]), int(v[1])] if isinstance(v, (tuple, list)) else [int(v), int(v)]


class _Exporter:
    """Records the graph while the model runs: forward hooks on leaf modules, wrappers around the
    QFunctional methods (add, add_relu, mul, cat: FloatFunctional after convert) and around the
    torch functions quantized networks call outside modules (torch.flatten,
    F.adaptive_avg_pool2d), active only between modules."""

    def __init__(self, torch, model):
        self.torch = torch
        self.model = model
        self.nodes = []
        self.tensors = {}  # name -> numpy array
        self.names = {}  # id(tensor) -> value name
        self.keep = []  # keeps traced tensors alive so their ids stay unique
        self.error = None
        self.depth = 0  # > 0 while inside a recorded module
        self.value_tensors = {}  # value name -> the tensor PyTorch computed

    def value_of(self, t, layer):
        name = self.names.get(id(t))
        if name is None:
            raise ValueError(f"layer '{layer}': its input was not produced by an exported layer "
                             "(a tensor operation outside modules that qk_export does not know?)")
        return name

    def new_value(self, t, name):
        base, k = name, 1
        while name in self.names.values():
            k += 1
            name = f"{base}.{k}"
        self.names[id(t)] = name
        self.keep.append(t)
        self.value_tensors[name] = t
        return name

    def emit(self, node, output):
        node["output"] = self.new_value(output, node["name"] + ":out")
        self.nodes.append(node)

    def guarded(self, what, fn):
        if self.error is not None:
            return
        try:
            fn()
        except Exception as e:  # reported after the forward pass, with the layer's name
            self.error = e
            self.error_where = what

    # ---- modules ----
    def pre_hook(self, name, module, inputs):
        self.depth += 1

    def hook(self, name, module, inputs, output):
        self.depth -= 1
        self.guarded(name, lambda: self.record(name, module, inputs, output))

    def record(self, name, module, inputs, output):
        torch = self.torch
        nnq, nniq = _quantized_modules(torch)
        kind = type(module)
        x = inputs[0] if inputs else None
        if kind is torch.nn.Identity:
            self.names[id(output)] = self.value_of(x, name)
            self.keep.append(output)
            return
        node = {"name": name}
        if kind is nnq.Quantize:
            node.update(op="quantize", input=self.value_of(x, name),
                        dtype=_dtype_name(torch, module.dtype), scale=float(module.scale),
                        zero_point=int(module.zero_point))
        elif kind is nnq.DeQuantize:
            node.update(op="dequantize", input=self.value_of(x, name))
        elif kind in (nnq.Conv2d, nniq.ConvReLU2d):
            node.update(self.conv2d(name, module, x, output))
        elif kind in (nnq.Linear, getattr(nniq, "LinearReLU", nnq.Linear)):
            node.update(self.linear(name, module, x, output))
        elif kind is torch.nn.MaxPool2d:
            if module.return_indices:
                raise ValueError(f"layer '{name}': MaxPool2d with return_indices")
            p = _pair(module.padding)
            node.update(op="max_pool2d", input=self.value_of(x, name),
                        kernel=_pair(module.kernel_size),
                        stride=_pair(module.stride if module.stride is not None else
                                     module.kernel_size),
                        padding=[p[0], p[1], p[0], p[1]], dilation=_pair(module.dilation),
                        ceil_mode=bool(module.ceil_mode))
        elif kind is torch.nn.AvgPool2d:
            p = _pair(module.padding)
            node.update(op="avg_pool2d", input=self.value_of(x, name),
                        kernel=_pair(module.kernel_size),
                        stride=_pair(module.stride if module.stride is not None else
                                     module.kernel_size),
                        padding=[p[0], p[1], p[0], p[1]], ceil_mode=bool(module.ceil_mode),
                        count_include_pad=bool(module.count_include_pad))
            if module.divisor_override is not None:
                node["divisor_override"] = int(module.divisor_override)
        elif kind is torch.nn.AdaptiveAvgPool2d:
            node.update(op="adaptive_avg_pool2d", input=self.value_of(x, name),
                        output_size=[int(output.shape[2]), int(output.shape[3])])
        elif kind in (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.Hardswish, torch.nn.Hardsigmoid,
                      torch.nn.Sigmoid, torch.nn.LeakyReLU) or \
                kind in tuple(getattr(nnq, k) for k in ("Hardswish", "ReLU6", "LeakyReLU", "Sigmoid")
                              if hasattr(nnq, k)):
            node.update(self.unary(name, kind.__name__.lower(), module, x, output))
        elif kind is torch.nn.Dropout or kind is getattr(nnq, "Dropout", None):  # eval: identity
            self.names[id(output)] = self.value_of(x, name)
            self.keep.append(output)
            return
        elif kind is torch.nn.Flatten:
            if module.start_dim != 1 or module.end_dim != -1:
                raise ValueError(f"layer '{name}': Flatten(start_dim={module.start_dim}, "
                                 f"end_dim={module.end_dim}) (only 1, -1)")
            node.update(op="flatten", input=self.value_of(x, name))
        else:
            raise ValueError(f"layer '{name}' ({kind.__module__}.{kind.__name__}) is not supported "
                             "by qk_export yet")
        self.emit(node, output)

    def unary(self, name, op, module, x, y):
        """relu, clamp (relu6), hardswish, hardsigmoid, sigmoid, leaky_relu. hardswish and
        leaky_relu requantize into the module's own scale and zero point; the others keep the
        input's (relu, relu6) or PyTorch's fixed 1/256 (sigmoid, hardsigmoid)."""
        node = {"op": {"relu6": "clamp", "leakyrelu": "leaky_relu"}.get(op, op),
                "input": self.value_of(x, name)}
        if op == "relu6":
            node.update(min=0.0, max=6.0)
        if op == "leakyrelu":
            node["negative_slope"] = float(module.negative_slope)
        if op in ("hardswish", "leakyrelu"):
            node.update(output_dtype=_dtype_name(self.torch, y.dtype),
                        output_scale=float(y.q_scale()), output_zero_point=int(y.q_zero_point()))
        return node

    # ---- QFunctional methods and functions between modules ----
    def functional(self, name, op, args, output, extra=None):
        node = {"name": name, "op": op}
        tensors = [a for a in args if isinstance(a, self.torch.Tensor)]
        if len(tensors) == 1:
            node["input"] = self.value_of(tensors[0], name)
        else:
            node["inputs"] = [self.value_of(t, name) for t in tensors]
        node.update(extra or {})
        self.emit(node, output)

    def wrap_qfunctional(self, name, qf):
        originals = {}
        for method, op, relu in (("add", "add", False), ("add_relu", "add", True),
                                 ("mul", "mul", False)):
            original = getattr(qf, method)
            originals[method] = original

            def wrapper(a, b, original=original, op=op, relu=relu, method=method):
                y = original(a, b)
                if self.depth == 0:
                    self.guarded(name, lambda: self.functional(
                        f"{name}.{method}", op, (a, b), y,
                        {"relu": relu, "output_dtype": _dtype_name(self.torch, y.dtype),
                         "output_scale": float(qf.scale), "output_zero_point": int(qf.zero_point)}))
                return y
            setattr(qf, method, wrapper)

        def cat(xs, dim=0, original=qf.cat):
            y = original(xs, dim)
            if self.depth == 0:
                self.guarded(name, lambda: self.functional(
                    f"{name}.cat", "cat", tuple(xs), y,
                    {"axis": int(dim), "output_dtype": _dtype_name(self.torch, y.dtype),
                     "output_scale": float(qf.scale), "output_zero_point": int(qf.zero_point)}))
            return y
        originals["cat"] = qf.cat
        qf.cat = cat
        return originals

    def wrap_functions(self):
        torch = self.torch
        F = torch.nn.functional
        saved = {"flatten": torch.flatten, "adaptive_avg_pool2d": F.adaptive_avg_pool2d}
        counter = [0]

        def flatten(x, start_dim=0, end_dim=-1):
            y = saved["flatten"](x, start_dim, end_dim)
            if self.depth == 0 and x.is_quantized:
                counter[0] += 1
                def record():
                    if start_dim != 1 or end_dim != -1 or x.dim() != 4:
                        raise ValueError(f"torch.flatten(start_dim={start_dim}, end_dim={end_dim})"
                                         f" of a {x.dim()}-D tensor (only a 4-D tensor from dim 1)")
                    self.functional(f"flatten.{counter[0]}", "flatten", (x,), y)
                self.guarded("torch.flatten", record)
            return y

        def adaptive_avg_pool2d(x, output_size):
            y = saved["adaptive_avg_pool2d"](x, output_size)
            if self.depth == 0 and x.is_quantized:
                counter[0] += 1
                self.guarded("adaptive_avg_pool2d", lambda: self.functional(
                    f"adaptive_avg_pool2d.{counter[0]}", "adaptive_avg_pool2d", (x,), y,
                    {"output_size": [int(y.shape[2]), int(y.shape[3])]}))
            return y
        torch.flatten = flatten
        F.adaptive_avg_pool2d = adaptive_avg_pool2d

        def restore():
            torch.flatten = saved["flatten"]
            F.adaptive_avg_pool2d = saved["adaptive_avg_pool2d"]
        return restore

    def weights(self, name, w):
        torch = self.torch
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
        return {"weight": name + ".weight", "weight_scales": name + ".weight_scales",
                "weight_zero_points": name + ".weight_zero_points",
                "weight_quantization": quantization}

    def bias(self, name, b, node):
        if b is not None:
            self.tensors[name + ".bias"] = b.detach().numpy().astype(np.float32)
            node["bias"] = name + ".bias"

    def conv2d(self, name, m, x, y):
        torch = self.torch
        if m.padding_mode != "zeros":
            raise ValueError(f"layer '{name}': padding_mode {m.padding_mode!r} (only zeros)")
        node = {"op": "conv2d", "input": self.value_of(x, name)}
        node.update(self.weights(name, m.weight()))
        node.update(stride=list(m.stride), dilation=list(m.dilation), groups=int(m.groups),
                    padding=[m.padding[0], m.padding[1], m.padding[0], m.padding[1]],
                    relu=type(m) is _quantized_modules(torch)[1].ConvReLU2d,
                    output_dtype=_dtype_name(torch, y.dtype), output_scale=float(m.scale),
                    output_zero_point=int(m.zero_point))
        self.bias(name, m.bias(), node)
        return node

    def linear(self, name, m, x, y):
        torch = self.torch
        node = {"op": "linear", "input": self.value_of(x, name)}
        w, b = m._weight_bias()
        node.update(self.weights(name, w))
        node.update(relu=type(m).__name__ == "LinearReLU",
                    output_dtype=_dtype_name(torch, y.dtype), output_scale=float(m.scale),
                    output_zero_point=int(m.zero_point))
        self.bias(name, b, node)
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
    """Runs the model once; returns (graph dict, tensors dict, output of the model, {value name:
    the tensor PyTorch computed for it})."""
    import torch
    nnq, _ = _quantized_modules(torch)
    ex = _Exporter(torch, model)
    handles, qfunctionals = [], []
    inner = tuple(n + "." for n, m in model.named_modules() if isinstance(m, nnq.QFunctional))
    for name, module in model.named_modules():
        if name.startswith(inner):
            continue  # a QFunctional's own activation_post_process: part of the wrapped method
        if isinstance(module, nnq.QFunctional):
            qfunctionals.append((module, ex.wrap_qfunctional(name, module)))
        elif len(list(module.children())) == 0 or isinstance(module, nnq.Linear):
            # a quantized Linear is a leaf too: its child only holds the packed weights
            handles.append(module.register_forward_pre_hook(
                lambda mod, i, name=name: ex.pre_hook(name, mod, i)))
            handles.append(module.register_forward_hook(
                lambda mod, i, o, name=name: ex.hook(name, mod, i, o)))
    restore = ex.wrap_functions()
    x = example_input
    ex.new_value(x, "input")
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        restore()
        for h in handles:
            h.remove()
        for module, originals in qfunctionals:
            for method, fn in originals.items():
                setattr(module, method, fn)
            for method in originals:  # drop the instance attributes: the class methods return
                module.__dict__.pop(method, None)
    if ex.error is not None:
        raise ex.error
    graph = {"numerics": numerics_mode(torch), "inputs": [_input_entry(torch, "input", x)],
             "outputs": [ex.value_of(y, "model output")], "nodes": ex.nodes}
    return graph, ex.tensors, y, ex.value_tensors


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


def layer_file_name(layer):
    """The file of a layer's dumped output: what `qk run --compare` looks for."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", layer) + ".npy"


def export(model, example_input, path, dump_layers=None):
    """Writes `model` (an eager-mode quantized torch module, in eval mode) to `path`; returns the
    model's output on example_input, as PyTorch computed it. With dump_layers=DIR, also writes
    each layer's output as PyTorch computed it (the integer representation of a quantized one,
    NCHW) to DIR/<layer>.npy, for `qk run MODEL --input X --compare DIR`."""
    graph, tensors, y, values = trace(model, example_input)
    write_safetensors(path, tensors, {"qk.format": "qk-model", "qk.version": FORMAT_VERSION,
                                      "qk.graph": json.dumps(graph)})
    if dump_layers is not None:
        os.makedirs(dump_layers, exist_ok=True)
        for node in graph["nodes"]:
            t = values[node["output"]]
            a = t.int_repr().numpy() if t.is_quantized else t.detach().numpy()
            np.save(os.path.join(dump_layers, layer_file_name(node["name"])), a)
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
