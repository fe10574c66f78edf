"""Build the PyTorch-exported ONNX models that the frontend tests import.

Run from the repository root::

    python tests/models/make_models.py

Every model is built with a fixed seed, put in eval mode and exported with the
TorchScript ONNX exporter (``torch.onnx.export(..., dynamo=False)``) at opsets
13 and 17, giving ``tests/models/<name>_op13.onnx`` and ``<name>_op17.onnx``.
Next to them ``tests/models/<name>.npz`` holds ``x`` (float32 inputs: a batch
of 4, or 1 for the batch-1 model) and ``y`` (the onnxruntime output of the
opset-17 file for ``x``); the script checks that both opset files and PyTorch
itself reproduce ``y``.

The dynamo exporter is not used: it needs the ``onnxscript`` package and emits
neither the Shape->Gather->Unsqueeze->Concat->Reshape flatten chain nor the
hard-coded ``[1, -1]`` Reshape that these tests want to see.
"""

from __future__ import annotations

import collections
import io
import itertools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

OUT_DIR = Path(__file__).resolve().parent
OPSETS = (13, 17)
TOL = 1e-4


# ----------------------------------------------------------------------------- helpers


def _init_bn(bn: nn.modules.batchnorm._BatchNorm, gen: torch.Generator) -> None:
    """Give a BatchNorm layer non-trivial statistics and affine parameters."""
    n = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
        bn.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
        bn.weight.copy_(torch.rand(n, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(n, generator=gen) * 0.2)


def _init_all_bn(model: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            _init_bn(m, gen)


# ----------------------------------------------------------------------------- models


class LeNetReLU(nn.Module):
    """Classic LeNet-5 with ReLU; flatten via x.view(x.size(0), -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BNAfterReLU(nn.Module):
    """BatchNorm both after ReLU (fold forward) and before ReLU (fold backward)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)  # after ReLU: can only fold into conv2
        self.conv2 = nn.Conv2d(8, 16, 3)  # no padding, so folding bn1 into it is exact
        self.bn2 = nn.BatchNorm2d(16)  # conv -> BN: the usual fold
        self.pool = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.bn3 = nn.BatchNorm1d(32)  # Linear -> BN1d
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(F.relu(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.bn3(self.fc1(x)))
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Residual(nn.Module):
    """Stem conv, identity-skip block, projection-skip (1x1 stride-2) block, GAP, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block1 = BasicBlock(8, 8)
        self.block2 = BasicBlock(8, 16, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


class Batch1Hardcoded(nn.Module):
    """Fixed batch of 1; flatten via x.reshape(1, -1); Softmax output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 3 * 3, 10)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = x.reshape(1, -1)
        return self.softmax(self.fc(x))


class NormalizedInput(nn.Module):
    """(x - mean) / std in-graph, ReLU6 (Clip), depthwise conv, dilated conv, ceil-mode avgpool."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu6 = nn.ReLU6()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.conv3 = nn.Conv2d(8, 16, 3, padding=1, dilation=2)  # 16x16 -> 14x14
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)
        self.fc = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        x = self.relu6(self.conv1(x))
        x = F.relu(self.dw(x))
        x = F.relu(self.conv3(x))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return F.log_softmax(self.fc(x), dim=1)


class ConcatChannels(nn.Module):
    """Inception-style 1x1 / 3x3 branches concatenated on channels, ceil-mode pools."""

    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b3 = nn.Conv2d(3, 6, 3, padding=1)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)  # 16 -> 9
        self.avgpool = nn.AvgPool2d(2, padding=1, count_include_pad=True)  # 9 -> 5
        self.fc = nn.Linear(10 * 5 * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.b1(x), self.b3(x)], dim=1)
        x = self.avgpool(self.maxpool(F.relu(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)


class MLPMatMul(nn.Module):
    """Linear layers written as x @ W + b (MatMul + Add), with Dropout (eval) and ReLU."""

    def __init__(self, sizes: tuple[int, ...] = (20, 32, 16, 5)) -> None:
        super().__init__()
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(a, b) / a**0.5) for a, b in itertools.pairwise(sizes)
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.randn(b) * 0.1) for b in sizes[1:])
        self.dropout = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w + b
            if i < n - 1:
                x = F.relu(self.dropout(x))
        return x


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Spec:
    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]  # without batch
    seed: int
    dynamic_batch: bool = True
    batch: int = 4
    keep_bn: bool = False  # export with do_constant_folding=False to keep BatchNormalization
    signed_input: bool = False  # N(0,1) inputs instead of U[0,1) "pixels"


SPECS: tuple[Spec, ...] = (
    Spec("lenet_relu", LeNetReLU, (1, 28, 28), seed=1),
    Spec("bn_after_relu", BNAfterReLU, (3, 16, 16), seed=2, keep_bn=True),
    Spec("residual", Residual, (3, 16, 16), seed=3, keep_bn=True),
    Spec("batch1_hardcoded", Batch1Hardcoded, (1, 12, 12), seed=4, dynamic_batch=False, batch=1),
    Spec("normalized_input", NormalizedInput, (3, 16, 16), seed=5),
    Spec("concat_channels", ConcatChannels, (3, 16, 16), seed=6),
    Spec("mlp_matmul", MLPMatMul, (20,), seed=7, signed_input=True),
)


# ----------------------------------------------------------------------------- export


def _export(model: nn.Module, spec: Spec, x: torch.Tensor, opset: int) -> bytes:
    buf = io.BytesIO()
    kwargs: dict = dict(
        input_names=["input"],
        output_names=["output"],
        opset_version=opset,
        dynamo=False,
        do_constant_folding=not spec.keep_bn,
    )
    if spec.dynamic_batch:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return buf.getvalue()


def _run_ort(data: bytes, x: np.ndarray) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
    return y


def _op_summary(data: bytes) -> str:
    counts = collections.Counter(n.op_type for n in onnx.load_from_string(data).graph.node)
    return " ".join(f"{op}x{c}" if c > 1 else op for op, c in sorted(counts.items()))


def build(spec: Spec) -> list[tuple[str, int, int, str, float]]:
    torch.manual_seed(spec.seed)
    model = spec.build()
    _init_all_bn(model, seed=1000 + spec.seed)
    model.eval()

    rng = np.random.default_rng(spec.seed)
    shape = (spec.batch, *spec.input_shape)
    if spec.signed_input:
        x_np = rng.standard_normal(shape).astype(np.float32)
    else:
        x_np = rng.random(shape, dtype=np.float32)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        y_torch = model(x).numpy()

    rows = []
    y_ref: np.ndarray | None = None
    for opset in sorted(OPSETS, reverse=True):  # the highest opset defines y
        data = _export(model, spec, x, opset)
        path = OUT_DIR / f"{spec.name}_op{opset}.onnx"
        path.write_bytes(data)
        y = _run_ort(data, x_np)
        if y_ref is None:
            y_ref = y
        err_torch = float(np.max(np.abs(y - y_torch)))
        err_ref = float(np.max(np.abs(y - y_ref)))
        if err_torch > TOL or err_ref > TOL:
            raise AssertionError(
                f"{path.name}: onnxruntime differs from torch by {err_torch:.2e}, "
                f"from the reference opset by {err_ref:.2e}"
            )
        rows.append((path.name, opset, len(data), _op_summary(data), err_torch))
    assert y_ref is not None
    np.savez(OUT_DIR / f"{spec.name}.npz", x=x_np, y=y_ref.astype(np.float32))
    return sorted(rows)


def main() -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    total = 0
    lines = []
    for spec in SPECS:
        for name, _opset, size, ops, err in build(spec):
            total += size
            lines.append(f"{name:<28} {size / 1024:7.1f}  {err:8.1e}  {ops}")
    print(f"{'file':<28} {'KiB':>7}  {'|ort-pt|':>8}  ops")
    print("\n".join(lines))
    npz = sum(p.stat().st_size for p in OUT_DIR.glob("*.npz"))
    print(f"total: {total / 1024:.1f} KiB of .onnx, {npz / 1024:.1f} KiB of .npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
