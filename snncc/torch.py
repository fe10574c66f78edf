r"""PyTorch integration: a soft-LIF module whose ONNX export is one ``snncc:SoftLIF`` node.

Only for users who have PyTorch (``pip install snncc[torch]``); ``import snncc`` never imports
this module.

:class:`SoftLIF` computes the soft-LIF rate of Hunsberger & Eliasmith (2016) with gradients, in a
form that is stable for large and very negative inputs, and optionally adds their training noise.
:func:`export_onnx` exports a model containing SoftLIF modules to ONNX in one call; each module
becomes one ``snncc:SoftLIF`` node whose body (the model-local function of
:func:`snncc.frontend.softlif.softlif_function`) is added to the file, so onnxruntime runs it.

Export path. In torch 2.13 ``torch.onnx.export`` defaults to the torch.export-based exporter
(``dynamo=True``), which needs the separate ``onnxscript`` package and traces through an
``autograd.Function``: it emits SoftLIF as a chain of loose ops (which the snncc frontend still
recognises, see :func:`snncc.frontend.softlif.fit_softlif`), not as one node. :func:`export_onnx`
uses the TorchScript-based exporter (``dynamo=False``), where SoftLIF runs through an
``autograd.Function`` whose ``symbolic`` emits ``snncc::SoftLIF``; it then adds the function
body and checks the result. Caveats: torch marks that exporter deprecated (its
DeprecationWarnings are silenced inside :func:`export_onnx`); a plain
``torch.onnx.export(..., dynamo=False)`` emits the node but not its body, so onnxruntime cannot
run that file (use :func:`export_onnx`); models over 2 GB (protobuf limit) are not supported.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path

import onnx
import torch
import torch.nn.functional as F

from snncc._io import atomic_write
from snncc.frontend.softlif import (
    SOFTLIF_DEFAULTS,
    SOFTLIF_DOMAIN,
    SOFTLIF_OP,
    softlif_function,
    softlif_params,
)

__all__ = ["SoftLIF", "export_onnx", "softlif"]

_CUT = -20.0  # x/gamma below which log1p(1/p) is its asymptote -x/gamma - log(gamma)


def softlif(x: torch.Tensor, tau_rc: float = SOFTLIF_DEFAULTS["tau_rc"],
            tau_ref: float = SOFTLIF_DEFAULTS["tau_ref"], gamma: float = SOFTLIF_DEFAULTS["gamma"],
            amplitude: float = SOFTLIF_DEFAULTS["amplitude"]) -> torch.Tensor:
    """Soft-LIF rate of ``x = j - 1``, differentiable and finite (values and gradients) everywhere.

    ``p = gamma * softplus(x / gamma)``, ``y = amplitude / (tau_ref + tau_rc * log1p(1 / p))``;
    below ``x / gamma = -20`` the asymptote ``log1p(1 / p) = -x / gamma - log(gamma)`` is used.
    """
    y = x / gamma
    general = torch.log1p(1.0 / (gamma * F.softplus(y.clamp(min=_CUT))))
    q = torch.where(y < _CUT, -y - math.log(gamma), general)
    return amplitude / (tau_ref + tau_rc * q)


class _SoftLIFOnnx(torch.autograd.Function):
    """Used only while exporting: its ``symbolic`` makes SoftLIF one ONNX node."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, tau_rc: float, tau_ref: float, gamma: float,
                amplitude: float) -> torch.Tensor:
        return softlif(x, tau_rc, tau_ref, gamma, amplitude)

    @staticmethod
    def symbolic(g, x, tau_rc: float, tau_ref: float, gamma: float, amplitude: float):
        out = g.op(f"{SOFTLIF_DOMAIN}::{SOFTLIF_OP}", x, tau_rc_f=tau_rc, tau_ref_f=tau_ref,
                   gamma_f=gamma, amplitude_f=amplitude)
        out.setType(x.type())
        return out


