"""``dict(type='cakes_search', op_set=[...], mode=..., derive=...)``: a
CAKES search supernet."""

from .registry import OPS, OpEntry, conversion_options


@OPS.register
class CAKESSearchOp(OpEntry):
    """Searched CAKES convs over ``op_set`` (at least two sub-kernels);
    ``mode`` is ``'performance'`` (the default) or ``'cost'``, ``derive``
    ``'argmax'`` (the default) or ``'topk'``."""

    name = 'cakes_search'
    required = ('op_set',)
    optional = ('mode', 'derive')
    built = False
    summary = 'a CAKES search supernet over op_set'

    def convert(self, model, spec, **options):
        """Each selected conv and its norm become one searched conv."""
        from ..convert.converters import convert_to_cakes_supernet

        taken = ('include', 'exclude', 'input_shape', 'strict', 'add_norm')
        return convert_to_cakes_supernet(
            model,
            spec['op_set'],
            spec.get('mode', 'performance'),
            spec.get('derive', 'argmax'),
            **conversion_options(options, *taken),
        )
