"""The search hook's per-axis count (CAKES §4.3): how many chosen op
channels span each of D, H and W, for volumetric segmentors only."""

from mmaction.registry import MODELS

from cakes_mm.engine.hooks import CAKESSearchHook
from cakes_mm.engine.hooks.log_arch_hook import axis_counts
from cakes_mm.models.search import dump_chosen
from engine.fake_runner import fake_runner, make_runner

#: The axes (D, H, W) each sub-kernel spans, written out by hand.
SPANS = {
    'kxkxk': (1, 1, 1),
    '1xkxk': (0, 1, 1),
    'kx1xk': (1, 0, 1),
    'kxkx1': (1, 1, 0),
    'kx1x1': (1, 0, 0),
    '1xkx1': (0, 1, 0),
    '1x1xk': (0, 0, 1),
}
UNET = dict(
    type='monai.networks.nets.BasicUNet',
    spatial_dims=3,
    in_channels=1,
    out_channels=3,
    features=(4, 4, 4, 4, 8, 4),
)


def test_axis_counts_by_hand():
    arch = [
        {'kxkxk': 2, '1xkxk': 3},
        {'kx1x1': 4, '1x1xk': 1},
        {'kx1xk': 5, '1xkx1': 6, 'kxkx1': 0},
    ]
    # D: 2 + 4 + 5, H: 2 + 3 + 6, W: 2 + 3 + 1 + 5.
    assert axis_counts(arch) == (11, 11, 11)
    assert axis_counts([{'kxkx1': 7}]) == (7, 7, 0)


def test_segmentor_search_logs_channels_per_axis(tmp_path):
    model_cfg = dict(
        type='VolumeSegmentor',
        network=dict(
            type='ConvertedNet',
            model=UNET,
            op=dict(type='cakes_search', op_set=list(SPANS)),
        ),
        test_cfg=dict(roi_size=32),
    )
    model = MODELS.build(model_cfg)
    runner = fake_runner(
        tmp_path=tmp_path, model=model, cfg=dict(model=model_cfg)
    )
    hook = CAKESSearchHook()
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    arch = dump_chosen(model)
    expected = [
        sum(n * SPANS[op][axis] for layer in arch for op, n in layer.items())
        for axis in range(3)
    ]
    scalars = runner.visualizer.merged()
    assert [scalars[f'search/axis_{axis}'] for axis in 'DHW'] == expected
    assert (
        f'op channels spanning D {expected[0]}, H {expected[1]}, '
        f'W {expected[2]}'
    ) in (tmp_path / 'log.txt').read_text()


def test_recognizer_search_logs_no_axes(tmp_path):
    runner = make_runner(tmp_path)
    hook = CAKESSearchHook()
    hook.before_run(runner)
    hook.after_train_epoch(runner)
    scalars = runner.visualizer.merged()
    assert 'search/share_1xkxk' in scalars
    assert not [key for key in scalars if 'axis' in key]
    assert 'spanning' not in (tmp_path / 'log.txt').read_text()
