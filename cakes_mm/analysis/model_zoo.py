"""The paper's Tables 1 and 3 and the configs that rebuild their rows."""

import os.path as osp
from dataclasses import dataclass
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import init_default_scope

from ..config_names import read_config
from ..input_shape import default_input_shape
from .complexity import Complexity, model_complexity

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs'
)


@dataclass(frozen=True)
class PublishedRow:
    """What every published row gives first: the model, our config for it,
    and the paper's params and multiply-adds. Subclasses add their scores,
    then ``source`` and ``note``, and say their metafile ``task`` and
    :meth:`metrics`.

    Args:
        model (str): The row's name in the paper.
        config (str): Our config, relative to ``configs/``.
        params_m (float): The paper's params, in millions.
        gflops (float): The paper's multiply-adds, in billions.
    """

    model: str
    config: str
    params_m: float
    gflops: float

    #: The task the metafile files the row under.
    task: ClassVar[str]

    def metrics(self) -> Dict[str, float]:
        """The published metrics, named as in OpenMMLab metafiles."""
        raise NotImplementedError


@dataclass(frozen=True)
class PaperRow(PublishedRow):
    """One published CAKES result (sthv1, 224², 174 classes).

    Args:
        model (str): The row's name in the paper.
        config (str): Our config, relative to ``configs/``.
        params_m (float): The paper's params, in millions.
        gflops (float): The paper's multiply-adds, in billions.
        top1 (float): The paper's top-1 accuracy on sthv1.
        top5 (float): The paper's top-5 accuracy on sthv1.
        source (str): Where the paper gives it. Defaults to Table 3.
        note (str): Why our figure may differ. Defaults to ''.
    """

    task = 'Action Recognition'

    top1: float
    top5: float
    source: str = 'CAKES paper, Table 3'
    note: str = ''

    def metrics(self) -> Dict[str, float]:
        """The published top-1 and top-5, named as in OpenMMLab metafiles."""
        return {'Top 1 Accuracy': self.top1, 'Top 5 Accuracy': self.top5}


#: The paper's Table 3: ResNet-50, 8 frames.
TABLE3: Tuple[PaperRow, ...] = (
    PaperRow(
        'C2D',
        'baselines/c2d_r50_8xb12-u8-70e_sthv1-rgb.py',
        23.9,
        33.0,
        17.2,
        43.1,
    ),
    PaperRow(
        'P3D',
        'baselines/p3d_r50_8xb12-u8-70e_sthv1-rgb.py',
        27.6,
        37.9,
        44.8,
        74.6,
    ),
    PaperRow(
        'C3D',
        'baselines/c3d_r50_8xb12-u8-70e_sthv1-rgb.py',
        46.5,
        62.6,
        46.8,
        75.3,
    ),
    PaperRow(
        'CAKES 1,2D manual',
        'cakes/cakes-12d-manual_r50_8xb12-u8-70e_sthv1-rgb.py',
        20.1,
        28.0,
        46.2,
        75.2,
    ),
    PaperRow(
        'CAKES 2,3D manual',
        'cakes/cakes-23d-manual_r50_8xb12-u8-70e_sthv1-rgb.py',
        35.2,
        47.7,
        46.8,
        76.0,
    ),
    PaperRow(
        'CAKES 1,2D auto',
        'cakes/cakes-12d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
        21.2,
        29.5,
        46.3,
        74.9,
        note='released CAKES12D_P is not the arch of the table',
    ),
    PaperRow(
        'CAKES 2,3D auto',
        'cakes/cakes-23d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
        37.5,
        50.7,
        47.4,
        76.1,
    ),
    PaperRow(
        'CAKES 1,2,3D auto',
        'cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
        33.5,
        43.9,
        47.2,
        75.7,
    ),
    PaperRow(
        'CAKES 1,2D †',
        'cakes/cakes-12d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
        20.5,
        29.3,
        46.8,
        76.0,
    ),
    PaperRow(
        'CAKES 2,3D †',
        'cakes/cakes-23d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
        35.7,
        41.4,
        46.9,
        75.6,
    ),
    PaperRow(
        'CAKES 1,2,3D †',
        'cakes/cakes-123d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
        35.0,
        38.7,
        46.9,
        75.5,
    ),
)

