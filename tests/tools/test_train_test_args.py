"""Argument handling of tools/train.py and tools/test.py (the code of
cakes_mm.apis.train and cakes_mm.apis.test) and cakes_mm.apis.runner,
checked in-process on configs; tests/tools/test_train_test.py runs the
tools as scripts."""

import copy
import subprocess
import sys
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from cakes_mm.apis import UnsupportedConfigError, runner
from cakes_mm.apis.pipeline import use_test_views
from cakes_mm.apis.test import parse_args as parse_test_args
from cakes_mm.apis.test import switch_to_deploy
from cakes_mm.apis.train import apply_train_args
from cakes_mm.apis.train import parse_args as parse_train_args

TEST_PIPELINE = [
    dict(type='UniformSample', clip_len=8, num_clips=1, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]


def config(**extra):
    """A minimal config with a test pipeline and a head."""
    return Config(
        dict(
            model=dict(cls_head=dict(type='I3DHead', num_classes=5)),
            test_dataloader=dict(
                batch_size=4,
                dataset=dict(
                    type='CheckedRawframeDataset',
                    pipeline=copy.deepcopy(TEST_PIPELINE),
                ),
            ),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
            **extra,
        )
    )


def test_three_crops_resize_the_short_side_to_the_crop():
    cfg = config()
    use_test_views(cfg, num_clips=2, num_crops=3)
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[0]['num_clips'] == 2
    assert pipeline[2]['scale'] == (-1, 224) and pipeline[2]['keep_ratio']
    assert dict(pipeline[3]) == dict(type='ThreeCrop', crop_size=224)
    assert cfg.model.cls_head.average_clips == 'prob'
    use_test_views(cfg, num_crops=1)
    assert dict(pipeline[3]) == dict(type='CenterCrop', crop_size=224)


def test_views_leave_a_chosen_average_and_respect_max_testing_views():
    cfg = config()
    cfg.model.cls_head.average_clips = 'score'
    cfg.model.test_cfg = dict(max_testing_views=4)
    use_test_views(cfg)
    assert cfg.model.cls_head.average_clips == 'score'
    assert cfg.test_dataloader.batch_size == 1
    assert cfg.test_dataloader.dataset.pipeline == TEST_PIPELINE


@pytest.mark.parametrize(
    'change, views, message',
    [
        (lambda p: p.pop(0), dict(num_clips=2), 'no frame sampler'),
        (lambda p: p.pop(3), dict(num_crops=3), 'no CenterCrop to replace'),
        (
            lambda p: p[3].update(crop_size=(224, 160)),
            dict(num_crops=3),
            r'needs a square crop, the test pipeline crops \(224, 160\)',
        ),
        (lambda p: p.pop(2), dict(num_crops=3), 'no Resize before'),
    ],
)
def test_pipelines_that_cannot_take_the_views_are_refused(
    change, views, message
):
    cfg = config()
    change(cfg.test_dataloader.dataset.pipeline)
    with pytest.raises(UnsupportedConfigError, match=message):
        use_test_views(cfg, **views)


def test_test_arguments_are_validated():
    with pytest.raises(SystemExit):
        parse_test_args(['c.py', 'w.pth', '--num-crops', '2'])
    with pytest.raises(SystemExit):
        parse_test_args(['c.py', 'w.pth', '--num-clips', '0'])
    with pytest.raises(SystemExit):
        parse_test_args(['c.py', 'w.pth', '--dump', 'out.json'])
    args = parse_test_args(['c.py', 'w.pth', '--num-clips', '3', '--deploy'])
    assert (args.config, args.checkpoint, args.num_clips) == (
        'c.py',
        'w.pth',
        3,
    )


def test_deploy_needs_switch_to_deploy():
    runner = SimpleNamespace(model=SimpleNamespace(backbone=SimpleNamespace()))
    with pytest.raises(
        SystemExit,
        match='backbone SimpleNamespace has no '
        r'switch_to_deploy\(\)',
    ):
        switch_to_deploy(runner)


@pytest.mark.parametrize(
    'argv, resume, load_from',
    [
        ([], False, None),
        (['--resume'], True, None),
        (['--resume', 'work/epoch_3.pth'], True, 'work/epoch_3.pth'),
    ],
)
def test_resume_arguments(argv, resume, load_from):
    cfg = config(resume=False, load_from=None)
    apply_train_args(cfg, parse_train_args(['c.py', *argv]))
    assert (cfg.resume, cfg.load_from) == (resume, load_from)


def test_auto_scale_lr_and_amp():
    cfg = config(auto_scale_lr=dict(enable=False, base_batch_size=96))
    apply_train_args(cfg, parse_train_args(['c.py', '--auto-scale-lr']))
    assert cfg.auto_scale_lr.enable
    with pytest.raises(SystemExit, match='base_batch_size'):
        apply_train_args(
            config(), parse_train_args(['c.py', '--auto-scale-lr'])
        )
    cfg = config()
    apply_train_args(cfg, parse_train_args(['c.py', '--amp']))
    # No GPU in the tests: bf16 autocast on the CPU.
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'


def test_load_config_sets_work_dir_and_options_only(tmp_path):
    path = tmp_path / 'my_model.py'
    config().dump(str(path))
    args = SimpleNamespace(
        config=str(path),
        work_dir=None,
        local_rank=0,
        launcher='none',
        cfg_options={'test_dataloader.batch_size': 2},
    )
    cfg = runner.load_config(args)
    assert cfg.work_dir.endswith('work_dirs/my_model')
    assert cfg.test_dataloader.batch_size == 2
    # The dataset's num_classes is the config's to give, not the tool's.
    assert 'num_classes' not in cfg.test_dataloader.dataset
    with pytest.raises(SystemExit, match='config file not found'):
        runner.load_config(
            SimpleNamespace(
                **dict(vars(args), config=str(tmp_path / 'absent.py'))
            )
        )


def test_cpu_distributed_setup_refuses_slurm():
    cfg = config(launcher='slurm')
    with pytest.raises(SystemExit, match='--launcher slurm needs CUDA'):
        runner.setup_cpu_distributed(cfg)


def test_cpu_distributed_setup_keeps_a_configs_wrapper(tmp_path):
    import torch.distributed as dist

    dist.init_process_group(
        backend='gloo',
        init_method=f'file://{tmp_path / "store"}',
        rank=0,
        world_size=1,
    )
    try:
        cfg = config(launcher='pytorch')
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', find_unused_parameters=True
        )
        runner.setup_cpu_distributed(cfg)
        assert cfg.model_wrapper_cfg == dict(
            type='MMDistributedDataParallel',
            find_unused_parameters=True,
            broadcast_buffers=False,
            device_ids=None,
        )
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    finally:
        dist.destroy_process_group()


EXIT_SCRIPT = """
import atexit
import sys
import threading
import time

import torch.distributed as dist

from cakes_mm.apis.runner import exit_distributed_process

exit_distributed_process()
print('no group: returned')
dist.init_process_group(
    backend='gloo', init_method='file://@STORE@', rank=0, world_size=1
)
atexit.register(print, 'atexit handler ran')
sys.stdout.write('a buffered line without a newline')
# Still running when the process is to end: it must be waited for.
threading.Thread(
    target=lambda: time.sleep(0.5) or print('thread ended')
).start()
exit_distributed_process()
print('not reached')
"""


def test_exit_distributed_process_runs_exit_handlers_and_ends(tmp_path):
    script = tmp_path / 'end.py'
    script.write_text(EXIT_SCRIPT.replace('@STORE@', str(tmp_path / 'store')))
    # stdout is a pipe, so block-buffered: what reaches it was flushed.
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [
        'no group: returned',
        'a buffered line without a newlinethread ended',
        'atexit handler ran',
    ]
