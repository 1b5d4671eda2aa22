#!/usr/bin/env python3
"""Small quantized CNNs for test/model_test.cc, exported with tools/qk_export.py from real PyTorch.

For each engine E and network M, random weights calibrated on random data, converted with
eager-mode quantization, exported, and run by PyTorch on a random input:
  tiny        conv 3x3 + relu, depthwise 3x3 stride 2 + relu, pointwise 1x1, dilated 3x3, 5x5
  classifier  conv 3x3 stride 2, torch.flatten, linear + relu, linear
  miniresnet  torchvision's quantizable ResNet blocks at width 8/16: stem, max pool, add_relu
              skips, a downsample, global average pool, flatten, fc
Writes into --out:
  M-E.safetensors   the qk model
  M-E-input.npy     the float32 NCHW input
  M-E-output.npy    PyTorch's float32 output (dequantized)
  M-E-qoutput.npy   its integer representation (uint8), before DeQuantStub
  miniresnet-qnnpack-layers/   every layer's output as PyTorch computed it (qk_export dump_layers)
Usage: /usr/bin/python3 tools/models/gen_test_models.py --out test/data/models [--seed 1]
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import qk_export  # noqa: E402


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.quant = torch.ao.quantization.QuantStub()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.dw = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16)
        self.relu2 = nn.ReLU()
        self.pw = nn.Conv2d(16, 24, 1)
        self.dil = nn.Conv2d(24, 8, 3, padding=2, dilation=2, bias=False)
        self.big = nn.Conv2d(8, 12, 5, padding=2, stride=1)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.dw(x))
        x = self.big(self.dil(self.pw(x)))
        self.qout = x
        return self.dequant(x)


class Classifier(torch.nn.Module):
    """conv (stride 2) -> torch.flatten of a 4-D tensor (NCHW order: a real layout change) ->
    linear + relu -> linear."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.quant = torch.ao.quantization.QuantStub()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(8 * 10 * 9, 40)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(40, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.conv(self.quant(x))
        x = torch.flatten(x, 1)
        x = self.fc2(self.relu(self.fc1(x)))
        self.qout = x
        return self.dequant(x)


class MiniResNet(torch.nn.Module):
    """torchvision's quantizable ResNet at a small width: the stem (7x7 stride 2 conv + BN + ReLU,
    3x3 stride 2 max pool), one QuantizableBasicBlock (add_relu of the skip) and one with a
    strided 1x1 downsample, the global average pool, torch.flatten and the fc, all as
    torchvision.models.quantization.resnet18 runs them."""

    def __init__(self):
        super().__init__()
        from torchvision.models.quantization.resnet import QuantizableBasicBlock as Block
        nn = torch.nn
        self.quant = torch.ao.quantization.QuantStub()
        self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        down = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.layer1 = nn.Sequential(Block(8, 8))
        self.layer2 = nn.Sequential(Block(8, 16, stride=2, downsample=down))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()
        for m in self.modules():  # BN statistics that are not the identity
            if isinstance(m, nn.BatchNorm2d):
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.quant(x)))))
        x = self.avgpool(self.layer2(self.layer1(x)))
        x = self.fc(torch.flatten(x, 1))
        self.qout = x
        return self.dequant(x)

    def fuse(self):
        torch.ao.quantization.fuse_modules(self, ["conv1", "bn1", "relu"], inplace=True)
        for m in self.modules():
            if hasattr(m, "fuse_model") and m is not self:
                m.fuse_model()


MODELS = {"tiny": (Tiny, [["conv1", "relu1"], ["dw", "relu2"]]),
          "classifier": (Classifier, [["fc1", "relu"]]),
          "miniresnet": (MiniResNet, None)}


def build(name, engine, seed):
    torch.manual_seed(seed)
    torch.backends.quantized.engine = engine
    cls, fuse = MODELS[name]
    m = cls().eval()
    m.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    if fuse is None:
        m.fuse()
    else:
        torch.ao.quantization.fuse_modules(m, fuse, inplace=True)
    torch.ao.quantization.prepare(m, inplace=True)
    with torch.no_grad():
        for _ in range(8):
            m(torch.randn(2, 3, 20, 18) * 2)
    torch.ao.quantization.convert(m, inplace=True)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    for name, engine in [(n, e) for n in MODELS for e in ("qnnpack", "onednn")]:
        m = build(name, engine, args.seed)
        x = torch.randn(2, 3, 20, 18) * 2
        path = os.path.join(args.out, f"{name}-{engine}")
        # One model's layers as PyTorch computed them, for `qk run --compare` (test/cli.cmake).
        dump = path + "-layers" if (name, engine) == ("miniresnet", "qnnpack") else None
        y = qk_export.export(m, x, path + ".safetensors", dump_layers=dump)
        np.save(path + "-input.npy", x.numpy())
        np.save(path + "-output.npy", y.numpy())
        np.save(path + "-qoutput.npy", m.qout.int_repr().numpy())
        print(f"{name} {engine}: {qk_export.numerics_mode(torch)}, output {tuple(y.shape)}, "
              f"{os.path.getsize(path + '.safetensors')} bytes")


if __name__ == "__main__":
    main()