#: The 16-frame rows of the paper's Table 4.
TABLE4_16_FRAMES: Tuple[PaperRow, ...] = (
    PaperRow(
        'CAKES 1,2D † (16 frames)',
        'cakes/cakes-12d-cost_r50_8xb12-u16-70e_sthv1-rgb.py',
        20.5,
        58.6,
        48.0,
        78.0,
        'CAKES paper, Table 4',
    ),
    PaperRow(
        'CAKES 2,3D (16 frames)',
        'cakes/cakes-23d-perf_r50_8xb12-u16-70e_sthv1-rgb.py',
        37.5,
        101.4,
        48.6,
        78.6,
        'CAKES paper, Table 4',
    ),
    PaperRow(
        'CAKES 1,2,3D (16 frames)',
        'cakes/cakes-123d-perf_r50_8xb12-u16-70e_sthv1-rgb.py',
        33.5,
        87.8,
        49.4,
        78.4,
        'CAKES paper, Table 4',
    ),
)


@dataclass(frozen=True)
class SegPaperRow(PublishedRow):
    """One published CAKES result on MSD pancreas (96³ patches, 3 classes).

    Args:
        model (str): The row's name in the paper.
        config (str, optional): Our config, relative to ``configs/``.
        params_m (float): The paper's params, in millions.
        gflops (float): The paper's multiply-adds, in billions.
        pancreas_dsc (float): The paper's pancreas Dice (%).
        tumour_dsc (float): The paper's tumour Dice (%).
        mean_dsc (float): The paper's average of the two (%).
        source (str): Where the paper gives it. Defaults to Table 1.
        note (str): Why our figure may differ or is missing. Defaults to
            ''.
    """

    task = 'Semantic Segmentation'

    pancreas_dsc: float
    tumour_dsc: float
    mean_dsc: float
    source: str = 'CAKES paper, Table 1'
    note: str = ''

    def metrics(self) -> Dict[str, float]:
        """The published Dice scores, named as in OpenMMLab metafiles."""
        return {
            'Pancreas Dice': self.pancreas_dsc,
            'Tumour Dice': self.tumour_dsc,
            'Mean Dice': self.mean_dsc,
        }


#: Why our auto rows differ from the paper's.
OUR_SEARCH = (
    "the paper's searched arch was never released; ours was found "
    'by our own short search on the MNI brain MRI '
    '(cakes-123d-perf-search_c2fnas_1xb4-48x48x48-10e_mni-brain-mri.py)'
)

#: The paper's Table 1: C2FNAS-Panc and CAKES on MSD pancreas, 96³ input.
TABLE1: Tuple[SegPaperRow, ...] = (
    SegPaperRow(
        'C2FNAS 2D',
        'volumetric/c2d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        11.29,
        97.77,
        79.16,
        43.02,
        61.09,
    ),
    SegPaperRow(
        'C2FNAS 3D',
        'volumetric/c3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        22.50,
        188.48,
        80.34,
        47.57,
        63.96,
    ),
    SegPaperRow(
        'C2FNAS P3D',
        'volumetric/p3d_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        13.16,
        112.88,
        80.36,
        45.27,
        62.82,
    ),
    SegPaperRow(
        'CAKES 1D manual',
        'volumetric/cakes-1d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        7.56,
        67.53,
        79.77,
        42.73,
        61.25,
    ),
    SegPaperRow(
        'CAKES 2D manual',
        'volumetric/cakes-2d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        11.29,
        97.77,
        80.09,
        46.17,
        63.13,
    ),
    SegPaperRow(
        'CAKES 1,2,3D manual',
        'volumetric/cakes-123d-manual_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        11.41,
        99.17,
        79.82,
        45.27,
        62.55,
    ),
    SegPaperRow(
        'CAKES 1D auto',
        'volumetric/cakes-1d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        7.56,
        67.53,
        80.32,
        45.57,
        62.95,
        note=OUR_SEARCH,
    ),
    SegPaperRow(
        'CAKES 2D auto',
        'volumetric/cakes-2d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        11.29,
        97.77,
        80.05,
        48.51,
        64.28,
        note=OUR_SEARCH,
    ),
    SegPaperRow(
        'CAKES 1,2,3D auto',
        'volumetric/cakes-123d-perf_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        11.26,
        99.68,
        80.12,
        48.72,
        64.42,
        note=OUR_SEARCH,
    ),
    SegPaperRow(
        'CAKES 1,2,3D †',
        'volumetric/cakes-123d-cost_c2fnas_4xb2-96x96x96-1000e_msd-pancreas-ct.py',
        9.72,
        87.16,
        80.34,
        47.95,
        64.15,
        note=OUR_SEARCH + ', cost-priority',
    ),
)


