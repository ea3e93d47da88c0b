"""Helpers for the tests of tools/: tiny generated datasets and configs,
and running a tool as a subprocess or loading it as a module.

Frames are 40x32 JPEGs and videos 64x48 mp4s (width a multiple of 32:
decord 0.6.0 fails on some widths that are not, e.g. 48, with "Check failed:
from_size == to_size", rows being padded to 64). The model is a CAKESResNet-50 with
base width 8 and a uniform 1D/2D split, on 4 frames of 32x32.
"""

import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')
FRAME_TMPL = 'img_{:05}.jpg'


def python_path(folder: str) -> str:
    """A ``PYTHONPATH`` with ``folder`` first, then this process's own
    (so that a tool run sees the checkout under test, not another install).

    Args:
        folder (str): The folder to import from first.

    Returns:
        str: The path list.
    """
    return os.pathsep.join(
        filter(None, [str(folder), os.environ.get('PYTHONPATH')])
    )


def write_frames(
    folder: str,
    num_frames: int,
    seed: int,
    filename_tmpl: str = FRAME_TMPL,
    start_index: int = 1,
    size: Sequence[int] = (40, 32),
) -> None:
    """Write ``num_frames`` random-coloured JPEG frames into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    for index in range(start_index, start_index + num_frames):
        frame = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(folder, filename_tmpl.format(index)), frame)


def write_rawframe_dataset(
    root: str,
    labels: Sequence[int],
    num_frames: int = 6,
    filename_tmpl: str = FRAME_TMPL,
    start_index: int = 1,
    ann_name: str = 'ann.txt',
) -> str:
    """Frame folders ``root/frames/vid<i>`` and their annotation list.

    Returns:
        str: The annotation file (``vid<i> num_frames label`` lines).
    """
    lines = []
    for i, label in enumerate(labels):
        write_frames(
            osp.join(root, 'frames', f'vid{i}'),
            num_frames,
            i,
            filename_tmpl,
            start_index,
        )
        lines.append(f'vid{i} {num_frames} {label}')
    return write_lines(osp.join(root, ann_name), lines)


def write_video(
    path: str,
    num_frames: int = 8,
    seed: int = 0,
    size: Sequence[int] = (64, 48),
) -> str:
    """Write a small mp4v video of moving random blocks."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    width, height = size
    writer = cv2.VideoWriter(
        path, cv2.VideoWriter_fourcc(*'mp4v'), 8, (width, height)
    )
    rng = np.random.default_rng(seed)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    writer.release()
    return path


def write_video_dataset(
    root: str, labels: Sequence[int], ann_name: str = 'videos.txt'
) -> str:
    """Videos ``root/videos/vid<i>.mp4`` and their annotation list.

    Returns:
        str: The annotation file (``vid<i>.mp4 label`` lines).
    """
    lines = []
    for i, label in enumerate(labels):
        write_video(osp.join(root, 'videos', f'vid{i}.mp4'), seed=i)
        lines.append(f'vid{i}.mp4 {label}')
    return write_lines(osp.join(root, ann_name), lines)


def write_lines(path: str, lines: List[str]) -> str:
    """Write ``lines`` to ``path``; return the path."""
    with open(path, 'w') as file:
        file.write('\n'.join(lines) + '\n')
    return path


TINY_CONFIG = """
_base_ = ['@REPO@/configs/_base_/models/cakes_r50.py',
          '@REPO@/configs/_base_/default_runtime.py']
custom_imports = dict(imports=@IMPORTS@, allow_failed_imports=False)
model = dict(
    backbone=dict(type='@BACKBONE@', base_channels=8,
                  op=dict(_delete_=True, type='cakes',
                          op_set=['1xkxk', 'kx1x1'])),
    cls_head=dict(type='@HEAD@', num_classes=@CLASSES@, in_channels=256))
@DATA@
train_pipeline = [
    @OPEN@
    dict(type='UniformSample', clip_len=4, num_clips=1),
    @DECODE@
    dict(type='Resize', scale=(-1, 36)),
    dict(type='RandomCrop', size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]
test_pipeline = [
    @OPEN@
    dict(type='UniformSample', clip_len=4, num_clips=1, test_mode=True),
    @DECODE@
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')]
train_dataloader = dict(
    batch_size=2, num_workers=@WORKERS@,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=@WORKERS@,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, pipeline=test_pipeline, test_mode=True))
test_cfg = dict(type='TestLoop')
test_evaluator = dict(type='AccMetric')
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=@EPOCHS@,
                 val_interval=100)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', milestones=[1], by_epoch=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, save_best=None))
randomness = dict(seed=0)
"""

