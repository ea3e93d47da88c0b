import pytest

from cakes_mm.models.layers.sub_kernels import (
    SUB_KERNEL_NAMES,
    check_op_set,
    default_cost_weights,
    kernel_size,
    kernel_volume,
    same_padding,
)


def test_every_name_spells_its_size():
    expected = {
        'kxkxk': (3, 3, 3),
        '1xkxk': (1, 3, 3),
        'kx1x1': (3, 1, 1),
        'kxkx1': (3, 3, 1),
        'kx1xk': (3, 1, 3),
        '1xkx1': (1, 3, 1),
        '1x1xk': (1, 1, 3),
    }
    assert set(SUB_KERNEL_NAMES) == set(expected)
    for name, size in expected.items():
        assert kernel_size(name) == size
        assert same_padding(name) == tuple(s // 2 for s in size)
    assert kernel_size('kx1xk', k=5) == (5, 1, 5)


def test_cost_weights_are_the_papers():
    beta = default_cost_weights(['kxkxk', '1xkxk', 'kx1x1'])
    assert beta == pytest.approx(
        {'kxkxk': 9 / 13, '1xkxk': 3 / 13, 'kx1x1': 1 / 13}
    )
    assert kernel_volume('1x1xk') == 3


def test_bad_names_and_op_sets():
    with pytest.raises(ValueError, match="unknown sub-kernel name '3x3x3'"):
        kernel_size('3x3x3')
    with pytest.raises(ValueError, match='more than once'):
        check_op_set(['1xkxk', '1xkxk'])
    with pytest.raises(ValueError, match='at least 2'):
        check_op_set(['1xkxk'], min_ops=2)
    with pytest.raises(ValueError, match='must be a list'):
        check_op_set('1xkxk')
