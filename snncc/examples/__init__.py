"""Small trained ONNX models shipped with snncc, for demos, docs and smoke tests.

``digits_cnn``: a ReLU CNN for scikit-learn's 8x8 ``load_digits`` (input ``(batch, 1, 8, 8)``,
pixels / 16 in [0, 1]; output 10 logits), made by ``benchmarks/train_digits.py``.
``digits_softlif``: the same task with soft-LIF neurons and average pooling (Hunsberger &
Eliasmith's recipe), made by ``benchmarks/train_softlif.py --arch digits``.
Their data splits and accuracies are stored in the models' ``metadata_props``;
``digits_test.npz`` is the held-out split they were not trained on (``--data digits``).
"""

from __future__ import annotations

import importlib.resources
import pathlib

__all__ = ["available", "example_path"]


def available() -> list[str]:
    """List the names of the bundled example models.

    Returns:
        The sorted model names (file names without ``.onnx``).
    """
    root = importlib.resources.files(__name__)
    return sorted(
        entry.name.removesuffix(".onnx") for entry in root.iterdir() if entry.name.endswith(".onnx")
    )


def example_path(name: str = "digits_cnn") -> pathlib.Path:
    """Return the path of a bundled example model.

    Args:
        name: The model name, without the ``.onnx`` suffix.

    Returns:
        The path of ``<name>.onnx`` inside the installed package.

    Raises:
        FileNotFoundError: No bundled model has that name; the message lists the available ones.

    Example:
        >>> example_path().name
        'digits_cnn.onnx'
    """
    resource = importlib.resources.files(__name__) / f"{name}.onnx"
    if not resource.is_file():
        names = ", ".join(available()) or "none"
        raise FileNotFoundError(f"no bundled example model {name!r}; available: {names}")
    return pathlib.Path(str(resource))
