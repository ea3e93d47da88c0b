"""The optional halves of cakes_mm and the packages they bring.

A tool that needs one calls :func:`require_extra` first: without the extra
it ends with one line naming the extra and the install command, not with a
traceback from deep inside an import.
"""

import importlib

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
