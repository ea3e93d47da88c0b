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


def register_config_scope() -> None:
    """Let mmengine resolve ``_base_ = ['cakes_mm::family/config.py']``.

    mmengine resolves ``scope::path`` only for the packages listed in its
    ``MODULE2PACKAGE``, and finds a package's ``.mim`` folder from its
    distribution's location, which for an editable install is
    site-packages rather than the source tree. This adds ``cakes_mm`` to the
    list and answers the location lookup for ``cakes_mm`` with this package's
    folder, whichever way it was installed. Other packages are looked up as
    before. The configs must be parsed after ``import cakes_mm``, as
    ``tools/train.py`` and ``tools/test.py`` do.
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils

    config_utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    lookup = config_module.get_installed_path
    if getattr(lookup, 'answers_cakes_mm', False):
        return

    def get_installed_path(package: str) -> str:
        """mmengine's lookup, with this folder as the answer for cakes_mm."""
        return PACKAGE_DIR if package == SCOPE else lookup(package)

    get_installed_path.answers_cakes_mm = True
    config_module.get_installed_path = get_installed_path
