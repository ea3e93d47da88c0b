import json
import os

import pytest

from cakes_mm.models.arch import released_archs, resolve_arch, save_arch
from cakes_mm.models.layers.sub_kernels import uniform_split

WIDTHS = [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
NAMES = [
    f'layer{i + 1}.{j}' for i, n in enumerate((3, 4, 6, 3)) for j in range(n)
]


def test_uniform_split_gives_the_remainder_to_the_first_op():
    assert uniform_split(64, ['kxkxk', '1xkxk', 'kx1x1']) == {
        'kxkxk': 22,
        '1xkxk': 21,
        'kx1x1': 21,
    }
    assert list(uniform_split(64, ['kx1x1', '1xkxk'])) == ['kx1x1', '1xkxk']
    arch = resolve_arch('uniform', WIDTHS, NAMES, ['1xkxk', 'kx1x1'])
    assert [sum(b.values()) for b in arch] == WIDTHS


def test_the_six_released_archs_resolve_by_name():
    archs = released_archs()
    assert sorted(archs) == sorted(
        [
            'CAKES12D_P',
            'CAKES12D_C',
            'CAKES23D_P',
            'CAKES23D_C',
            'CAKES123D_P',
            'CAKES123D_C',
        ]
    )
    for name, arch in archs.items():
        assert resolve_arch(name, WIDTHS, NAMES) == arch


def test_json_round_trip_keeps_counts_and_order(tmp_path):
    arch = released_archs()['CAKES123D_C']
    path = save_arch(arch, str(tmp_path / 'sub' / 'arch.json'))
    loaded = resolve_arch(path, WIDTHS, NAMES)
    assert loaded == arch
    assert [list(b) for b in loaded] == [list(b) for b in arch]
    assert os.listdir(tmp_path / 'sub') == ['arch.json']


@pytest.mark.parametrize(
    'arch, message',
    [
        ([{'1xkxk': 64}] * 15, 'has 15 blocks, but this backbone has 16'),
        (
            [{'1xkxk': 60}] + [{'1xkxk': w} for w in WIDTHS[1:]],
            r'block 0 \(layer1.0, width 64\).*sum to 60, expected the block width'
            ' 64',
        ),
        (
            [{'1xkxk': w} for w in WIDTHS[:5]]
            + [{'2d': 128}]
            + [{'1xkxk': w} for w in WIDTHS[6:]],
            r'block 5 \(layer2.2, width 128\): unknown sub-kernel name',
        ),
        (
            [{'1xkxk': w} for w in WIDTHS[:13]]
            + [{'1xkxk': 600, 'kx1x1': -88}]
            + [{'1xkxk': w} for w in WIDTHS[14:]],
            r'block 13 \(layer4.0, width 512\).*negative \(-88\)',
        ),
        (
            [{'1xkxk': 64.0}] + [{'1xkxk': w} for w in WIDTHS[1:]],
            'must be an int',
        ),
        ({'archs': []}, 'must be a list of 16 dicts'),
    ],
)
def test_bad_archs_name_the_block_and_width(arch, message):
    with pytest.raises(ValueError, match=message):
        resolve_arch(arch, WIDTHS, NAMES)


def test_bad_files_and_names(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('[\n{"1xkxk": 64},\n{"1xkxk": 64,,}\n]')
    with pytest.raises(ValueError, match=r'broken.json: line 3, column'):
        resolve_arch(str(broken), WIDTHS, NAMES)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        resolve_arch(str(tmp_path / 'missing.json'), WIDTHS, NAMES)
    with pytest.raises(ValueError, match='neither .*CAKES123D_P'):
        resolve_arch('CAKES99D', WIDTHS, NAMES)
    with pytest.raises(ValueError, match='needs op_set'):
        resolve_arch('uniform', WIDTHS, NAMES)
    good = tmp_path / 'good.json'
    good.write_text(json.dumps(released_archs()['CAKES12D_C']))
    assert len(resolve_arch(str(good), WIDTHS, NAMES)) == 16
