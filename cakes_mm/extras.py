"""The optional halves of cakes_mm and the packages they bring.

A tool that needs one calls :func:`require_extra` first: without the extra
it ends with one line naming the extra and the install command, not with a
traceback from deep inside an import.
"""

import importlib
from types import ModuleType

#: The modules each extra of ``pyproject.toml`` brings.
EXTRAS = {
    'volumetric': (
        'fire',
        'monai',
        'nibabel',
        'nilearn',
        'scipy',
        'skimage',
    ),
    'deploy': ('onnx', 'onnxruntime'),
}


def missing_modules(*modules: str) -> list:
    """The modules among ``modules`` that cannot be imported.

    Args:
        *modules (str): Top-level module names, e.g. ``'nibabel'``.

    Returns:
        list[str]: Those that are not installed, in the given order.
    """
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # installed, but broken inside
                raise
            missing.append(name)
    return missing


def require_extra(extra: str, tool: str) -> None:
    """End the program with one line if a module of ``extra`` is missing.

    Args:
        extra (str): A key of :data:`EXTRAS`, e.g. ``'volumetric'``.
        tool (str): The tool's file name, for the message.

    Raises:
        SystemExit: ``<tool> needs the '<extra>' extra (<module> is
            missing): pip install -e ".[<extra>]"``, exit status 1.
    """
    missing = missing_modules(*EXTRAS[extra])
    if missing:
        raise SystemExit(
            f"{tool} needs the '{extra}' extra ({', '.join(missing)} "
            f'{"is" if len(missing) == 1 else "are"} missing): '
            f'pip install -e ".[{extra}]"'
        )


class MissingExtraError(ImportError):
    """A module of an optional extra is not installed; the message names
    the extra and the install command."""


def import_from_extra(module: str, extra: str, user: str) -> ModuleType:
    """Import ``module``, which ``extra`` brings, where it is first needed.

    The package imports the optional halves' modules lazily, so that
    ``import cakes_mm`` (and every tool) stays quick without them.

    Args:
        module (str): The module, e.g. ``'monai.transforms'``.
        extra (str): A key of :data:`EXTRAS`, e.g. ``'volumetric'``.
        user (str): What needs it, for the message.

    Returns:
        ModuleType: The module.

    Raises:
        MissingExtraError: ``<user> needs the '<extra>' extra (<module> is
            missing): pip install -e ".[<extra>]"``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if not f'{module}.'.startswith(f'{error.name}.'):
            raise  # installed, but broken inside
        raise MissingExtraError(
            f"{user} needs the '{extra}' extra "
            f'({module.split(".")[0]} is missing): '
            f'pip install -e ".[{extra}]"',
            name=error.name,
        ) from None
