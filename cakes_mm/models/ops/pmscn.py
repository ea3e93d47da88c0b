"""``dict(type='pmscn', m=..., n=...)``: PmSCn units."""

from typing import Any, Dict

from ..layers.pmscn import check_streams
from .registry import OPS, OpEntry, conversion_options


@OPS.register
class PmSCnOp(OpEntry):
    """m parallel streams (1..3), each of n 2D convs and one 1D conv; with
    n >= 2 a unit replaces a pair of consecutive convs where the network
    has them."""

    name = 'pmscn'
    required = ('m', 'n')
    built = False
    summary = 'PmSCn units: m streams of n 2D convs and one 1D conv'

    def check(self, spec: Dict[str, Any]) -> None:
        """m and n in range."""
        check_streams(spec['m'], spec['n'])

    def convert(self, model, spec, **options):
        """Selected convs (or pairs of them) become PmSCn units."""
        from ..convert.converters import convert_to_pmscn

        taken = ('include', 'exclude', 'input_shape', 'replaces', 'strict')
        return convert_to_pmscn(
            model,
            spec['m'],
            spec['n'],
            **conversion_options(options, *taken),
        )
