"""The MRI demo: five kinds of convolution in one small UNet, on real MRI.

``tools/demo/run_mri_demo.py`` calls :func:`run_mri_demo`, which

1. writes the labelled MNI brain (:mod:`cakes_mm.demo.mni_brain`: T1 with
   background, CSF, GM and WM at 2 mm, the anterior half for training, the
   posterior 40% for testing) under ``WORK_DIR/data``;
2. trains each model of :data:`MRI_MODELS` from scratch with mmengine's
   runner, in this process, into ``WORK_DIR/<key>``; the models differ only
   in ``model.network.op``;
3. tests each on the posterior part by the sliding window and prints a
   table of per-class Dice, params, GFLOPs (one window) and minutes;
4. draws three slices of the test volume with each model's prediction
   (:mod:`cakes_mm.demo.mri_figure`).
"""

import argparse
import json
import os.path as osp
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import nibabel as nib
import numpy as np
from mmengine.hooks import Hook

from .mni_brain import CLASSES, write_mni_dataset
from .runs import (
    MINUTES,
    PARAMS,
    Column,
    Echo,
    Result,
    format_table,
    gflops_column,
    load_demo_config,
    train_and_test,
)

# (key, name, config): the models trained and compared, in order. All are
# the same UNet (configs/demo/c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py) with
# another op in its convs.
MRI_MODELS = (
    (
        'planar2d',
        'planar 2D',
        'cakes-planar-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py',
    ),
    ('conv3d', '3D', 'c3d_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'),
    (
        'cakes2d',
        'CAKES 2D',
        'cakes-2d-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py',
    ),
    (
        'cakes123d',
        'CAKES 1,2,3D',
        'cakes-123d-manual_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py',
    ),
    ('p2sc2', 'P2SC2', 'p2sc2_unet3d-w16_1xb4-32x32x32-10e_mni-brain-mri.py'),
)
TISSUES = CLASSES[1:]
#: Iterations of ``--quick``'s single epoch.
QUICK_ITERS = 2


class TestVolume(NamedTuple):
    """One test volume on the pipeline's grid, ``[x, y, z]`` each."""

    image: np.ndarray
    truth: np.ndarray
    prediction: np.ndarray


class TestPredictions(Hook):
    """Keep the image, ground truth and prediction of each test volume.

    Added to a built runner with ``runner.register_hook``; needs no
    registry entry.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.volumes: List[TestVolume] = []

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[Sequence] = None,
    ) -> None:
        """Store the batch's volumes (first channel of each image)."""
        for image, sample in zip(data_batch['inputs'], outputs):
            self.volumes.append(
                TestVolume(
                    image[0].cpu().numpy(),
                    sample.gt_seg[0].cpu().numpy(),
                    sample.pred_seg[0].cpu().numpy(),
                )
            )


def y_span_mm(json_path: str, part: str) -> Tuple[float, float]:
    """The first and last voxel centres' y (mm, anterior positive) of a
    part of the written dataset.

    Args:
        json_path (str): The dataset's ``dataset.json``.
        part (str): ``'training'``, ``'validation'`` or ``'test'``.

    Returns:
        tuple[float, float]: The lower and upper y.
    """
    with open(json_path, encoding='utf-8') as file:
        entry = json.load(file)[part][0]
    image = nib.load(osp.join(osp.dirname(json_path), entry['label']))
    ends = [
        image.affine[1] @ [0, index, 0, 1] for index in (0, image.shape[1] - 1)
    ]
    return min(ends), max(ends)


def describe_split(json_path: str) -> str:
    """Where each part of the written dataset lies along y, in one line.

    Args:
        json_path (str): The dataset's ``dataset.json``.

    Returns:
        str: ``training y -16..+80 mm, validation ..., test ...``.
    """
    spans = {
        part: y_span_mm(json_path, part)
        for part in ('training', 'validation', 'test')
    }
    return ', '.join(
        f'{part} y {low:+.0f}..{high:+.0f} mm'
        for part, (low, high) in spans.items()
    )