#: Config path under ``configs/`` -> its published row, for every table.
PAPER_ROWS: Dict[str, Union[PaperRow, SegPaperRow]] = {
    row.config: row for row in TABLE1 + TABLE3 + TABLE4_16_FRAMES
}


def network_of(model: nn.Module) -> nn.Module:
    """The network a segmentor holds at ``.network``, else the model."""
    network = getattr(model, 'network', None)
    return network if isinstance(network, nn.Module) else model


def config_complexity(
    config: str, shape: Optional[Sequence[int]] = None
) -> Tuple[Complexity, Tuple[int, ...]]:
    """Build a config's model and count its params and multiply-adds.

    A segmentor is counted as the network it holds at ``.network``.

    Args:
        config (str): Path to a config file.
        shape (Sequence[int], optional): Input (N, C, T, H, W). Defaults to
            the config's own test input (:func:`default_input_shape`).

    Returns:
        tuple: ``(Complexity, the input shape used)``.
    """
    from mmaction.registry import MODELS

    cfg = read_config(config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    shape = tuple(shape) if shape else default_input_shape(cfg)
    # Counting needs only shapes: built on the meta device, the model
    # allocates and initialises no weights.
    with torch.device('meta'):
        model = network_of(MODELS.build(cfg.model))
    return model_complexity(model, shape), shape


def our_figures(table: Sequence[PublishedRow], config_root: str) -> List[dict]:
    """Our params and GFLOPs for every row of a published table, beside
    the paper's.

    Args:
        table (Sequence[PublishedRow]): The table's rows.
        config_root (str): The ``configs/`` folder.

    Returns:
        list[dict]: One dict per row: ``row`` (the paper's row),
        ``params_m`` and ``gflops`` (ours).
    """
    rows = []
    for row in table:
        ours, _ = config_complexity(osp.join(config_root, row.config))
        rows.append(dict(row=row, params_m=ours.params_m, gflops=ours.gflops))
    return rows


def table3_rows(config_root: str = CONFIG_ROOT) -> List[dict]:
    """Our params and GFLOPs for every Table 3 row, beside the paper's
    (:func:`our_figures`).

    Args:
        config_root (str): The ``configs/`` folder. Defaults to the repo's.

    Returns:
        list[dict]: One dict per row with the paper's and our figures.
    """
    return our_figures(TABLE3, config_root)


def table1_rows(config_root: str = CONFIG_ROOT) -> List[dict]:
    """Our params and GFLOPs for every Table 1 row.

    Each config's model may be a network or a segmentor holding one at
    ``.network``; it is counted on a 96³ patch (or the config's
    ``roi_size``).

    Args:
        config_root (str): The ``configs/`` folder. Defaults to the repo's.

    Returns:
        list[dict]: One dict per row: ``row`` (the paper's
        :class:`SegPaperRow`), ``params_m`` and ``gflops`` (ours).
    """
    return our_figures(TABLE1, config_root)
