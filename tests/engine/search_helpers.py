"""A stand-in runner for the CAKES search hooks: a tiny supernet, its
optimizer, a logger writing to the work dir and a recording visualizer."""

from types import SimpleNamespace

import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger

OPS = ['1xkxk', 'kx1x1']


class Visualizer:
    """Records what the hook sends to the visualizer's backends."""

    def __init__(self):
        self.scalars = []

    def add_scalars(self, scalars, step):
        self.scalars.append((step, scalars))


def make_runner(tmp_path, search_mode='performance', max_epochs=2):
    """A runner stand-in at epoch 0, iteration 9, with seed 7.

    Args:
        tmp_path (Path): Its work dir; the log goes to ``log.txt`` there.
        search_mode (str | None): The supernet's search mode; None builds
            a plain CAKES ResNet without searched layers.
        max_epochs (int): The run's length. Defaults to 2.

    Returns:
        SimpleNamespace: What the hooks read of a runner; the config's
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
    model = MODELS.build(model_cfg)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1
    )
    return SimpleNamespace(
        model=model,
        max_epochs=max_epochs,
        seed=7,
        work_dir=str(tmp_path),
        epoch=0,
        iter=9,
        logger=MMLogger.get_instance(
            f'search_hook_{tmp_path.name}', log_file=str(tmp_path / 'log.txt')
        ),
        visualizer=Visualizer(),
        cfg=Config(
            dict(
                model=model_cfg,
                test_dataloader=dict(
                    dataset=dict(
                        pipeline=[
                            dict(type='UniformSample', clip_len=4),
                            dict(type='CenterCrop', crop_size=32),
                        ]
                    )
                ),
            )
        ),
        optim_wrapper=SimpleNamespace(optimizer=optimizer),
    )