def demo_config(
    config: str,
    configs_dir: str,
    work_dir: str,
    data_root: str,
    args: argparse.Namespace,
):
    """Load a demo config and point it at this run's data and work dir.

    Args:
        config (str): The config's file name.
        configs_dir (str): The folder holding it.
        work_dir (str): The run's work dir.
        data_root (str): The written dataset's folder.
        args (argparse.Namespace): ``seed``, ``verbose`` and ``quick``.

    Returns:
        Config: The config to run.
    """
    cfg = load_demo_config(
        configs_dir, config, work_dir, args.seed, args.verbose
    )
    train = cfg.train_dataloader
    train.dataset.dataset.data_root = data_root
    for split in ('val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = data_root
    if args.quick:  # a worker's start-up would outlast the run
        train.num_workers = 0
        train.persistent_workers = False
        train.dataset.times = train.batch_size * QUICK_ITERS
        cfg.train_cfg.update(max_epochs=1, val_begin=1, val_interval=1)
    return cfg


def mean_dice(row: Result) -> float:
    """A row's mean Dice of the tissues (%)."""
    return row.scores['dice/mean']


#: The table's columns after the model names.
COLUMNS = (
    *(
        Column(tissue, 7, 1, lambda row, key=f'dice/{tissue}': row.scores[key])
        for tissue in TISSUES
    ),
    Column('mean Dice', 11, 1, mean_dice),
    PARAMS,
    gflops_column(9, 3),
    MINUTES,
)


def train_plan(cfg) -> str:
    """The training line's words: epochs, iterations and batch size."""
    train = cfg.train_dataloader
    iters = train.dataset.times // train.batch_size
    return (
        f'{cfg.train_cfg.max_epochs} epochs of {iters} '
        f'iterations (batch {train.batch_size})'
    )


def mri_table(
    results: Sequence[Result],
    window: Sequence[int],
    test_shape: Sequence[int],
    seed: int,
) -> str:
    """The demo's closing table, as text.

    Args:
        results (Sequence[Result]): The rows.
        window (Sequence[int]): The sliding window's size.
        test_shape (Sequence[int]): The test volume's size.
        seed (int): The run's seed.

    Returns:
        str: The table and a line saying what its figures are.
    """
    size = 'x'.join(map(str, window))
    return format_table(
        results,
        14,
        COLUMNS,
        f'Dice (%) on the posterior test part '
        f'({"x".join(map(str, test_shape))} voxels at 2 mm) by a '
        f'{size} sliding window; GFLOPs: multiply-adds of one '
        f'{size} window; seed {seed}.',
    )


def run_mri_demo(
    args: argparse.Namespace, configs_dir: str, echo: Echo
) -> Dict[str, Result]:
    """Run the whole demo (see the module doc).

    Args:
        args (argparse.Namespace): ``work_dir``, ``seed``, ``quick``,
            ``verbose`` and ``png`` (None: ``WORK_DIR/mri_demo.png``).
        configs_dir (str): The folder of the demo configs.
        echo (Callable[[str], None]): Where progress lines go.

    Returns:
        dict[str, Result]: The results by model key.
    """
    from cakes_mm.analysis import default_input_shape

    from .mri_figure import save_mri_figure

    started = time.monotonic()
    data_root = osp.join(args.work_dir, 'data')
    echo(
        f'[data] labelling the MNI ICBM152 2009a template into '
        f'{data_root} (attribution: {data_root}/ATTRIBUTION.rst)'
    )
    json_path = write_mni_dataset(data_root)
    echo(
        f'[data] {describe_split(json_path)}; done in '
        f'{time.monotonic() - started:.0f}s'
    )
    results, predictions = {}, []
    for key, name, config in MRI_MODELS:
        cfg = demo_config(
            config, configs_dir, osp.join(args.work_dir, key), data_root, args
        )
        predictions.append(TestPredictions())
        results[key] = train_and_test(
            name,
            cfg,
            default_input_shape(cfg),
            train_plan(cfg),
            echo,
            hooks=[predictions[-1]],
        )
    rows = list(results.values())
    volume = predictions[0].volumes[0]
    echo('')
    echo(
        mri_table(
            rows, cfg.model.test_cfg.roi_size, volume.truth.shape, args.seed
        )
    )
    png = args.png or osp.join(args.work_dir, 'mri_demo.png')
    save_mri_figure(
        png,
        volume.image,
        volume.truth,
        [
            (
                f'{row.name}\nmean Dice {mean_dice(row):.1f}%',
                kept.volumes[0].prediction,
            )
            for row, kept in zip(rows, predictions)
        ],
        CLASSES,
    )
    echo(f'slices of the test volume: {png}')
    echo(f'total time {(time.monotonic() - started) / 60:.1f} min')
    return results
