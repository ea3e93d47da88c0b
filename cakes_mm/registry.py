"""The ``cakes_mm`` registry scope, for configs inherited as ``cakes_mm::``.

mmengine tags every config inherited through ``_base_ =
['cakes_mm::family/config.py']`` with ``_scope_='cakes_mm'``, and then looks
for registries of that scope when it builds the model, datasets, hooks and
so on. Each registry here is an empty child of mmaction2's registry of the
same name: lookups fall through to mmaction2 (and from there to mmengine),
where the plugin registers its models, datasets and hooks. Their import
location is the plugin itself.
"""
from mmengine.registry import Registry

import mmaction.registry as mmaction_registry

SCOPE = 'cakes_mm'

#: Name in ``mmaction.registry`` -> the ``cakes_mm`` child registry.
REGISTRIES = {
    name: Registry(parent.name, parent=parent, scope=SCOPE,
                   locations=[SCOPE])
    for name, parent in vars(mmaction_registry).items()
    if isinstance(parent, Registry) and parent.scope == 'mmaction'
}
