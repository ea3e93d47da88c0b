"""C kernels shipped as source in ``kernels/`` and compiled on first use.

Some CPU work has no fused operator in PyTorch (a training-mode batch norm
followed by ReLU makes five passes over memory where three do). The kernels
for it are small C files, compiled here, the first time a process asks for
them, with the machine's C compiler into a per-user cache, and loaded with
``ctypes``. They use OpenMP, and link to the OpenMP runtime PyTorch has
already loaded, so they share its threads.

Nothing here is needed: :func:`load` returns None, and its callers run
their PyTorch path, when

* ``CAKES_MM_NO_NATIVE_KERNELS`` is set (to anything but ``''`` or ``0``);
* the platform is not Linux, or PyTorch's OpenMP runtime is not GNU's
  ``libgomp`` (two runtimes in one process would fight over the cores);
* no C compiler is found (``$CC``, else ``cc`` or ``gcc`` on the ``PATH``),
  or it fails; a warning says which, once per process.

The cache is ``$CAKES_MM_KERNEL_CACHE``, else
``$XDG_CACHE_HOME/cakes_mm/kernels`` (``~/.cache/...``). Each library's name
carries a hash of its source, the flags, the compiler's version and the
CPU's feature flags, since ``-march=native`` code may not run on another
CPU that shares the home directory (the headers in ``kernels/`` count as
part of every source). A library is compiled to a temporary
file and renamed into place, so processes that compile at the same time do
not see each other's half-written files; the cache must be a directory of
this user's that nobody else may write to, or it is not used.
"""

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

KERNEL_SOURCES = Path(__file__).with_name('kernels')
DISABLE_ENV = 'CAKES_MM_NO_NATIVE_KERNELS'
CACHE_ENV = 'CAKES_MM_KERNEL_CACHE'
COMPILE_TIMEOUT_S = 300


def compile_flags() -> List[str]:
    """The compiler flags: optimised for this CPU, no fused multiply-adds
    (a kernel that recomputes a value must round it as it did the first
    time), OpenMP, a shared library."""
    flags = ['-O3', '-march=native', '-ffp-contract=off', '-fopenmp']
    if platform.machine() in ('x86_64', 'AMD64'):
        flags.append('-mprefer-vector-width=512')  # AVX-512 where there is
    return flags + ['-fPIC', '-shared']


def _disabled() -> bool:
    return os.environ.get(DISABLE_ENV, '') not in ('', '0')


def _shares_torch_openmp() -> bool:
    """Whether PyTorch runs on GNU OpenMP, already mapped into this process
    (Linux), which the kernels' ``libgomp`` dependency then resolves to."""
    if not sys.platform.startswith('linux'):
        return False
    if 'OpenMP' not in torch.__config__.parallel_info():
        return False
    try:
        maps = Path('/proc/self/maps').read_text()
    except OSError:
        return False
    return 'libgomp' in maps


def find_compiler() -> Optional[List[str]]:
    """The compiler's command: ``$CC`` (which may carry flags of its own),
    else ``cc`` or ``gcc`` on the ``PATH``, else None."""
    if os.environ.get('CC', '').strip():
        return shlex.split(os.environ['CC'])
    found = shutil.which('cc') or shutil.which('gcc')
    return [found] if found else None


def _cpu_flags() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith(('flags', 'Features')):
                return line
    except OSError:
        pass
    return platform.processor()


def cache_dir() -> Optional[Path]:
    """This user's kernel cache, made if missing; None where it cannot be
    made, is not this user's, or others may write to it.

    Returns:
        Path | None: The directory.
    """
    if os.environ.get(CACHE_ENV):
        path = Path(os.environ[CACHE_ENV])
    else:
        base = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
        path = Path(base) / 'cakes_mm' / 'kernels'
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    if hasattr(os, 'getuid') and info.st_uid != os.getuid():
        return None
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return path


