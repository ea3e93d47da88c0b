"""The ``cakes_mm`` scope, for configs inherited as ``cakes_mm::``.

Two registrations, nothing patched for other packages:

* :func:`register_config_scope` lets mmengine find ``cakes_mm``'s configs;
* :data:`REGISTRIES` gives mmengine a registry per kind under the scope.

mmengine tags every config inherited through ``_base_ =
['cakes_mm::family/config.py']`` with ``_scope_='cakes_mm'``, and then looks
for registries of that scope when it builds the model, datasets, hooks and
so on. Each registry here is an empty child of mmaction2's registry of the
same name: lookups fall through to mmaction2 (and from there to mmengine),
where the plugin registers its models, datasets and hooks. Their import
location is the plugin itself.
"""

import os

import mmaction.registry as mmaction_registry
from mmengine.registry import Registry

SCOPE = 'cakes_mm'

#: Name in ``mmaction.registry`` -> the ``cakes_mm`` child registry.
REGISTRIES = {
    name: Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])
    for name, parent in vars(mmaction_registry).items()
    if isinstance(parent, Registry) and parent.scope == 'mmaction'
}


PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

#: The module mmengine is told to locate for the ``cakes_mm::`` scope: its
#: folder, :data:`PACKAGE_DIR`, holds ``.mim/configs``.
CONFIG_ANCHOR = f'{SCOPE}.registry'


def register_config_scope() -> None:
    """Let mmengine resolve ``_base_ = ['cakes_mm::family/config.py']``.

    mmengine resolves ``scope::path`` only for the scopes listed in its
    ``MODULE2PACKAGE`` table (mmengine 0.10 has no other way to add one),
    and looks the listed name up with its own ``get_installed_path``: a
    distribution's location joined with the name, else, for a name that is
    no distribution, the folder of the module found by ``find_spec``. The
    distribution's location is site-packages even for an editable install,
    where the package is not; so the scope is listed with
    :data:`CONFIG_ANCHOR`, which is no distribution, and mmengine's lookup
    finds its folder, :data:`PACKAGE_DIR`, however the package was
    installed. Adding this one entry is all: mmengine's functions are its
    own. A scope someone listed already is left as it is. The configs must
    be parsed after ``import cakes_mm``, as ``tools/train.py`` and
    ``tools/test.py`` do.
    """
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault(SCOPE, CONFIG_ANCHOR)