class SoftLIF(torch.nn.Module):
    """Soft-LIF nonlinearity (Hunsberger & Eliasmith 2016), input ``x = j - 1``.

    ``p = gamma * log(1 + exp(x / gamma))``, ``y = amplitude / (tau_ref + tau_rc * log(1 + 1/p))``.

    In training mode it adds the authors' training noise to neurons above threshold (``x > 0``):

    - ``noise="gaussian"``: ``y + amplitude * N(0, noise_sigma)``, clipped at 0 (off when
      ``noise_sigma`` is 0);
    - ``noise="alpha"``: the value of an alpha-filtered (``tau_s``) periodic spike train of period
      ``1/rate`` at a random phase ``t ~ U(0, period)`` (mean: the rate);
      ``amplitude * exp(-t/tau_s) * (t + (period - t) * exp(-period/tau_s))
      / (tau_s**2 * (1 - exp(-period/tau_s))**2)``. ``noise_sigma`` is not used.

    The gradient is always that of the noiseless rate. Eval mode and ONNX export are noiseless.

    Args:
        tau_rc: Membrane time constant (s).
        tau_ref: Refractory period (s).
        gamma: Smoothing of the rate curve near threshold.
        amplitude: Output scale.
        noise_sigma: Standard deviation of the Gaussian training noise, in units of amplitude.
        noise: ``"gaussian"`` or ``"alpha"``.
        tau_s: Alpha synapse time constant (s) for ``noise="alpha"``.

    Example:
        >>> act = SoftLIF().eval()
        >>> round(float(act(torch.tensor(0.0))), 4)
        0.6533
    """

    def __init__(self, tau_rc: float = SOFTLIF_DEFAULTS["tau_rc"],
                 tau_ref: float = SOFTLIF_DEFAULTS["tau_ref"],
                 gamma: float = SOFTLIF_DEFAULTS["gamma"],
                 amplitude: float = SOFTLIF_DEFAULTS["amplitude"], noise_sigma: float = 0.0, *,
                 noise: str = "gaussian", tau_s: float = 0.005) -> None:
        super().__init__()
        for key, value in dict(tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma,
                               amplitude=amplitude, tau_s=tau_s).items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"SoftLIF: {key} must be positive and finite, got {value}")
        if not (math.isfinite(noise_sigma) and noise_sigma >= 0):
            raise ValueError(f"SoftLIF: noise_sigma must be >= 0, got {noise_sigma}")
        if noise not in ("gaussian", "alpha"):
            raise ValueError(f"SoftLIF: noise must be 'gaussian' or 'alpha', got {noise!r}")
        self.tau_rc, self.tau_ref, self.gamma = float(tau_rc), float(tau_ref), float(gamma)
        self.amplitude, self.noise_sigma = float(amplitude), float(noise_sigma)
        self.noise, self.tau_s = noise, float(tau_s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The rate (noisy in training mode, see the class docstring)."""
        params = (self.tau_rc, self.tau_ref, self.gamma, self.amplitude)
        if torch.onnx.is_in_onnx_export():
            return _SoftLIFOnnx.apply(x, *params)
        rate = softlif(x, *params)
        if not self.training:
            return rate
        if self.noise == "gaussian":
            if self.noise_sigma == 0.0:
                return rate
            noisy = (rate + torch.randn_like(rate) * (self.amplitude * self.noise_sigma)).clamp(0)
        else:
            with torch.no_grad():
                period = self.amplitude / rate  # tau_ref + tau_rc * log1p(1/p), seconds
                t = torch.rand_like(rate) * period
                decay = torch.exp(-period / self.tau_s)
                sample = self.amplitude * torch.exp(-t / self.tau_s) * (t + (period - t) * decay) \
                    / (self.tau_s * torch.expm1(-period / self.tau_s)) ** 2
            noisy = rate + (sample - rate.detach())  # the sample's value, the rate's gradient
        return torch.where(x > 0, noisy, rate)

    def extra_repr(self) -> str:
        """The parameters, for ``print(model)``."""
        text = (f"tau_rc={self.tau_rc}, tau_ref={self.tau_ref}, gamma={self.gamma}, "
                f"amplitude={self.amplitude}")
        if self.noise == "alpha":
            return f"{text}, noise='alpha', tau_s={self.tau_s}"
        return f"{text}, noise_sigma={self.noise_sigma}" if self.noise_sigma else text


def export_onnx(model: torch.nn.Module, example_input: torch.Tensor, path: str | os.PathLike[str],
                *, opset: int = 17, input_name: str = "input", output_name: str = "output",
                dynamic_batch: bool = True) -> onnx.ModelProto:
    """Export ``model`` (in eval mode) to ONNX with each :class:`SoftLIF` as one ``snncc:SoftLIF``.

    Runs the TorchScript-based exporter, adds the SoftLIF function body and the ``snncc`` opset
    import, checks the model with ``onnx.checker`` (full check) and writes it atomically.

    Args:
        model: The network; its training mode is restored afterwards.
        example_input: One input batch (its dtype and non-batch shape are fixed in the file).
        path: Where to write the .onnx file.
        opset: ONNX opset of the default domain (>= 13).
        input_name: Name of the graph input.
        output_name: Name of the graph output.
        dynamic_batch: Make the first axis of input and output symbolic (``batch``).

    Returns:
        The exported model.

    Raises:
        onnx.checker.ValidationError: The exported model does not check.
    """
    axes = {input_name: {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    was_training = model.training
    model.eval()
    try:
        with tempfile.TemporaryDirectory() as tmpdir, warnings.catch_warnings():
            # The TorchScript exporter's deprecation notices (and only those).
            warnings.filterwarnings("ignore", "You are using the legacy TorchScript",
                                    DeprecationWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
            raw = Path(tmpdir) / "raw.onnx"
            torch.onnx.export(model, (example_input,), raw, dynamo=False,
                              opset_version=opset, input_names=[input_name],
                              output_names=[output_name], dynamic_axes=axes,
                              custom_opsets={SOFTLIF_DOMAIN: 1})
            proto = onnx.load(raw)
    finally:
        model.train(was_training)
    nodes = [n for n in proto.graph.node if (n.domain, n.op_type) == (SOFTLIF_DOMAIN, SOFTLIF_OP)]
    for node in nodes:
        softlif_params(node)  # validates the attributes
    has = any((f.domain, f.name) == (SOFTLIF_DOMAIN, SOFTLIF_OP) for f in proto.functions)
    if nodes and not has:
        proto.functions.append(softlif_function(opset))
        proto.ir_version = max(proto.ir_version, 8)  # model-local functions need IR >= 8
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(path, proto.SerializeToString())
    return proto
