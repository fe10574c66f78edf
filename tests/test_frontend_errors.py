"""Bad input: every way a model file can be wrong gets a FrontendError naming the place."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import snncc
from snncc import FrontendError, SnnccError
from tests.conftest import small_cnn


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def test_error_types_are_exported() -> None:
    assert issubclass(FrontendError, SnnccError)
    assert issubclass(FrontendError, ValueError)


def test_valid_model_loads(cnn_model: onnx.ModelProto, tmp_path: Path) -> None:
    g = snncc.load_onnx(_save(cnn_model, tmp_path / "m.onnx"))
    assert [lay.op for lay in g] == ["Input", "Conv2d", "Activation", "Reshape", "Dense", "Output"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FrontendError, match=r"nope\.onnx: no such file"):
        snncc.load_onnx(tmp_path / "nope.onnx")


@pytest.mark.parametrize("content", [b"", b"hello, this is not a model\n", bytes(range(256)) * 4,
                                     b"\x08\x07"])
def test_not_a_protobuf(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.onnx"
    p.write_bytes(content)
    with pytest.raises(FrontendError, match=r"bad\.onnx: .*(not an ONNX model|empty file)"):
        snncc.load_onnx(p)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_file(cnn_model: onnx.ModelProto, tmp_path: Path, fraction: float) -> None:
    data = cnn_model.SerializeToString()
    p = tmp_path / "cut.onnx"
    p.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FrontendError, match=r"cut\.onnx: "):
        snncc.load_onnx(p)


def test_empty_graph() -> None:
    graph = helper.make_graph([], "empty",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(FrontendError, match="the graph is empty"):
        snncc.load_onnx(model)


def test_cycle(cnn_model: onnx.ModelProto) -> None:
    # relu1 reads the output of fc, which (through flat) reads relu1.
    cnn_model.graph.node[1].input[0] = "y"
    with pytest.raises(FrontendError, match=r"cycle through nodes \['relu1', 'flat', 'fc'\]"):
        snncc.load_onnx(cnn_model)


def test_missing_initializer(cnn_model: onnx.ModelProto) -> None:
    del cnn_model.graph.initializer[0]  # "w"
    with pytest.raises(FrontendError,
                       match=r"node 'conv1' \(Conv\): input 'w' is not produced .*missing "
                             "initializer"):
        snncc.load_onnx(cnn_model)


def test_unsupported_op_names_node_op_domain_and_supported_ops(cnn_model: onnx.ModelProto) -> None:
    cnn_model.graph.node[1].op_type = "Elu"
    with pytest.raises(FrontendError) as info:
        snncc.load_onnx(cnn_model)
    msg = str(info.value)
    assert "node 'relu1' (Elu): op 'Elu' of domain 'ai.onnx' is not supported" in msg
    assert "supported ops: Conv, Gemm" in msg


def test_unsupported_custom_domain_op(cnn_model: onnx.ModelProto) -> None:
    cnn_model.graph.node[1].domain = "com.acme"
    cnn_model.opset_import.append(helper.make_opsetid("com.acme", 1))
    with pytest.raises(FrontendError, match=r"node 'relu1' \(com\.acme:Relu\): op 'Relu' of "
                                            r"domain 'com\.acme' is not supported"):
        snncc.load_onnx(cnn_model)


def test_3d_conv_names_node() -> None:
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv3d")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(FrontendError, match=r"node 'conv3d' \(Conv\): only 2-D convolution"):
        snncc.load_onnx(model)


def test_non_float_weights(cnn_model: onnx.ModelProto) -> None:
    w = numpy_helper.to_array(cnn_model.graph.initializer[0]).astype(np.int32)
    cnn_model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "w"))
    with pytest.raises(FrontendError, match=r"node 'conv1' \(Conv\): weight 'w' has non-float "
                                            "type int32"):
        snncc.load_onnx(cnn_model)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_weights(cnn_model: onnx.ModelProto, bad: float) -> None:
    w = numpy_helper.to_array(cnn_model.graph.initializer[2]).copy()
    w[1, 5] = bad
    cnn_model.graph.initializer[2].CopyFrom(numpy_helper.from_array(w, "fw"))
    with pytest.raises(FrontendError, match=r"layer 'fc' \(Dense, from fc\): weight has 1 "
                                            "NaN/Inf values"):
        snncc.load_onnx(cnn_model)


def _externalise(model: onnx.ModelProto, location: str) -> onnx.ModelProto:
    """Point initializer 'fw' at external data ``location`` (offset 0)."""
    t = model.graph.initializer[2]
    nbytes = len(t.raw_data) or numpy_helper.to_array(t).nbytes
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return model


def test_external_data_roundtrip(tmp_path: Path) -> None:
    model = small_cnn()
    expect = snncc.load_onnx(model).run(np.ones((2, 1, 6, 6), np.float32))
    fw = numpy_helper.to_array(model.graph.initializer[2])
    (tmp_path / "weights.bin").write_bytes(fw.astype("<f4").tobytes())
    p = _save(_externalise(model, "weights.bin"), tmp_path / "ext.onnx")
    got = snncc.load_onnx(p).run(np.ones((2, 1, 6, 6), np.float32))
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize("location", ["../secret.bin", "sub/../../secret.bin", "/etc/passwd"])
def test_external_data_path_traversal(tmp_path: Path, location: str) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 4096)
    folder = tmp_path / "model"
    folder.mkdir()
    p = _save(_externalise(small_cnn(), location), folder / "ext.onnx")
    with pytest.raises(FrontendError, match=r"initializer 'fw': external data location .*"
                                            "(escapes the model's folder|must be a path relative)"):
        snncc.load_onnx(p)


def test_external_data_missing(tmp_path: Path) -> None:
    p = _save(_externalise(small_cnn(), "gone.bin"), tmp_path / "ext.onnx")
    with pytest.raises(FrontendError, match=r"initializer 'fw': external data file 'gone\.bin' is "
                                            "missing"):
        snncc.load_onnx(p)


def test_external_data_too_short(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    p = _save(_externalise(small_cnn(), "w.bin"), tmp_path / "ext.onnx")
    with pytest.raises(FrontendError, match=r"initializer 'fw': external data needs 768 bytes"):
        snncc.load_onnx(p)


def test_declared_size_above_limit_refused_before_allocation(tmp_path: Path) -> None:
    model = small_cnn()
    t = model.graph.initializer[2]
    t.ClearField("dims")
    t.dims.extend([3, 1 << 40])  # declares 12 TiB of float32 with 768 bytes of data
    p = _save(model, tmp_path / "huge.onnx")
    tracemalloc.start()
    with pytest.raises(FrontendError, match=r"initializer 'fw' declares \[3, 1099511627776\] = "
                                            r"12\.0 TiB, above the per-tensor limit"):
        snncc.load_onnx(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


def test_size_limit_is_configurable(cnn_model: onnx.ModelProto) -> None:
    snncc.load_onnx(cnn_model, max_tensor_bytes=1024)  # fw is 768 bytes
    with pytest.raises(FrontendError, match="above the per-tensor limit of 512 B"):
        snncc.load_onnx(cnn_model, max_tensor_bytes=512)
    with pytest.raises(FrontendError, match="in all, above the limit"):
        snncc.load_onnx(cnn_model, max_total_bytes=900)  # 940 bytes in all


def test_old_opset_refused() -> None:
    with pytest.raises(FrontendError, match=r"opset 9 is older than the supported 11-21"):
        snncc.load_onnx(small_cnn(opset=9))


def test_dynamic_spatial_input_refused(cnn_model: onnx.ModelProto) -> None:
    dim = cnn_model.graph.input[0].type.tensor_type.shape.dim[2]
    dim.dim_param = "H"
    with pytest.raises(FrontendError, match=r"input 'x' has an unknown dimension 'H'"):
        snncc.load_onnx(cnn_model)


def test_run_rejects_wrong_input_shape(cnn_model: onnx.ModelProto) -> None:
    g = snncc.load_onnx(cnn_model)
    with pytest.raises(FrontendError, match=r"input 'x' expects shape \(N, 1, 6, 6\), got "
                                            r"\(2, 1, 5, 5\)"):
        g.run(np.zeros((2, 1, 5, 5), np.float32))
