"""snncc.torch: the SoftLIF module (values, gradients, training noise) and its ONNX export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is optional (pip install snncc[torch])")

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from snncc.frontend.softlif import SOFTLIF_DEFAULTS, softlif_params  # noqa: E402
from snncc.ir import softlif_rate  # noqa: E402
from snncc.torch import SoftLIF, export_onnx, softlif  # noqa: E402

MNIST = dict(tau_rc=0.022, tau_ref=0.002, gamma=0.02, amplitude=0.063)
CIFAR = dict(tau_rc=0.05, tau_ref=0.001, gamma=0.02, amplitude=0.063)


def _grid(gamma: float) -> np.ndarray:
    side = np.geomspace(1e-8, 1e4, 2000)
    return np.concatenate([-side[::-1], [0.0], side, np.linspace(-40, 40, 4001)]) * gamma


@pytest.mark.parametrize("params", [MNIST, CIFAR], ids=["mnist", "cifar"])
def test_forward_matches_numpy(params: dict[str, float]) -> None:
    x = _grid(params["gamma"])
    act = SoftLIF(**params).eval()
    y32 = act(torch.tensor(x, dtype=torch.float32)).numpy()
    x32 = x.astype(np.float32).astype(np.float64)
    assert np.all(np.isfinite(y32))
    np.testing.assert_allclose(y32, softlif_rate(x32, **params), rtol=1e-6)
    y64 = act(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(y64, softlif_rate(x, **params), rtol=1e-9)
    assert softlif(torch.tensor(0.0)).item() == pytest.approx(
        softlif_rate(np.array(0.0), **SOFTLIF_DEFAULTS).item(), rel=1e-6)


def test_gradient_matches_paper_formula_and_is_finite_at_extremes() -> None:
    p = MNIST
    x = torch.tensor(_grid(p["gamma"]), dtype=torch.float64, requires_grad=True)
    SoftLIF(**p)(x).sum().backward()
    grad = x.grad.numpy()
    # papers.md: dr/dx = amp*tau_rc / (v^2 * p * (p+1) * (1 + exp(-x/gamma))), gain 1.
    xn = x.detach().numpy()
    mid = np.abs(xn / p["gamma"]) < 30
    y = xn[mid] / p["gamma"]
    pp = p["gamma"] * np.logaddexp(0.0, y)
    v = p["tau_ref"] + p["tau_rc"] * np.log1p(1.0 / pp)
    expected = p["amplitude"] * p["tau_rc"] / (v**2 * pp * (pp + 1) * (1 + np.exp(-y)))
    np.testing.assert_allclose(grad[mid], expected, rtol=1e-8)
    for dtype in (torch.float32, torch.float64):
        xe = torch.tensor([-1e30, -1e4, -200.0, -0.4, -0.4001, 200.0, 1e4, 1e30], dtype=dtype,
                          requires_grad=True)
        out = SoftLIF()(xe)
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(xe.grad).all()
        assert (xe.grad >= 0).all() and (xe.grad[1:4] > 0).all()


def test_noise_only_in_training_mode() -> None:
    torch.manual_seed(0)
    x = torch.linspace(-0.5, 0.5, 20001)
    clean = softlif(x)
    act = SoftLIF(noise_sigma=10.0)
    assert torch.equal(act.eval()(x), clean)
    assert torch.equal(SoftLIF(noise_sigma=0.0).train()(x), clean)  # sigma 0: no noise
    noisy = act.train()(x)
    above = x > 0
    assert torch.equal(noisy[~above], clean[~above])  # below threshold: untouched
    assert (noisy >= 0).all()  # clipped at 0
    diff = (noisy - clean)[above & (clean > 3 * 0.063 * 10)]  # far from the clip
    assert diff.std().item() == pytest.approx(0.063 * 10, rel=0.05)
    assert abs(diff.mean().item()) < 0.05


def test_gaussian_noise_keeps_the_rate_gradient() -> None:
    x = torch.linspace(0.01, 0.5, 101, dtype=torch.float64, requires_grad=True)
    SoftLIF(noise_sigma=1e-3).train()(x).sum().backward()
    xr = x.detach().clone().requires_grad_(True)
    softlif(xr).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad)


def test_alpha_noise_has_the_rate_as_mean_and_its_gradient() -> None:
    torch.manual_seed(1)
    x = torch.full((200000,), 0.3, dtype=torch.float64, requires_grad=True)
    act = SoftLIF(noise="alpha", tau_s=0.005).train()
    out = act(x)
    rate = softlif(x.detach())[0].item()
    assert (out >= 0).all() and out.std().item() > 0.01 * rate
    assert out.mean().item() == pytest.approx(rate, rel=0.01)
    out.sum().backward()
    xr = x.detach()[:1].clone().requires_grad_(True)
    softlif(xr).sum().backward()
    torch.testing.assert_close(x.grad, xr.grad.expand_as(x.grad))
    below = torch.full((5,), -0.1)
    assert torch.equal(act(below), softlif(below))  # below threshold: no noise
    assert torch.equal(act.eval()(x.detach()), softlif(x.detach()))


def test_module_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="gamma must be positive"):
        SoftLIF(gamma=0.0)
    with pytest.raises(ValueError, match="noise must be"):
        SoftLIF(noise="poisson")
    with pytest.raises(ValueError, match="noise_sigma must be >= 0"):
        SoftLIF(noise_sigma=-1.0)


class SmallCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3)
        self.act1 = SoftLIF(noise_sigma=10.0)
        self.pool = torch.nn.AvgPool2d(2)
        self.conv2 = torch.nn.Conv2d(4, 6, 3)
        self.act2 = SoftLIF(**CIFAR)
        self.fc = torch.nn.Linear(6 * 3 * 3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.act1(self.conv1(x)))
        return self.fc(torch.flatten(self.act2(self.conv2(h)), 1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[SmallCNN, onnx.ModelProto, str]:
    torch.manual_seed(0)
    net = SmallCNN().train()
    path = tmp_path_factory.mktemp("export") / "cnn.onnx"
    proto = export_onnx(net, torch.randn(1, 1, 12, 12), path)
    assert net.training  # mode restored
    return net, proto, str(path)


def test_export_has_one_node_per_softlif(exported: tuple[SmallCNN, onnx.ModelProto, str]) -> None:
    _, proto, path = exported
    assert onnx.load(path) == proto
    onnx.checker.check_model(proto, full_check=True)
    ops = [(n.domain, n.op_type) for n in proto.graph.node]
    assert ops.count(("snncc", "SoftLIF")) == 2
    assert not {"Softplus", "Log", "Exp"} & {op for _, op in ops}
    nodes = [n for n in proto.graph.node if n.op_type == "SoftLIF"]
    assert [softlif_params(n) for n in nodes] == [MNIST, CIFAR]
    assert [(f.domain, f.name) for f in proto.functions] == [("snncc", "SoftLIF")]
    assert {(o.domain, o.version) for o in proto.opset_import} == {("", 17), ("snncc", 1)}


@pytest.mark.parametrize("batch", [1, 5])
def test_export_runs_in_onnxruntime(exported: tuple[SmallCNN, onnx.ModelProto, str],
                                    batch: int) -> None:
    net, _, path = exported
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = torch.randn(batch, 1, 12, 12, generator=torch.Generator().manual_seed(batch)) * 2
    net.eval()
    try:
        with torch.no_grad():
            expected = net(x).numpy()
    finally:
        net.train()
    (got,) = sess.run(None, {"input": x.numpy()})
    assert got.shape == (batch, 10)
    assert np.max(np.abs(got - expected)) < 1e-5 * np.max(np.abs(expected))


def test_export_loads_in_snncc(exported: tuple[SmallCNN, onnx.ModelProto, str]) -> None:
    try:
        from snncc import load_onnx
    except ImportError:
        pytest.skip("snncc.load_onnx not available yet")
    *_, path = exported
    graph = load_onnx(path)
    acts = [lay for lay in graph if getattr(lay, "kind", None) == "softlif"]
    assert [dict(a.params) for a in acts] == [MNIST, CIFAR]
    x = np.random.default_rng(0).normal(size=(3, 1, 12, 12)).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (expected,) = sess.run(None, {"input": x})
    got = graph.run(x)
    assert np.max(np.abs(got - expected)) < 1e-5 * np.max(np.abs(expected))


def test_export_opset13_static_batch(tmp_path: Path) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), SoftLIF(gamma=0.1)).eval()
    path = tmp_path / "tiny.onnx"
    proto = export_onnx(net, torch.randn(2, 3), path, opset=13, input_name="x",
                        output_name="y", dynamic_batch=False)
    assert proto.ir_version >= 8  # model-local functions
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    x = torch.linspace(-3, 3, 6).reshape(2, 3)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, net(x).numpy(), rtol=1e-5)