def _library_path(name: str, compiler: List[str], folder: Path) -> Path:
    # The headers every source may include count as part of each source.
    source = b''.join(
        path.read_bytes()
        for path in [KERNEL_SOURCES / f'{name}.c']
        + sorted(KERNEL_SOURCES.glob('*.h'))
    )
    version = subprocess.run(
        [*compiler, '--version'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    digest = hashlib.sha256()
    for part in (
        source,
        ' '.join(compiler + compile_flags()),
        version,
        _cpu_flags(),
    ):
        digest.update(part if isinstance(part, bytes) else part.encode())
    return folder / f'{name}-{digest.hexdigest()[:16]}.so'


def _compile(name: str, compiler: List[str], target: Path) -> None:
    """Compile ``kernels/<name>.c`` into ``target``, atomically."""
    handle, partial = tempfile.mkstemp(
        dir=target.parent, prefix=f'.{name}-', suffix='.so'
    )
    os.close(handle)
    try:
        done = subprocess.run(
            [
                *compiler,
                *compile_flags(),
                str(KERNEL_SOURCES / f'{name}.c'),
                '-o',
                partial,
            ],
            capture_output=True,
            text=True,
            timeout=COMPILE_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-2000:])
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


@functools.lru_cache(maxsize=None)
def load(name: str) -> Optional[ctypes.CDLL]:
    """The compiled ``kernels/<name>.c``, compiled first if it is not in
    the cache; None where the kernels are off or cannot be had (see the
    module docstring), after one warning that says why.

    Args:
        name (str): The source's name without ``.c``.

    Returns:
        ctypes.CDLL | None: The loaded library.
    """
    if _disabled() or not _shares_torch_openmp():
        return None
    compiler = find_compiler()
    folder = cache_dir()
    why = None
    if compiler is None:
        why = 'no C compiler found ($CC, cc or gcc)'
    elif folder is None:
        why = 'no private cache directory (set $' + CACHE_ENV + ')'
    else:
        try:
            target = _library_path(name, compiler, folder)
            if not target.exists():
                _compile(name, compiler, target)
            return ctypes.CDLL(str(target))
        except (OSError, RuntimeError, subprocess.SubprocessError) as error:
            why = f'{compiler[0]} could not build {name}.c: {error}'
    warnings.warn(
        f"cakes_mm: the {name} kernels are off ({why}); PyTorch's own "
        f'operators run instead, correct but slower. Set {DISABLE_ENV}=1 '
        f'to silence this.',
        stacklevel=2,
    )
    return None


def bind(name: str, signatures: Dict[str, Sequence]) -> Optional[ctypes.CDLL]:
    """:func:`load` ``name``, with its functions' argument types set (the
    first time) and each returning a C ``int``.

    Args:
        name (str): The source's name without ``.c``.
        signatures (dict[str, Sequence]): Each function's ctypes argument
            types.

    Returns:
        ctypes.CDLL | None: The library, or None as :func:`load` gives.
    """
    library = load(name)
    if library is not None:
        for function_name, arguments in signatures.items():
            function = getattr(library, function_name)
            if function.argtypes is None:
                function.restype = ctypes.c_int
                function.argtypes = arguments
    return library


#: The dtypes the kernels read and write (``kernels/elements.h``).
ELEMENT_DTYPES = (torch.float32, torch.bfloat16)


def half_flag(t: torch.Tensor) -> int:
    """A kernel's element-type flag for ``t`` (``half`` in
    ``kernels/elements.h``): 1 for bfloat16, 0 for float32.

    Args:
        t (torch.Tensor): A tensor of one of :data:`ELEMENT_DTYPES`.

    Returns:
        int: The flag.
    """
    return int(t.dtype == torch.bfloat16)


FLOAT_POINTER = ctypes.POINTER(ctypes.c_float)


def float_pointer(t: Optional[torch.Tensor]):
    """A ``float *`` to ``t``'s data, NULL for None. The caller keeps ``t``
    alive for the call: the pointer does not.

    Args:
        t (torch.Tensor | None): A float32 tensor.

    Returns:
        ctypes.POINTER(ctypes.c_float) | None: The pointer.
    """
    return None if t is None else ctypes.cast(t.data_ptr(), FLOAT_POINTER)
