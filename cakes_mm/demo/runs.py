"""What both demos do with each model: load its config, train and test it,
measure it, and print the table of all of them.

The video demo (:mod:`cakes_mm.demo.video_demo`) and the MRI demo
(:mod:`cakes_mm.demo.mri_demo`) differ in their data, their scores and
their tables' columns; the rest is here.
"""

import os.path as osp
import time
from typing import Callable, Dict, NamedTuple, Sequence

from mmengine.hooks import Hook

from .progress import SHOWN_METRICS, build_demo_runner

Echo = Callable[[str], None]


class Result(NamedTuple):
    """One model's row of a demo's table, and where its run is.

    Args:
        name (str): The model's name in the table.
        scores (dict[str, float]): Its test metrics in percent, by the
            evaluator's key (``'acc/top1'``, ``'dice/mean'``, ...).
        params_m (float): Its params, in millions.
        gflops (float): Its multiply-adds on one input, in billions.
        minutes (float): Its training and testing time.
        config (str): The config it was trained with.
        checkpoint (str): Its last checkpoint.
    """

    name: str
    scores: Dict[str, float]
    params_m: float
    gflops: float
    minutes: float
    config: str
    checkpoint: str


class Column(NamedTuple):
    """One column of a demo's table.

    Args:
        header (str): Its heading.
        width (int): Its width, right-aligned.
        digits (int): Digits after the point.
        value (Callable[[Result], float]): Its value in a row.
    """

    header: str
    width: int
    digits: int
    value: Callable[[Result], float]


#: The params column of both demos' tables.
PARAMS = Column('params (M)', 12, 3, lambda row: row.params_m)
#: The minutes column of both demos' tables.
MINUTES = Column('minutes', 9, 1, lambda row: row.minutes)


def gflops_column(width: int, digits: int) -> Column:
    """The GFLOPs column, as wide and precise as a demo shows it.

    Args:
        width (int): Its width.
        digits (int): Digits after the point.

    Returns:
        Column: The column.
    """
    return Column('GFLOPs', width, digits, lambda row: row.gflops)


def load_demo_config(
    configs_dir: str, config: str, work_dir: str, seed: int, verbose: bool
):
    """Load a demo config with this run's work dir, seed and log level.

    Args:
        configs_dir (str): The folder of the demo configs.
        config (str): The config's file name.
        work_dir (str): The model's work dir.
        seed (int): The training seed.
        verbose (bool): Log mmengine's INFO lines; else WARNING and up.

    Returns:
        Config: The config; its data is for the demo to point at.
    """
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(configs_dir, config))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    cfg.log_level = 'INFO' if verbose else 'WARNING'
    return cfg


def measure(model, input_shape: Sequence[int]):
    """The params and multiply-adds of a trained model; a search supernet
    is counted as the subnet it froze.

    Args:
        model (nn.Module): The model.
        input_shape (Sequence[int]): One input's shape.

    Returns:
        Complexity: Its params and multiply-adds.
    """
    from cakes_mm.analysis import model_complexity
    from cakes_mm.models.search import search_layers, subnet_complexity

    if search_layers(model):
        return subnet_complexity(model, input_shape)
    return model_complexity(model, input_shape)


def train_and_test(
    name: str,
    cfg,
    input_shape: Sequence[int],
    plan: str,
    echo: Echo,
    hooks: Sequence[Hook] = (),
) -> Result:
    """Train one demo model, test it, measure it, and say so.

    Args:
        name (str): The model's name in the table and progress lines.
        cfg (Config): Its config.
        input_shape (Sequence[int]): The input its GFLOPs count.
        plan (str): What the training line says after the model's name.
        echo (Callable[[str], None]): Where progress lines go.
        hooks (Sequence[Hook]): More hooks for its runner. Defaults to none.

    Returns:
        Result: The model's row.
    """
    started = time.monotonic()
    echo(f'[{name}] training {plan}')
    runner = build_demo_runner(cfg, name, echo)
    for hook in hooks:
        runner.register_hook(hook)
    runner.train()
    metrics = runner.test()
    complexity = measure(runner.model, input_shape)
    minutes = (time.monotonic() - started) / 60
    scores = {key: 100 * value for key, value in metrics.items()}
    key, label = next(pair for pair in SHOWN_METRICS if pair[0] in scores)
    echo(
        f'[{name}] test {label} {scores[key]:.1f}% ({minutes:.1f} min in all)'
    )
    return Result(
        name,
        scores,
        complexity.params_m,
        complexity.gflops,
        minutes,
        cfg.filename,
        osp.join(cfg.work_dir, f'epoch_{runner.epoch}.pth'),
    )


def format_table(
    results: Sequence[Result],
    name_width: int,
    columns: Sequence[Column],
    footnote: str,
) -> str:
    """A demo's closing table, as text.

    Args:
        results (Sequence[Result]): The rows.
        name_width (int): The width of the model names, left-aligned.
        columns (Sequence[Column]): The columns after the names.
        footnote (str): The line saying what the figures are.

    Returns:
        str: The table and its footnote.
    """
    lines = [
        f'{"model":<{name_width}}'
        + ''.join(f'{column.header:>{column.width}}' for column in columns)
    ]
    for row in results:
        lines.append(
            f'{row.name:<{name_width}}'
            + ''.join(
                f'{column.value(row):>{column.width}.{column.digits}f}'
                for column in columns
            )
        )
    lines.append(footnote)
    return '\n'.join(lines)
