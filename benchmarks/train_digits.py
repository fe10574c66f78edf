"""Train the small ReLU CNN on scikit-learn's 8x8 digits and export the bundled example model.

Run from the repository root (needs torch and scikit-learn; takes a few seconds on CPU)::

    python benchmarks/train_digits.py            # writes snncc/examples/digits_cnn.onnx
    python benchmarks/train_digits.py --out other.onnx

Data: ``sklearn.datasets.load_digits`` (1797 images, 8x8, integer pixels 0..16), scaled to [0, 1]
by dividing by 16, shaped (N, 1, 8, 8). Split: ``train_test_split(test_size=0.25, random_state=0,
stratify=y)``: 1347 training and 450 held-out test images. Only the training part is used for
training; the test part is only evaluated.

Network (ReLU, no BatchNorm, average pooling, so it maps directly onto spiking hardware):
conv3x3(1->8, pad 1) -> ReLU -> AvgPool2 -> conv3x3(8->16, pad 1) -> ReLU -> AvgPool2 -> flatten
-> Linear(64->10). Output: logits. Exported with the TorchScript exporter, opset 17, dynamic batch.
The split and accuracies are written into the model's ``metadata_props``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 0
EPOCHS = 40
BATCH = 32
LR = 1e-2
OPSET = 17
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "snncc" / "examples" / "digits_cnn.onnx"


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return x_train, x_test, y_train, y_test; x is float32 (N, 1, 8, 8) in [0, 1]."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return x_tr, x_te, y_tr, y_te


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def train(x_tr: np.ndarray, y_tr: np.ndarray) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), BATCH):
            idx = perm[i : i + BATCH]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    return model


def export(model: nn.Module, out: Path, metadata: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, 8, 8),),
            buf,
            input_names=["input"],
            output_names=["logits"],
            opset_version=OPSET,
            dynamo=False,
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    proto = onnx.load_from_string(buf.getvalue())
    proto.doc_string = "snncc example: ReLU CNN for sklearn load_digits (8x8, pixels/16)"
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    x_tr, x_te, y_tr, y_te = load_split()

    t0 = time.perf_counter()
    model = train(x_tr, y_tr)
    seconds = time.perf_counter() - t0
    acc_tr, acc_te = accuracy(model, x_tr, y_tr), accuracy(model, x_te, y_te)

    metadata = {
        "dataset": "sklearn.datasets.load_digits, x = images / 16, shape (N, 1, 8, 8)",
        "split": "train_test_split(test_size=0.25, random_state=0, stratify=y)",
        "n_train": str(len(y_tr)),
        "n_test": str(len(y_te)),
        "train_accuracy": f"{acc_tr:.4f}",
        "test_accuracy": f"{acc_te:.4f}",
        "trained_by": "benchmarks/train_digits.py",
    }
    data = export(model, args.out, metadata)

    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input": x_te})[0]
    acc_ort = float((logits.argmax(1) == y_te).mean())
    if acc_ort != acc_te:
        raise AssertionError(f"onnxruntime test accuracy {acc_ort} != torch {acc_te}")

    print(f"trained {EPOCHS} epochs on {len(y_tr)} images in {seconds:.1f} s")
    print(f"train accuracy {acc_tr:.4f}  held-out test accuracy {acc_te:.4f} ({len(y_te)} images)")
    print(f"wrote {args.out} ({len(data) / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
