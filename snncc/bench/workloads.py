"""The workloads of ``snncc bench``, all built by snncc itself (no repository needed).

Published architectures with random weights, the bundled trained models, and synthetic random
SNNs.
Architectures are written as short layer lists and built as ONNX models (He-initialised random
weights, ReLU), so every workload goes through the same frontend and conversion as a user's model.
Untrained networks see uniform random inputs; trained ones (the bundled digits models, and the
repository's MNIST model when present) their held-out data.

Hunsberger & Eliasmith's CIFAR-10 net has locally connected layers, which snncc does not import;
they are replaced here by 3×3 convolutions of the same shape (same neurons, fewer weights).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Spec = list[tuple]

ARCHS: dict[str, tuple[tuple[int, int, int], Spec]] = {
    # Hunsberger & Eliasmith 2016 (reference/papers.md §1)
    "hunsberger_mnist": ((1, 28, 28), [("conv", 16, 5, 1, 0), ("avg", 2, 2), ("conv", 64, 5, 1, 0),
                                        ("avg", 2, 2), ("fc", 2000), ("out", 10)]),
    "hunsberger_cifar": ((3, 32, 32), [("conv", 64, 5, 1, 2), ("avg", 3, 2), ("conv", 64, 5, 1, 2),
                                        ("avg", 3, 2), ("conv", 64, 3, 1, 1), ("conv", 32, 3, 1, 1),
                                        ("out", 10)]),
    "hunsberger_imagenet": ((3, 224, 224), [("conv", 64, 11, 4, 2), ("avg", 3, 2),
                                             ("conv", 192, 5, 1, 2), ("avg", 3, 2),
                                             ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1),
                                             ("conv", 256, 3, 1, 1), ("avg", 3, 2),
                                             ("fc", 4096), ("fc", 4096), ("out", 1000)]),
    "mlp": ((1, 28, 28), [("fc", 500), ("fc", 300), ("out", 10)]),
    "lenet": ((1, 28, 28), [("conv", 6, 5, 1, 2), ("avg", 2, 2), ("conv", 16, 5, 1, 0),
                            ("avg", 2, 2), ("fc", 120), ("fc", 84), ("out", 10)]),
    "vgg_small": ((3, 32, 32), [("conv", 32, 3, 1, 1), ("conv", 32, 3, 1, 1), ("avg", 2, 2),
                                ("conv", 64, 3, 1, 1), ("conv", 64, 3, 1, 1), ("avg", 2, 2),
                                ("fc", 256), ("out", 10)]),
    "resnet_small": ((3, 32, 32), [("conv", 16, 3, 1, 1), ("res", 16), ("res", 16), ("avg", 2, 2),
                                   ("conv", 32, 3, 1, 1), ("res", 32), ("avg", 2, 2),
                                   ("out", 10)]),
}


def layered(neurons: int, depth: int = 4) -> tuple[tuple[int, int, int], Spec]:
    """A synthetic layered conv net of about ``neurons`` spiking neurons (for scale runs)."""
    side = max(4, round(math.sqrt(neurons / (depth * 16))))
    spec: Spec = [("conv", 16, 3, 1, 1) for _ in range(depth)] + [("out", 10)]
    return (1, side, side), spec


def build_onnx(name: str, input_shape: tuple[int, ...], spec: Spec, seed: int = 0,
               density: float = 1.0) -> onnx.ModelProto:
    """An ONNX model of the layer list with He-initialised random weights (ReLU activations).

    ``density`` < 1 zeroes a random fraction of the fully connected weights (sparse random SNNs).
    """
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    cur, k = "x", 0
    shape: tuple[int, ...] = input_shape

    def const(arr: np.ndarray) -> str:
        nonlocal k
        k += 1
        inits.append(numpy_helper.from_array(arr.astype(np.float32), f"w{k}"))
        return f"w{k}"

    def node(op: str, ins: list[str], **attrs: Any) -> str:
        nonlocal k
        k += 1
        out = f"t{k}"
        nodes.append(helper.make_node(op, ins, [out], name=f"{op.lower()}{k}", **attrs))
        return out

    def conv(x: str, c_in: int, c_out: int, ks: int, st: int, pad: int) -> str:
        w = rng.normal(0, math.sqrt(2 / (c_in * ks * ks)), (c_out, c_in, ks, ks))
        return node("Conv", [x, const(w), const(np.zeros(c_out))], kernel_shape=[ks, ks],
                    strides=[st, st], pads=[pad] * 4)

    for item in spec:
        c, h, w = shape if len(shape) == 3 else (shape[0], 1, 1)
        if item[0] == "conv":
            _, co, ks, st, pad = item
            cur = node("Relu", [conv(cur, c, co, ks, st, pad)])
            shape = (co, (h + 2 * pad - ks) // st + 1, (w + 2 * pad - ks) // st + 1)
        elif item[0] == "avg":
            _, ks, st = item
            cur = node("AveragePool", [cur], kernel_shape=[ks, ks], strides=[st, st])
            shape = (c, (h - ks) // st + 1, (w - ks) // st + 1)
        elif item[0] == "res":
            y = node("Relu", [conv(cur, c, c, 3, 1, 1)])
            cur = node("Relu", [node("Add", [conv(y, c, c, 3, 1, 1), cur])])
        elif item[0] in ("fc", "out"):
            if len(shape) == 3:
                cur = node("Flatten", [cur], axis=1)
            n_in = math.prod(shape)
            wt = rng.normal(0, math.sqrt(2 / (n_in * density)), (n_in, item[1]))
            if density < 1:
                wt *= rng.random(wt.shape) < density
            cur = node("Gemm", [cur, const(wt), const(np.zeros(item[1]))])
            if item[0] == "fc":
                cur = node("Relu", [cur])
            shape = (item[1],)
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *input_shape])],
        [helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def synthetic_random(neurons: int, density: float, seed: int = 0) -> onnx.ModelProto:
    """A random SNN: three fully connected layers of ``neurons / 3`` with the given density."""
    n = max(8, neurons // 3)
    spec: Spec = [("fc", n), ("fc", n), ("fc", n), ("out", 10)]
    return build_onnx(f"random_{neurons}_{density:g}", (n,), spec, seed=seed, density=density)


def arch(name: str) -> onnx.ModelProto:
    """The ONNX model of a named architecture from :data:`ARCHS`."""
    shape, spec = ARCHS[name]
    return build_onnx(name, shape, spec)


#: Trained models shipped with snncc (``snncc.examples``), run on the held-out digits.
BUNDLED = ("digits_softlif", "digits_cnn")
#: Trained models of a repository checkout (used when present, from the current folder).
REPOSITORY = {"mnist_softlif": "benchmarks/models/mnist_softlif.onnx",
              "mnist_relu": "benchmarks/models/mnist_relu.onnx"}


def mnist_dir() -> Path:
    """The MNIST test set's folder: ``$SNNCC_MNIST`` or ``../shared/data/mnist``."""
    return Path(os.environ.get("SNNCC_MNIST", "../shared/data/mnist"))


