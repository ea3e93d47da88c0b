"""The op vocabulary: one registered entry per op type, one file each.

Every entry point that can use CAKES or PmSCn takes the same
``op=dict(type=..., ...)``:

* ``dict(type='conv3d')``: plain k x k x k convs;
* ``dict(type='conv2d')``: planar convs (3x3x1; 1x3x3 over T, H, W for
  video);
* ``dict(type='p3d')``: a planar conv then a 1D conv;
* ``dict(type='cakes', arch=... | op_set=[...])``: fixed CAKES convs;
* ``dict(type='cakes_search', op_set=[...], mode=..., derive=...)``: a
  CAKES search supernet;
* ``dict(type='pmscn', m=..., n=...)``: PmSCn units.

Importing this package only registers the entries.
"""

from . import cakes, cakes_search, conv2d, conv3d, p3d, pmscn  # noqa: F401
from .legacy import from_old_keywords
from .registry import (
    OPS,
    RENAMED_OPS,
    OpEntry,
    OpRegistry,
    OpSpec,
    describe_types,
    format_op,
    parse_op,
)

__all__ = [
    'OPS',
    'RENAMED_OPS',
    'OpEntry',
    'OpRegistry',
    'OpSpec',
    'describe_types',
    'format_op',
    'from_old_keywords',
    'parse_op',
]