RAWFRAME_DATA = """dataset = dict(type='CheckedRawframeDataset', ann_file='@ANN@',
               num_classes=@CLASSES@,
               data_prefix=dict(img='@PREFIX@'),
               filename_tmpl='img_{:05}.jpg')"""
VIDEO_DATA = """dataset = dict(type='CheckedVideoDataset', ann_file='@ANN@',
               num_classes=@CLASSES@,
               data_prefix=dict(video='@PREFIX@'))"""


def write_tiny_config(
    path: str,
    ann_file: str,
    prefix: str,
    videos: bool = False,
    num_classes: int = 3,
    epochs: int = 1,
    workers: int = 0,
    imports: Sequence[str] = ('cakes_mm',),
    backbone: str = 'CAKESResNet',
    head: str = 'I3DHead',
) -> str:
    """Write a tiny training/testing config over a generated dataset.

    Args:
        path (str): Where to write the config.
        ann_file (str): Annotation list.
        prefix (str): Folder the annotation's names are relative to.
        videos (bool): Video files (decord) rather than frame folders.
            Defaults to False.
        num_classes (int): Classes of the head. Defaults to 3.
        epochs (int): Training epochs. Defaults to 1.
        workers (int): DataLoader workers. Defaults to 0.
        imports (Sequence[str]): Modules for ``custom_imports``. Defaults
            to ``('cakes_mm', )``.
        backbone (str): Backbone type. Defaults to ``'CAKESResNet'``.
        head (str): Head type. Defaults to ``'I3DHead'``.

    Returns:
        str: ``path``.
    """
    # Videos are opened before sampling (the sampler needs the frame count).
    open_video, decode = (
        ("dict(type='DecordInit'),", "dict(type='DecordDecode'),")
        if videos
        else ('', "dict(type='RawFrameDecode'),")
    )
    replacements = {
        '@DATA@': VIDEO_DATA if videos else RAWFRAME_DATA,
        '@OPEN@': open_video,
        '@REPO@': REPO,
        '@ANN@': ann_file,
        '@PREFIX@': prefix,
        '@DECODE@': decode,
        '@CLASSES@': str(num_classes),
        '@EPOCHS@': str(epochs),
        '@WORKERS@': str(workers),
        '@IMPORTS@': repr(list(imports)),
        '@BACKBONE@': backbone,
        '@HEAD@': head,
    }
    text = TINY_CONFIG
    for key, value in replacements.items():
        text = text.replace(key, value)
    with open(path, 'w') as file:
        file.write(text)
    return path


#: The arch files a two-epoch search run that freezes after epoch 1 leaves.
SEARCH_ARCH_FILES = (
    'arch_epoch_1.json',
    'arch_epoch_2.json',
    'arch_frozen.json',
    'arch_final.json',
)


def read_arch_files(
    work_dir, names: Sequence[str] = SEARCH_ARCH_FILES
) -> Dict[str, list]:
    """The arch files a search run wrote.

    Args:
        work_dir (str | Path): The run's work dir.
        names (Sequence[str]): The files. Defaults to
            :data:`SEARCH_ARCH_FILES`.

    Returns:
        dict: {file name: arch list}.
    """
    with_names = {}
    for name in names:
        with open(osp.join(work_dir, name)) as file:
            with_names[name] = json.load(file)
    return with_names


def run_tool(
    args: Sequence[str],
    cwd: str,
    env: Optional[Dict[str, str]] = None,
    timeout: int = 240,
) -> subprocess.CompletedProcess:
    """Run ``python tools/<args[0]> args[1:]`` from ``cwd``.

    Args:
        args (Sequence[str]): The tool's path under tools/, then its
            arguments.
        cwd (str): Working directory (outside the repo in the tests).
        env (dict, optional): Extra environment variables. Defaults to None.
        timeout (int): Seconds before the run is killed. Defaults to 240.

    Returns:
        subprocess.CompletedProcess: With ``stdout`` and ``stderr`` text.
    """
    # One thread, and sleeping rather than spinning where a tool asks for
    # more: the suite's other workers share the machine's cores.
    full_env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        OMP_WAIT_POLICY='PASSIVE',
        **(env or {}),
    )
    return subprocess.run(
        [sys.executable, osp.join(TOOLS, args[0]), *args[1:]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