def unavailable(name: str) -> str | None:
    """Why workload ``name`` cannot run here (a missing file), or None."""
    if name in REPOSITORY:
        if not Path(REPOSITORY[name]).is_file():
            return f"{REPOSITORY[name]} not found (run from a repository checkout)"
        if not any(mnist_dir().glob("t10k-images-idx3-ubyte*")):
            return f"MNIST test set not found in {mnist_dir()} (set $SNNCC_MNIST)"
        return None
    if name in BUNDLED or name in ARCHS or name.startswith(("random_", "layered_")):
        return None
    return f"unknown workload {name!r}"


def model(name: str) -> tuple[str | onnx.ModelProto, str | None]:
    """The ONNX model of workload ``name`` (a path or a built model) and its data spec.

    The data spec is None for untrained networks, which see uniform random inputs.
    """
    if name in BUNDLED:
        from snncc.examples import example_path

        return str(example_path(name)), "digits"
    if name in REPOSITORY:
        return REPOSITORY[name], f"mnist:{mnist_dir()}"
    if name.startswith("random_"):
        _, n, dens = name.split("_")
        return synthetic_random(int(n), float(dens)), None
    if name.startswith("layered_"):
        shape, spec = layered(int(float(name.split("_")[1])))
        return build_onnx(name, shape, spec), None
    return arch(name), None
