"""SAP-Net network and checkpoints (structpose.models.sapnet): shapes, eval-mode batch independence, sizes,
config mismatches, float16 weights."""
from __future__ import annotations

import pytest
import torch

from structpose.errors import StructposeError
from structpose.models.sapnet import SAPNet, SAPNetConfig, load_weights, save_weights

TINY = SAPNetConfig("tiny", 17, 2, 16, 64)


def test_shapes_and_intermediate_supervision():
    net = SAPNet(TINY).eval()
    hm, z = net(torch.rand(3, 3, 64, 64))
    assert hm.shape == (3, 2, 17, 16, 16) and z.shape == (3, 17)
    # eval mode: a sample's output does not depend on its batch mates (batch norm uses running stats)
    x = torch.rand(3, 3, 64, 64)
    hm, z = net(x)
    hm1, z1 = net(x[1:2])
    assert torch.allclose(hm1[0], hm[1], atol=1e-5) and torch.allclose(z1[0], z[1], atol=1e-5)
    net.train()                                   # the property is eval's: with batch statistics it fails
    assert not torch.allclose(net(x[1:3])[1][0], net(x)[1][1], atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 3, 128, 128), (1, 1, 64, 64), (3, 64, 64)])
def test_wrong_size_batches_are_one_line(shape):
    with pytest.raises(StructposeError, match=r"takes \(B, 3, 64, 64\)"):
        SAPNet(TINY)(torch.zeros(shape))


def test_input_size_must_be_multiple_of_64():
    with pytest.raises(StructposeError, match="multiple of 64"):
        SAPNet(SAPNetConfig("bad", 17, 1, 16, 96))


def test_checkpoint_of_other_config_is_refused(tmp_path):
    net = SAPNet(TINY)
    p = tmp_path / "w.pt"
    save_weights(p, net, 4.0)
    net2, bone_sum, _ = load_weights(p)
    assert bone_sum == 4.0
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(StructposeError, match="realtime"):
        load_weights(p, expect="realtime")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(StructposeError, match="cannot read"):
        load_weights(bad)
    with pytest.raises(StructposeError, match="not found"):
        load_weights(tmp_path / "missing.pt")


def test_float16_weights_file_is_half_the_size_and_predicts_like_float32(tmp_path):
    torch.manual_seed(0)
    net = SAPNet(TINY)
    for m in net.modules():        # non-trivial BatchNorm statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    save_weights(tmp_path / "f32.pt", net, 4.0)
    save_weights(tmp_path / "f16.pt", net, 4.0, half=True)
    big = SAPNet("realtime")        # the shipped size: the per-tensor file overhead no longer matters
    save_weights(tmp_path / "big32.pt", big, 4.0)
    save_weights(tmp_path / "big16.pt", big, 4.0, half=True)
    ratio = (tmp_path / "big16.pt").stat().st_size / (tmp_path / "big32.pt").stat().st_size
    assert 0.45 < ratio < 0.55
    a, _, _ = load_weights(tmp_path / "f32.pt")
    b, _, meta = load_weights(tmp_path / "f16.pt")
    assert meta["float16"] and all(p.dtype == torch.float32 for p in b.parameters())   # inference stays float32
    x = torch.rand(2, 3, TINY.input_size, TINY.input_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        (ha, za), (hb, zb) = a(x), b(x)
    assert (ha - hb).abs().max() < 2e-3 * ha.abs().max() + 1e-6
    assert (za - zb).abs().max() < 2e-3 * za.abs().max() + 1e-6
    assert not torch.equal(ha, hb)                   # the stored values really were rounded
