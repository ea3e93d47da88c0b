"""The runner stand-in of the hook tests, and what the search hook tests
do with it: a tiny supernet, a spread α, a few training steps.

A hook reads only some of a runner's attributes; :func:`fake_runner` gives
those, with a logger writing to ``log.txt`` in the work dir and a
visualizer that records what the hooks send to its backends.
"""

import logging
from types import SimpleNamespace
from typing import Optional

import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger

from cakes_mm.models.search import search_layers

OPS = ['1xkxk', 'kx1x1']
#: A test pipeline whose input is (1, 3, 4, 32, 32).
TEST_DATALOADER = dict(
    dataset=dict(
        pipeline=[
            dict(type='UniformSample', clip_len=4),
            dict(type='CenterCrop', crop_size=32),
        ]
    )
)


class Visualizer:
    """Records what the hooks send to the visualizer's backends."""

    def __init__(self):
        #: ``(step, scalars)``, call by call.
        self.scalars = []

    def add_scalars(self, scalars, step):
        self.scalars.append((step, scalars))

    def merged(self) -> dict:
        """Every scalar sent, the later call's value for a repeated key."""
        return {
            key: value
            for _, part in self.scalars
            for key, value in part.items()
        }


def fake_runner(
    iteration: int = 9,
    epoch: int = 0,
    tmp_path=None,
    model: Optional[torch.nn.Module] = None,
    cfg: Optional[dict] = None,
    max_epochs: int = 2,
    seed: int = 7,
) -> SimpleNamespace:
    """What the hooks read of a runner.

    Args:
        iteration (int): ``runner.iter`` (from 0). Defaults to 9.
        epoch (int): ``runner.epoch`` (from 0). Defaults to 0.
        tmp_path (Path, optional): The work dir; the log goes to
            ``log.txt`` there. Defaults to None: ``work_dirs/fake`` and a
            logger without a file.
        model (nn.Module, optional): The model; it gets an SGD optimizer
            (momentum 0.9, weight decay 0.1) under ``optim_wrapper``.
            Defaults to None.
        cfg (dict, optional): The run's config. Defaults to an empty one.
        max_epochs (int): The run's length. Defaults to 2.
        seed (int): The run's seed. Defaults to 7.

    Returns:
        SimpleNamespace: The stand-in.
    """
    runner = SimpleNamespace(
        iter=iteration,
        epoch=epoch,
        max_epochs=max_epochs,
        seed=seed,
        cfg=Config(cfg or {}),
        visualizer=Visualizer(),
    )
    if tmp_path is None:
        runner.work_dir = 'work_dirs/fake'
        runner.logger = logging.getLogger('fake_runner')
    else:
        runner.work_dir = str(tmp_path)
        runner.logger = MMLogger.get_instance(
            f'fake_runner_{tmp_path.name}', log_file=str(tmp_path / 'log.txt')
        )
    if model is not None:
        runner.model = model
        optimizer = torch.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1
        )
        runner.optim_wrapper = SimpleNamespace(optimizer=optimizer)
    return runner


def make_runner(tmp_path, search_mode='performance', max_epochs=2):
    """A runner of a tiny CAKES ResNet supernet recognizer at epoch 0,
    iteration 9, with seed 7.

    Args:
        tmp_path (Path): Its work dir; the log goes to ``log.txt`` there.
        search_mode (str | None): The supernet's search mode; None builds
            a plain CAKES ResNet without searched layers.
        max_epochs (int): The run's length. Defaults to 2.

    Returns:
        SimpleNamespace: The stand-in (:func:`fake_runner`); the config's
        test input is (1, 3, 4, 32, 32).
    """
    model_cfg = dict(
        type='CAKESRecognizer3D',
        backbone=dict(
            type='CAKESResNetSupernet',
            mode=search_mode,
            op_set=OPS,
            base_channels=8,
        ),
        cls_head=dict(type='I3DHead', num_classes=4, in_channels=256),
        data_preprocessor=dict(
            type='ActionDataPreprocessor', format_shape='NCTHW'
        ),
    )
    if search_mode is None:
        model_cfg['backbone'] = dict(
            type='CAKESResNet', arch='c2d', base_channels=8
        )
    return fake_runner(
        tmp_path=tmp_path,
        model=MODELS.build(model_cfg),
        cfg=dict(model=model_cfg, test_dataloader=TEST_DATALOADER),
        max_epochs=max_epochs,
    )


def spread_alpha(runner):
    """Give α a seeded spread so a derived choice keeps and drops rows."""
    torch.manual_seed(0)
    with torch.no_grad():
        for _, conv in search_layers(runner.model):
            conv.search_bn.weight.uniform_(0.1, 1)


def train_steps(runner, steps=3):
    """A few seeded SGD steps on the backbone."""
    torch.manual_seed(1)
    optimizer = runner.optim_wrapper.optimizer
    x = torch.randn(2, 3, 4, 32, 32)
    for _ in range(steps):
        optimizer.zero_grad()
        runner.model.backbone(x).square().mean().backward()
        optimizer.step()


def assert_pinned(runner, conv, before):
    """Unchosen rows kept value and zero momentum; chosen rows moved."""
    unchosen = ~conv.fixed_mask[0]
    assert unchosen.any() and (~unchosen).any()
    after = conv.convs['1xkxk'].weight.detach()
    assert torch.equal(after[unchosen], before[unchosen])
    assert not torch.equal(after[~unchosen], before[~unchosen])
    optimizer = runner.optim_wrapper.optimizer
    momentum = optimizer.state[conv.convs['1xkxk'].weight]['momentum_buffer']
    assert momentum[unchosen].abs().sum() == 0
