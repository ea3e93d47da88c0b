"""``dict(type='cakes', arch=... | op_set=[...])``: fixed CAKES convs."""

from typing import Any, Dict

from .registry import OPS, OpEntry, conversion_options


@OPS.register
class CAKESOp(OpEntry):
    """Fixed CAKES convs: ``arch`` (a list, a JSON file of one, a released
    name, or ``'uniform'`` with ``op_set``) or ``op_set`` alone (a uniform
    split of each conv's channels over those sub-kernels)."""

    name = 'cakes'
    optional = ('arch', 'op_set')
    built = False
    summary = 'fixed CAKES convs, from an arch or a uniform op_set'

    def check(self, spec: Dict[str, Any]) -> None:
        """Refuse a spec with neither ``arch`` nor ``op_set``."""
        if spec.get('arch') is None and spec.get('op_set') is None:
            raise ValueError(
                "type='cakes' needs arch=[...] (a list, a JSON file "
                'or a released name) or op_set=[...] (a uniform split)'
            )

    def convert(self, model, spec, **options):
        """Each selected conv becomes a fixed CAKES conv."""
        from ..convert.converters import convert_to_cakes

        return convert_to_cakes(
            model,
            spec.get('arch'),
            spec.get('op_set'),
            **conversion_options(options, 'include', 'exclude', 'strict'),
        )
