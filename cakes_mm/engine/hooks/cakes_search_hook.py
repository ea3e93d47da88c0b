"""The hook that runs a CAKES search inside mmengine's training loop, for
any model that contains searched layers."""

import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...analysis import default_input_shape
from ...models.arch import Arch, save_arch
from ...models.layers import spanned_axes
from ...models.search import (
    CAKESSearchConv3d,
    dump_chosen,
    fix_chosen,
    is_frozen,
    search_layers,
    share_path_generator,
    subnet_complexity,
)


def axis_counts(arch: Arch) -> Tuple[int, int, int]:
    """How many chosen op channels span each of the three axes.

    A channel counts once for every axis its sub-kernel spans (a 3x3x3 op
    for all three, 1x3x3 for the last two), as in the CAKES paper §4.3.

    Args:
        arch (list[dict[str, int]]): Op name to channel count, per layer.

    Returns:
        tuple[int, int, int]: The counts, axis by axis.
    """
    counts = [0, 0, 0]
    for choice in arch:
        for op, channels in choice.items():
            for axis, spans in enumerate(spanned_axes(op)):
                counts[axis] += channels * spans
    return tuple(counts)


@HOOKS.register_module()
class CAKESSearchHook(Hook):
    """Log, export and freeze the architecture of a CAKES search.

    It works on any model with searched layers
    (:func:`~cakes_mm.models.search.search_layers`): the CAKES ResNet
    supernet, or any network converted with ``CAKESConverted(search=...)``.
    Every ``interval`` it logs each searched layer's op shares and α
    statistics, and the params and GFLOPs of the derived subnet, to the log
    and (as scalars) to the visualizer's backends; on a model with
    ``axis_names`` (the volumetric segmentors: D, H, W), also how many
    chosen op channels span each axis (``search/axis_D``, ...); and writes
    ``arch_epoch_{N}.json`` (or ``arch_iter_{N}.json``) and
    ``arch_latest.json``. At the end of epoch
    ``freeze_at`` it fixes the derived choice (no more sampling; unchosen
    filters are neither computed nor updated) and writes
    ``arch_frozen.json``. After training it writes ``arch_final.json``. Only
    rank 0 writes, and every write is atomic.

    The generator that draws the performance-priority paths is seeded from
    the run's seed, shared by every searched layer and saved in each
    checkpoint, so a resumed search draws the same paths.

    Args:
        interval (int): Report every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
        freeze_at (int, optional): The epoch after which the choice is
            frozen; None never freezes. Defaults to None.
        out_dir (str, optional): Where the JSON files go. Defaults to the
            runner's ``work_dir``.
        input_shape (Sequence[int], optional): Input shape for the
            subnet's GFLOPs. Defaults to the config's test input.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        interval: int = 1,
        by_epoch: bool = True,
        freeze_at: Optional[int] = None,
        out_dir: Optional[str] = None,
        input_shape: Optional[Sequence[int]] = None,
    ) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if freeze_at is not None and (
            isinstance(freeze_at, bool)
            or not isinstance(freeze_at, int)
            or freeze_at < 1
        ):
            raise ValueError(
                f'freeze_at must be an epoch >= 1 or None, got {freeze_at!r}'
            )
        self.interval = interval
        self.by_epoch = by_epoch
        self.freeze_at = freeze_at
        self.out_dir = out_dir
        self.input_shape = input_shape
        self._pin_handles: List = []
        self.path_generator: Optional[torch.Generator] = None

    @staticmethod
    def layers(runner) -> List[Tuple[str, CAKESSearchConv3d]]:
        """The runner's searched layers, or a clear error."""
        layers = search_layers(runner.model)
        if not layers:
            raise ValueError(
                f'CAKESSearchHook: the model ({type(runner.model).__name__})'
                f' has no searchable layer (CAKESSearchConv3d); use a '
                f'supernet such as CAKESResNetSupernet, or convert a network '
                f"with CAKESConverted(search='performance' or 'cost')"
            )
        return layers

    def before_run(self, runner) -> None:
        """Check the setup and seed the path generator from the run."""
        self.layers(runner)
        if self.freeze_at is not None and self.freeze_at > runner.max_epochs:
            raise ValueError(
                f'CAKESSearchHook: freeze_at={self.freeze_at} is beyond '
                f'max_epochs={runner.max_epochs}; the choice would never '
                f'be frozen'
            )
        self.out_dir = self.out_dir or runner.work_dir
        seed = runner.seed if runner.seed is not None else 0
        self.path_generator = share_path_generator(runner.model, seed)

    def before_train(self, runner) -> None:
        """A run resumed after the freeze stays frozen and pinned."""
        if is_frozen(runner.model):
            runner.logger.info('CAKES search: resumed on a frozen choice')
            self._pin_unchosen(runner)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        """Report every ``interval`` iterations when not by epoch."""
        if not self.by_epoch and self.every_n_train_iters(
            runner, self.interval
        ):
            self._report(runner, f'arch_iter_{runner.iter + 1}.json')

    def after_train_epoch(self, runner) -> None:
        """Report every ``interval`` epochs; freeze at ``freeze_at``."""
        epoch = runner.epoch + 1
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self._report(runner, f'arch_epoch_{epoch}.json')
        if self.freeze_at == epoch and not is_frozen(runner.model):
            arch = self._derive(runner)
            if arch is None:
                return
            fix_chosen(runner.model)
            self._pin_unchosen(runner)
            self._write(arch, 'arch_frozen.json')
            runner.logger.info(
                f'CAKES search: froze the architecture after epoch {epoch}; '
                f'training continues on the fixed subnet '
                f'({osp.join(self.out_dir, "arch_frozen.json")})'
            )

    def after_train(self, runner) -> None:
        """Write the final architecture."""
        arch = self._derive(runner)
        if arch is not None:
            self._write(arch, 'arch_final.json')
            runner.logger.info(
                'CAKES search: final architecture written to '
                f'{osp.join(self.out_dir, "arch_final.json")}'
            )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the path generator's state with the checkpoint."""
        checkpoint['cakes_search'] = dict(
            path_generator=self.path_generator.get_state()
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the path generator's state from a checkpoint."""
        state = checkpoint.get('cakes_search', {}).get('path_generator')
        if state is not None:
            self.path_generator.set_state(state)

    def _derive(self, runner) -> Optional[Arch]:
        """The current arch, or None (logged) when α is not finite."""
        try:
            return dump_chosen(runner.model)
        except ValueError as error:
            runner.logger.error(
                f'CAKES search: no architecture exported at '
                f'iteration {runner.iter}: {error}'
            )
            return None

    def _write(self, arch: Arch, name: str) -> None:
        """Write an arch JSON atomically, on rank 0 only."""
        if is_main_process():
            save_arch(arch, osp.join(self.out_dir, name))

    def _report(self, runner, name: str) -> None:
        """Log op shares, α statistics and the subnet's cost; write JSON."""
        layers = self.layers(runner)
        arch = self._derive(runner)
        if arch is None:
            return
        scalars = self._scalars(layers, arch)
        params_m, gflops = self._subnet_complexity(runner)
        scalars.update(
            {
                'search/subnet_params_m': params_m,
                'search/subnet_gflops': gflops,
            }
        )
        lines = [
            f'CAKES search at epoch {runner.epoch + 1}, iteration '
            f'{runner.iter + 1}: subnet {params_m:.2f} M params, '
            f'{gflops:.2f} GFLOPs'
        ]
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        axes = getattr(model, 'axis_names', None)
        if axes:
            counts = dict(zip(axes, axis_counts(arch)))
            scalars.update(
                {f'search/axis_{axis}': n for axis, n in counts.items()}
            )
            lines[0] += '; op channels spanning ' + ', '.join(
                f'{axis} {n}' for axis, n in counts.items()
            )
        for (layer_name, layer), choice in zip(layers, arch):
            width = sum(choice.values())
            shares = ' '.join(
                f'{op} {n / width:.2f}' for op, n in choice.items()
            )
            alpha = layer.alpha
            lines.append(
                f'  {layer_name}: {shares} | alpha mean '
                f'{alpha.mean():.3f} max {alpha.max():.3f}'
            )
        runner.logger.info('\n'.join(lines))
        runner.visualizer.add_scalars(scalars, step=runner.iter + 1)
        self._write(arch, name)
        self._write(arch, 'arch_latest.json')

    @staticmethod
    def _scalars(
        layers: List[Tuple[str, CAKESSearchConv3d]], arch: Arch
    ) -> Dict[str, float]:
        """Per-layer op shares and α means, plus overall op shares."""
        scalars, totals = {}, {}
        for (name, layer), choice in zip(layers, arch):
            width = sum(choice.values())
            alpha = layer.alpha
            for o, (op, count) in enumerate(choice.items()):
                scalars[f'search/{name}/share_{op}'] = count / width
                scalars[f'search/{name}/alpha_mean_{op}'] = float(
                    alpha[o].mean()
                )
                totals[op] = totals.get(op, 0) + count
        channels = sum(totals.values())
        scalars.update(
            {f'search/share_{op}': n / channels for op, n in totals.items()}
        )
        return scalars

    def _subnet_complexity(self, runner) -> Tuple[float, float]:
        """Params (M) and GFLOPs of the fixed network the model stands
        for."""
        shape = self.input_shape or default_input_shape(runner.cfg)
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        complexity = subnet_complexity(model, shape)
        return complexity.params_m, complexity.gflops

    def _pin_unchosen(self, runner) -> None:
        """Keep the optimizer from moving the rows a frozen choice drops.

        Unchosen filters get no gradient (they are not computed), but
        weight decay and momentum would still move them. Around every step
        their values are restored and their optimizer state zeroed.
        """
        for handle in self._pin_handles:
            handle.remove()
        rows = [
            row
            for _, layer in self.layers(runner)
            for row in layer.unchosen_rows()
        ]
        optimizer = runner.optim_wrapper.optimizer
        saved = []

        def keep(opt, args, kwargs):
            saved[:] = [(p, idx, p.detach()[idx].clone()) for p, idx in rows]

        def restore(opt, args, kwargs):
            with torch.no_grad():
                for p, idx, value in saved:
                    p[idx] = value
                    for state in opt.state.get(p, {}).values():
                        if torch.is_tensor(state) and state.shape == p.shape:
                            state[idx] = 0

        self._pin_handles = [
            optimizer.register_step_pre_hook(keep),
            optimizer.register_step_post_hook(restore),
        ]
