"""Count the params and GFLOPs of the subnet a CAKES search currently
stands for."""

from typing import Optional, Sequence

from mmaction.registry import HOOKS

from ...input_shape import default_input_shape
from ...models.search import subnet_complexity
from ...models.utils import unwrap_model
from .search_interval_hook import SearchIntervalHook
from .search_state import derive_arch, progress


@HOOKS.register_module()
class EstimateResourcesHook(SearchIntervalHook):
    """Log the cost of the fixed network a CAKES search derives now.

    Every ``interval`` it counts the params (millions) and multiply-adds
    (GFLOPs) of the subnet the searched layers stand for
    (:func:`~cakes_mm.models.search.subnet_complexity`), logs them and
    sends them to the visualizer's backends as ``search/subnet_params_m``
    and ``search/subnet_gflops``. When α is not finite there is no subnet
    and it logs an error instead.

    :class:`CAKESSearchHook` includes this hook.

    Args:
        interval (int): Count every ``interval`` epochs (or iterations).
            Defaults to 1.
        by_epoch (bool): Whether ``interval`` counts epochs. Defaults to
            True.
        input_shape (Sequence[int], optional): The input (N, C, T, H, W)
            or (N, C, D, H, W) to count at. Defaults to the one the run's
            config feeds the model at test time
            (:func:`cakes_mm.input_shape.default_input_shape`).
    """

    def __init__(
        self,
        interval: int = 1,
        by_epoch: bool = True,
        input_shape: Optional[Sequence[int]] = None,
    ) -> None:
        super().__init__(interval, by_epoch)
        self.input_shape = input_shape

    def act(self, runner, when: str) -> None:
        """Count, log and visualise the subnet's params and GFLOPs."""
        if derive_arch(runner) is None:
            return
        shape = self.input_shape or default_input_shape(runner.cfg)
        complexity = subnet_complexity(unwrap_model(runner.model), shape)
        runner.logger.info(
            f'{progress(runner)}: subnet {complexity.params_m:.2f} M '
            f'params, {complexity.gflops:.2f} GFLOPs'
        )
        runner.visualizer.add_scalars(
            {
                'search/subnet_params_m': complexity.params_m,
                'search/subnet_gflops': complexity.gflops,
            },
            step=runner.iter + 1,
        )
