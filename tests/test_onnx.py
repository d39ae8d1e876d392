"""ONNX export of SAP-Net: onnxruntime gives the torch outputs, any batch size; bad files -> one line."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from structpose.errors import StructposeError
from structpose.models.sapnet import InferenceHead, SAPNet, SAPNetConfig, save_weights
from structpose.models.sapnet_export import export_onnx, onnx_session


def test_onnxruntime_matches_torch(tmp_path):
    torch.manual_seed(0)
    net = SAPNet(SAPNetConfig("tiny", 17, 2, 16, 64)).eval()
    path = export_onnx(net, tmp_path / "sap.onnx")
    sess = onnx_session(path, threads=1)
    x = np.random.default_rng(0).random((3, 3, 64, 64), dtype=np.float32)     # batch 3: dynamic axis
    hm, z = sess.run(None, {"image": x})
    with torch.no_grad():
        hm_t, z_t = InferenceHead(net)(torch.from_numpy(x))
    assert hm.shape == (3, 17, 16, 16) and z.shape == (3, 17)
    assert np.abs(hm - hm_t.numpy()).max() < 1e-4 * max(1.0, float(np.abs(hm).max()))
    assert np.abs(z - z_t.numpy()).max() < 1e-4 * max(1.0, float(np.abs(z).max()))


def test_bad_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not protobuf")
    with pytest.raises(StructposeError, match="cannot load ONNX"):
        onnx_session(bad)


def test_cli_export_from_weights_and_bad_use(tmp_path):
    net = SAPNet(SAPNetConfig("tiny", 17, 1, 16, 64))
    save_weights(tmp_path / "w.pt", net, 4.0)
    out = tmp_path / "m.onnx"
    r = subprocess.run([sys.executable, "-m", "structpose", "export", "onnx", "--model", "sapnet", "--out", str(out),
                        "--weights", str(tmp_path / "w.pt"), "--check"], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "onnxruntime vs torch" in r.stdout
