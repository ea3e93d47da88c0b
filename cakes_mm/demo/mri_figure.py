"""The MRI demo's picture: three slices of the test volume, its ground
truth and each model's prediction, as one PNG.

Rows are the axial, coronal and sagittal views; columns the T1 image, the
ground truth and the models. Volumes are ``[x, y, z]`` arrays in RAS order
(the grid the demo's pipeline gives). Each view is drawn with superior
(or, in the axial view, anterior) up and the patient's left on the left,
the neurological convention; sagittal views have anterior on the right.
Each view shows the slice with the most grey matter, the class with the
most boundary. Label maps use the Okabe-Ito colours, distinguishable with
colour-blindness, with a legend of the class names.
"""

import io
from typing import Dict, NamedTuple, Sequence, Tuple

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..fileio import atomic_write

#: Background, CSF, GM, WM.
CLASS_COLOURS = ('#000000', '#56B4E9', '#E69F00', '#F0E442')
#: (view, the axis its slice is fixed along).
VIEWS = (('axial', 2), ('coronal', 1), ('sagittal', 0))
GREY_MATTER = 2
#: Grey levels for T1, black where the volume is exactly zero.
T1_COLOURS = colormaps['gray'].with_extremes(bad='black')
PANEL_INCHES = 1.9
TITLE_INCHES = 0.5
#: The gap between rows, as a fraction of a row.
ROW_GAP = 0.08
LEGEND_INCHES = 0.45


class Panel(NamedTuple):
    """One column of the figure: a volume and its title."""

    title: str
    volume: np.ndarray
    is_label: bool


def richest_slices(
    truth: np.ndarray, label: int = GREY_MATTER
) -> Dict[str, int]:
    """The slice of each view with the most voxels of ``label``.

    Args:
        truth (np.ndarray): The ``[x, y, z]`` label volume.
        label (int): The class to count. Defaults to 2 (GM).

    Returns:
        dict[str, int]: The index along each view's fixed axis.
    """
    found = truth == label
    return {
        view: int(
            np.argmax(found.sum(axis=tuple(a for a in range(3) if a != fixed)))
        )
        for view, fixed in VIEWS
    }


def view_slice(volume: np.ndarray, view: str, index: int) -> np.ndarray:
    """A 2D slice laid out for ``imshow(origin='lower')``.

    Args:
        volume (np.ndarray): An ``[x, y, z]`` volume.
        view (str): ``'axial'``, ``'coronal'`` or ``'sagittal'``.
        index (int): The slice along the view's fixed axis.

    Returns:
        np.ndarray: Columns along the first of the two other axes, rows
        along the second: (x, y), (x, z) or (y, z) across and up.
    """
    fixed = dict(VIEWS)[view]
    return np.take(volume, index, axis=fixed).T


def draw_panels(
    panels: Sequence[Panel], slices: Dict[str, int], class_names: Sequence[str]
) -> Figure:
    """The figure: one row per view, one column per panel, a legend.

    Args:
        panels (Sequence[Panel]): The columns, left to right.
        slices (dict[str, int]): The slice index of each view.
        class_names (Sequence[str]): The legend's names, by label value.

    Returns:
        Figure: A figure on an Agg canvas.
    """
    shape = panels[0].volume.shape
    heights = [
        view_slice(panels[0].volume, view, slices[view]).shape[0]
        for view, _ in VIEWS
    ]
    scale = PANEL_INCHES / max(shape[0], shape[1])
    height = (
        scale * sum(heights) * (1 + ROW_GAP) + TITLE_INCHES + LEGEND_INCHES
    )
    figure = Figure(figsize=(PANEL_INCHES * len(panels), height))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        len(VIEWS),
        len(panels),
        height_ratios=heights,
        hspace=ROW_GAP,
        wspace=0.04,
        left=0.03,
        right=0.99,
        top=1 - TITLE_INCHES / height,
        bottom=LEGEND_INCHES / height,
    )
    labels = ListedColormap(CLASS_COLOURS[: len(class_names)])
    norm = BoundaryNorm(
        np.arange(len(class_names) + 1) - 0.5, len(class_names)
    )
    for row, (view, _) in enumerate(VIEWS):
        for column, panel in enumerate(panels):
            axes = figure.add_subplot(grid[row, column])
            plane = view_slice(panel.volume, view, slices[view])
            if panel.is_label:
                axes.imshow(
                    plane,
                    origin='lower',
                    cmap=labels,
                    norm=norm,
                    interpolation='nearest',
                )
            else:  # the template is zero outside the brain: black there
                axes.imshow(
                    np.ma.masked_equal(plane, 0),
                    origin='lower',
                    cmap=T1_COLOURS,
                )
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(panel.title, fontsize=10)
            if column == 0:
                axes.set_ylabel(view, fontsize=10)
    figure.legend(
        handles=[
            Patch(facecolor=colour, edgecolor='grey', label=name)
            for colour, name in zip(CLASS_COLOURS, class_names)
        ],
        loc='lower center',
        ncol=len(class_names),
        frameon=False,
        fontsize=10,
    )
    return figure


def save_mri_figure(
    path: str,
    image: np.ndarray,
    truth: np.ndarray,
    predictions: Sequence[Tuple[str, np.ndarray]],
    class_names: Sequence[str],
) -> Dict[str, int]:
    """Write the demo's PNG (atomically).

    Args:
        path (str): The PNG file.
        image (np.ndarray): The ``[x, y, z]`` T1 test volume.
        truth (np.ndarray): Its ``[x, y, z]`` labels.
        predictions (Sequence[tuple[str, np.ndarray]]): Each model's
            column title and ``[x, y, z]`` prediction.
        class_names (Sequence[str]): The class names, by label value.

    Returns:
        dict[str, int]: The slice index shown in each view.
    """
    slices = richest_slices(truth)
    panels = [
        Panel('T1 image', image, False),
        Panel('ground truth', truth, True),
    ]
    panels += [Panel(title, volume, True) for title, volume in predictions]
    figure = draw_panels(panels, slices, class_names)
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=100)
    atomic_write(path, buffer.getvalue())
    return slices
