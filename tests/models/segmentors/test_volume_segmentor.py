"""VolumeSegmentor: losses (Dice + CE and the cost lasso), whole-volume
prediction, raw outputs, and its batch handling."""

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from model_helpers import assert_every_parameter_learns
from monai.losses import DiceCELoss

from cakes_mm.models.search import cost_lasso
from cakes_mm.structures import VolumeSegDataSample

UNET = dict(
    type='monai.networks.nets.BasicUNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    features=(4, 4, 4, 4, 8, 4),
)


def segmentor(network=UNET, **kwargs):
    return MODELS.build(
        dict(type='VolumeSegmentor', network=network, **kwargs)
    )


def batch(num=2, size=32, classes=3):
    """Raw data as MSDDataset and pseudo_collate give it."""
    samples = [
        VolumeSegDataSample().set_gt_seg(
            torch.randint(0, classes, (1, size, size, size))
        )
        for _ in range(num)
    ]
    return dict(
        inputs=[torch.randn(1, size, size, size) for _ in range(num)],
        data_samples=samples,
    )


def test_loss_is_monai_dice_ce_of_the_network():
    model = segmentor()
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    assert list(losses) == ['loss_seg']
    targets = torch.stack([s.gt_seg for s in data['data_samples']])
    expected = DiceCELoss(to_onehot_y=True, softmax=True)(
        model.network(data['inputs']), targets
    )
    torch.testing.assert_close(losses['loss_seg'], expected)
    assert_every_parameter_learns(
        model.network, lambda: model(**data, mode='loss')['loss_seg']
    )


def test_loss_arguments_reach_the_loss():
    model = segmentor(
        loss=dict(
            type='monai.losses.DiceCELoss',
            to_onehot_y=True,
            softmax=True,
            lambda_dice=0.0,
            lambda_ce=1.0,
        )
    )
    data = model.data_preprocessor(batch(), training=True)
    targets = torch.stack([s.gt_seg for s in data['data_samples']])
    ce = torch.nn.functional.cross_entropy(
        model.network(data['inputs']), targets[:, 0]
    )
    torch.testing.assert_close(model(**data, mode='loss')['loss_seg'], ce)


@pytest.mark.parametrize('mode', ['cost', 'performance'])
def test_the_lasso_joins_the_losses_in_a_cost_search(mode):
    model = segmentor(
        network=dict(
            type='ConvertedNet',
            model=UNET,
            op=dict(type='cakes_search', op_set=['kxkxk', '1xkxk'], mode=mode),
        )
    )
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    if mode == 'cost':
        assert set(losses) == {'loss_seg', 'loss_alpha'}
        torch.testing.assert_close(losses['loss_alpha'], cost_lasso(model))
    else:
        assert set(losses) == {'loss_seg'}


def test_predict_is_the_argmax_of_the_whole_volume():
    model = segmentor().eval()
    volume = torch.randn(1, 1, 32, 32, 32)
    samples = model(volume, [VolumeSegDataSample()], mode='predict')
    pred = samples[0].pred_seg
    assert pred.dtype == torch.long and pred.shape == (1, 32, 32, 32)
    assert torch.equal(pred, model.network(volume).argmax(dim=1))


def test_predict_slides_a_window_over_each_volume():
    model = segmentor(
        test_cfg=dict(roi_size=32, stride=16, sw_batch_size=2)
    ).eval()
    calls = []
    model.network.register_forward_hook(
        lambda module, args, out: calls.append(tuple(args[0].shape))
    )
    samples = model.predict(torch.randn(2, 1, 48, 32, 40))
    assert [s.pred_seg.shape for s in samples] == [(1, 48, 32, 40)] * 2
    # 2 x 1 x 2 windows per volume, two at a time.
    assert calls == [(2, 1, 32, 32, 32)] * 4


def test_tensor_mode_gives_the_logits():
    model = segmentor().eval()
    volume = torch.randn(1, 1, 32, 32, 32)
    assert torch.equal(model(volume), model.network(volume))
    with pytest.raises(
        ValueError,
        match="mode must be 'loss', 'predict' or 'tensor', got 'logits'",
    ):
        model(volume, mode='logits')


def test_preprocessor_stacks_equal_crops_and_refuses_mixed_sizes():
    model = segmentor()
    data = model.data_preprocessor(batch(num=3), training=True)
    assert data['inputs'].shape == (3, 1, 32, 32, 32)
    mixed = batch(num=2)
    mixed['inputs'][1] = torch.randn(1, 32, 32, 40)
    with pytest.raises(
        ValueError,
        match=r'different shapes \[\(1, 32, 32, '
        r'32\), \(1, 32, 32, 40\)\].*batch_size=1',
    ):
        model.data_preprocessor(mixed)
    with pytest.raises(
        ValueError,
        match=r'inputs must be volumes \[C, D, '
        r'H, W\]',
    ):
        model.data_preprocessor(dict(inputs=[torch.randn(32, 32, 32)]))


def test_loss_needs_ground_truth():
    model = segmentor()
    with pytest.raises(ValueError, match="mode='loss' needs data samples"):
        model(torch.randn(1, 1, 32, 32, 32), mode='loss')


def is_channels_last(x):
    """Strides of channels_last_3d, with more than one channel."""
    return (
        x.stride()
        == x.contiguous(memory_format=torch.channels_last_3d).stride()
        and x.stride() != x.contiguous().stride()
    )


def test_networks_run_channels_last_with_the_same_outputs():
    torch.manual_seed(0)
    window = dict(roi_size=32, stride=16, sw_batch_size=2)
    model = segmentor(
        test_cfg=window,
        data_preprocessor=dict(
            type='VolumeSegDataPreprocessor', channels_last=True
        ),
    ).eval()
    assert all(
        p.is_contiguous(memory_format=torch.channels_last_3d)
        for p in model.parameters()
        if p.dim() == 5
    )
    # The network starts in channels_last_3d from its one-channel input
    # (whose layout is ambiguous) because its weights are. What later layers
    # return is PyTorch's choice: its instance norm returns the default
    # layout, and so does a 1x1x1 conv on one thread, MONAI's last layer.
    layouts = []
    first = next(
        m for m in model.network.modules() if isinstance(m, nn.Conv3d)
    )
    first.register_forward_hook(
        lambda module, args, out: layouts.append(is_channels_last(out))
    )
    volume = torch.randn(1, 1, 48, 32, 32)
    predicted = model.predict(volume)[0].pred_seg
    # Two windows, run together (a batch of one single-channel window
    # would be contiguous in both layouts, and convs would take it so).
    assert layouts == [True]
    plain = segmentor(test_cfg=window).eval()  # NCDHW by default
    plain.load_state_dict(model.state_dict())
    windows = torch.cat([volume[..., :32, :, :], volume[..., 16:, :, :]])
    assert not is_channels_last(plain.run_window(windows))
    torch.testing.assert_close(
        model.run_window(windows),
        plain.run_window(windows),
        rtol=1e-4,
        atol=1e-5,
    )
    assert torch.equal(predicted, plain.predict(volume)[0].pred_seg)
