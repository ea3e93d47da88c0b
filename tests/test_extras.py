"""A tool without its optional extra ends with one line naming the extra."""

import os
import os.path as osp
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cakes_mm.extras import (
    EXTRAS,
    MissingExtraError,
    import_from_extra,
    missing_modules,
    require_extra,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def extra_distributions(extra):
    """The distributions ``pyproject.toml`` lists under ``extra``."""
    requirements = map(Requirement, metadata.requires('cakes_mm'))
    return {
        canonicalize_name(r.name)
        for r in requirements
        if r.marker
        and r.marker.evaluate({'extra': extra})
        and not r.marker.evaluate({'extra': ''})
        and r.name != 'cakes_mm'
    }


@pytest.mark.parametrize('extra', sorted(EXTRAS))
def test_the_modules_are_those_of_the_extra(extra):
    owners = metadata.packages_distributions()
    assert {
        canonicalize_name(owners[module][0]) for module in EXTRAS[extra]
    } == extra_distributions(extra)


def test_installed_modules_pass_and_broken_ones_raise(monkeypatch):
    assert missing_modules('json', 'onnx') == []
    require_extra('deploy', 'export_onnx.py')
    monkeypatch.setitem(sys.modules, 'onnx', None)
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    assert missing_modules('json', 'onnx', 'onnxruntime') == [
        'onnx',
        'onnxruntime',
    ]


def test_a_missing_module_ends_with_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'nibabel', None)
    with pytest.raises(SystemExit) as exit_info:
        require_extra('volumetric', 'run_mri_demo.py')
    assert str(exit_info.value) == (
        "run_mri_demo.py needs the 'volumetric' extra (nibabel is missing):"
        ' pip install -e ".[volumetric]"'
    )


# Each tool run with one module of its extra hidden, as if not installed.
HIDE_AND_RUN = """
import runpy, sys
sys.modules[sys.argv[1]] = None
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    'module, tool, extra',
    [
        ('nibabel', 'tools/demo/run_mri_demo.py', 'volumetric'),
        ('onnx', 'tools/deployment/export_onnx.py', 'deploy'),
    ],
)
def test_tools_without_their_extra_say_so(module, tool, extra):
    args = ['a.py', 'a.pth', '--out', 'a.onnx'] if extra == 'deploy' else []
    result = subprocess.run(
        [sys.executable, '-c', HIDE_AND_RUN, module, tool, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, 'PYTHONPATH': REPO},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (
        f"{osp.basename(tool)} needs the '{extra}' extra ({module} is "
        f'missing): pip install -e ".[{extra}]"'
    )


def test_import_from_extra_names_the_extra_only_when_it_is_missing(
    monkeypatch, tmp_path
):
    assert import_from_extra('json.decoder', 'deploy', 'X').__name__ == (
        'json.decoder'
    )
    # a package nobody installed (a name no earlier test can have imported)
    with pytest.raises(MissingExtraError) as missing:
        import_from_extra('not_installed_anywhere.helper', 'deploy', 'X')
    assert str(missing.value) == (
        "X needs the 'deploy' extra (not_installed_anywhere is missing): "
        'pip install -e ".[deploy]"'
    )
    # installed, but one of its own imports fails: the error is its own
    (tmp_path / 'half_installed.py').write_text('import no_such_module\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match='no_such_module'):
        import_from_extra('half_installed', 'deploy', 'X')
