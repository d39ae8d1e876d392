"""SAP-Net's product runtime: ONNX Runtime when installed (exported once, checked against torch), torch on
request; an unavailable runtime asked for is one line and exit 2, and the choice is recorded in the pose file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from structpose.cli import main
from structpose.io.posefile import load_pose_file

PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")


def test_onnx_runtime_equals_torch_on_a_real_photo(tmp_path, monkeypatch):
    import cv2

    from structpose.codec import box_to_square, crop_image
    from structpose.models.sapnet import load_pretrained
    from structpose.pipeline.sapnet import SapnetRunner
    monkeypatch.setenv("STRUCTPOSE_DATA", str(tmp_path))
    net, _, _ = load_pretrained()
    rgb = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    crops = []
    for box in ([0, 0, w, h], [w * 0.3, 0, w * 0.8, h]):          # whole photo, and around the player
        c, side = box_to_square(np.array(box, np.float32), margin=1.0)
        crops.append(crop_image(rgb, c, side, net.config.input_size)[0])
    x = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    onnx, torch_ = SapnetRunner(net, "onnx"), SapnetRunner(net, "torch")
    assert (onnx.name, torch_.name) == ("onnx", "torch")
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 1          # exported once into the data folder
    hm_o, z_o = onnx(x)
    hm_t, z_t = torch_(x)
    assert hm_o.shape == hm_t.shape and z_o.shape == z_t.shape == (2, 17)
    assert np.abs(hm_o - hm_t).max() < 1e-5 and np.abs(z_o - z_t).max() < 1e-5
    assert np.abs(hm_t[0] - hm_t[1]).max() > 1e-3                      # the two crops do differ


def test_runtime_choice_is_kept_recorded_or_refused(tmp_path, monkeypatch, capsys):
    import structpose.pipeline.sapnet as sp
    assert main(["image", str(PHOTO), "--out", str(tmp_path / "a"), "--model", "sapnet"]) == 0
    assert load_pose_file(tmp_path / "a" / "messi5.npz").meta["sapnet_runtime"] == "onnx"   # auto: the fastest
    assert "SAP-Net ran on onnx" in capsys.readouterr().err
    monkeypatch.setattr(sp, "onnx_available", lambda: False)           # as on a machine without onnxruntime
    assert main(["image", str(PHOTO), "--out", str(tmp_path / "b"), "--model", "sapnet", "--runtime", "onnx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "onnxruntime" in err[0] and "--runtime torch" in err[0]
    assert not (tmp_path / "b").exists()
    assert main(["image", str(PHOTO), "--out", str(tmp_path / "c"), "--runtime", "torch"]) == 2
    assert "--model sapnet" in capsys.readouterr().err
    with pytest.raises(Exception, match="runtime"):
        sp.pick_runtime("tensorrt")
