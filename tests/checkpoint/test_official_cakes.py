"""cakes_mm.checkpoint.official_cakes: the CAKES authors' checkpoints load
into our recognizer and give the authors' class scores; anything else is
refused with one line naming the file and the block or key at fault."""

import os

import pytest
import torch

from cakes_mm.checkpoint import (
    OfficialCheckpointError,
    convert_official_state_dict,
    load_official_state_dict,
    read_class_names,
    reorder_classes,
)
from cakes_mm.datasets import BadAnnotationError
from cakes_mm.models import released_archs
from checkpoint.authors_reference import (
    authors_input,
    authors_model,
    authors_state_dict,
    meta_authors_state_dict,
)
from checkpoint.recognizer_helpers import (
    assert_same_scores,
    our_logits,
    our_recognizer,
)

ARCHS = [*released_archs(), 'c2d', 'c3d', 'p3d']
FRAMES = 4
BASE = 'module.base_model.'


def random_clip() -> torch.Tensor:
    """A (3, T, 64, 64) clip of 0-255 pixels."""
    return torch.randint(0, 256, (3, FRAMES, 64, 64)).float()


@pytest.mark.parametrize('arch', ARCHS)
def test_converted_weights_give_the_authors_scores(arch):
    reference = authors_model(arch, FRAMES)
    state = convert_official_state_dict(authors_state_dict(reference), arch)
    model = our_recognizer(arch)
    model.load_state_dict(state, strict=True)
    clip = random_clip()
    with torch.no_grad():
        expected = reference(authors_input(clip))
    assert_same_scores(our_logits(model, clip), expected)


def test_cakes123d_c_groups_are_reordered():
    """CAKES123D_C lists 1xkxk before kxkxk; the authors store kxkxk first.
    layer1.0 is {1xkxk: 38, kxkxk: 2, kx1x1: 24}: our bn2 and conv3's input
    channels are the authors' [2:40], [0:2], [40:64]. Without the reordering
    the scores differ, so the scores test above can tell."""
    reference = authors_model('CAKES123D_C', FRAMES)
    authors = authors_state_dict(reference)
    state = convert_official_state_dict(authors, 'CAKES123D_C')
    order = torch.cat(
        [torch.arange(2, 40), torch.arange(0, 2), torch.arange(40, 64)]
    )
    for param in ('weight', 'bias', 'running_mean', 'running_var'):
        assert torch.equal(
            state[f'backbone.layer1.0.bn2.{param}'],
            authors[f'{BASE}layer1.0.convT.out.0.{param}'][order],
        )
    assert torch.equal(
        state['backbone.layer1.0.conv3.weight'],
        authors[f'{BASE}layer1.0.conv3.weight'][:, order],
    )

    unordered = dict(state)
    for param in ('weight', 'bias', 'running_mean', 'running_var'):
        unordered[f'backbone.layer1.0.bn2.{param}'] = authors[
            f'{BASE}layer1.0.convT.out.0.{param}'
        ]
    unordered['backbone.layer1.0.conv3.weight'] = authors[
        f'{BASE}layer1.0.conv3.weight'
    ]
    model = our_recognizer('CAKES123D_C')
    model.load_state_dict(unordered, strict=True)
    clip = random_clip()
    with torch.no_grad():
        expected = reference(authors_input(clip))
    with pytest.raises(AssertionError):
        assert_same_scores(our_logits(model, clip), expected)


def test_head_at_base_model_fc_and_unwrapped_keys_are_accepted():
    """Dropout 0 puts the classifier at base_model.fc; a model saved without
    DataParallel has no 'module.' prefix. Both convert to the same tensors."""
    authors = authors_state_dict(authors_model('c2d', 1))
    expected = convert_official_state_dict(authors, 'c2d')
    dropout_zero = {
        key.replace('module.new_fc.', f'{BASE}fc.'): value
        for key, value in authors.items()
    }
    unwrapped = {
        key[len('module.') :]: value for key, value in authors.items()
    }
    for variant in (dropout_zero, unwrapped):
        converted = convert_official_state_dict(variant, 'c2d')
        assert converted.keys() == expected.keys()
        assert all(
            torch.equal(converted[key], expected[key]) for key in expected
        )


@pytest.mark.parametrize(
    'stored, arch, message',
    [
        (
            'CAKES23D_P',
            'CAKES123D_P',
            r'x\.pth: not a CAKES123D_P checkpoint: layer1\.0 should hold '
            r'convT\.convs\.\* of widths 28 \(3x3x3\), 35 \(1x3x3\), 1 \(3x1x1\), '
            r'it holds convT\.convs\.\* of widths 41 \(3x3x3\), 23 \(1x3x3\); it '
            r'holds CAKES23D_P: convert it with --arch CAKES23D_P$',
        ),
        (
            'c2d',
            'c3d',
            r'not a c3d checkpoint: layer1\.0 should hold convT\.op\.\* of widths '
            r'64 \(3x3x3\), it holds convT\.op\.\* of widths 64 \(1x3x3\); it '
            r'holds c2d',
        ),
        (
            'p3d',
            'CAKES12D_C',
            r'layer1\.0 should hold convT\.convs\.\* of widths 34 \(1x3x3\), 30 '
            r'\(3x1x1\), it holds convT\.op\.\* of widths 64 \(1x3x3\), 64 '
            r'\(3x1x1\); it holds p3d',
        ),
    ],
)
def test_another_arch_is_refused_naming_the_block(stored, arch, message):
    with pytest.raises(OfficialCheckpointError, match=message):
        convert_official_state_dict(
            meta_authors_state_dict(stored), arch, source='x.pth'
        )


def test_cost_priority_supernet_is_refused():
    state = meta_authors_state_dict('CAKES123D_P', supernet=True)
    with pytest.raises(
        OfficialCheckpointError,
        match=r"layer1\.0: a checkpoint of the authors' cost-priority "
        r'search supernet, not of a searched network: 3 sub-kernel '
        r'groups of all 64 channels each and a search BN of 192',
    ):
        convert_official_state_dict(state, 'CAKES123D_P')


def test_performance_priority_supernet_is_refused():
    """That search keeps its BN at convT.norm (the ``*_dropout`` ops)."""
    state = {
        key.replace('.convT.out.0.', '.convT.norm.'): value
        for key, value in meta_authors_state_dict(
            'CAKES12D_P', supernet=True
        ).items()
    }
    with pytest.raises(
        OfficialCheckpointError,
        match=r'performance-priority search supernet.*2 '
        r'sub-kernel groups of all 64 channels each and a '
        r'search BN of 128',
    ):
        convert_official_state_dict(state, 'CAKES12D_P')


def drop(key):
    """An edit that removes ``key``."""
    return lambda state: state.pop(key)


@pytest.mark.parametrize(
    'edit, num_classes, message',
    [
        (
            drop(f'{BASE}layer2.1.bn3.running_var'),
            174,
            rf'x\.pth: {BASE}layer2\.1\.bn3\.running_var is missing$',
        ),
        (
            lambda state: state.update(
                {'module.extra.weight': torch.zeros(3)}
            ),
            174,
            r'x\.pth: module\.extra\.weight \(shape \(3,\)\) has no place in '
            r'c2d$',
        ),
        (
            lambda state: state.update(
                {f'{BASE}conv1.weight': torch.zeros(64, 3, 1, 5, 5)}
            ),
            174,
            rf'{BASE}conv1\.weight has shape \(64, 3, 1, 5, 5\); '
            r'backbone\.conv1\.weight needs \(64, 3, 1, 7, 7\)',
        ),
        (
            lambda state: None,
            10,
            r'module\.new_fc\.weight has shape \(174, 2048\); 10 classes '
            r'\(--num-classes\) need \(10, 2048\)',
        ),
        (
            lambda state: [
                drop(f'module.new_fc.{p}')(state) for p in ('weight', 'bias')
            ],
            174,
            r'no classifier: neither module\.new_fc\.\* \(dropout > 0\) nor '
            rf'{BASE}fc\.\* \(dropout 0\)',
        ),
    ],
)
def test_tensors_that_do_not_fit_are_refused(edit, num_classes, message):
    state = meta_authors_state_dict('c2d')
    edit(state)
    with pytest.raises(OfficialCheckpointError, match=message):
        convert_official_state_dict(state, 'c2d', num_classes, 'x.pth')


def test_2d_weights_of_time_size_one_convs_are_inflated():
    """The stem and 1x1 convs saved as 2D (torchvision's 4D weights)."""
    authors = authors_state_dict(authors_model('c2d', 1))
    flat = {
        key: value.squeeze(2)
        if value.dim() == 5 and '.convT.' not in key
        else value
        for key, value in authors.items()
    }
    # the stem, conv1 and conv3 of 16 blocks, 4 downsample convs
    assert sum(value.dim() == 4 for value in flat.values()) == 37
    expected = convert_official_state_dict(authors, 'c2d')
    converted = convert_official_state_dict(flat, 'c2d')
    assert all(torch.equal(converted[key], expected[key]) for key in expected)


def test_unknown_arch_is_refused():
    with pytest.raises(
        OfficialCheckpointError,
        match=r"unknown arch 'CAKES99'; expected one of "
        r'CAKES12D_P, .*, c2d, c3d, p3d',
    ):
        convert_official_state_dict({}, 'CAKES99')


def test_state_dict_of_another_model_is_refused():
    """e.g. a torchvision 2D ResNet: no base_model weights."""
    with pytest.raises(
        OfficialCheckpointError,
        match=r'x\.pth: no recognisable state dict: the '
        r"authors' checkpoints hold 'module\.base_model\.\*' "
        r".*found 1 tensors, e.g. 'conv1\.weight'",
    ):
        convert_official_state_dict(
            {'conv1.weight': torch.zeros(1)}, 'c2d', source='x.pth'
        )


class MakesADirectory:
    """Pickles as a call to os.makedirs: loading it must not run it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.makedirs, (self.path,)


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not a checkpoint\n')
    with pytest.raises(
        OfficialCheckpointError,
        match=rf'^{text}: not a PyTorch checkpoint \(it '
        r"starts with b'not a ch', neither a zip archive nor "
        r'a pickle\)$',
    ):
        load_official_state_dict(str(text))

    marker = tmp_path / 'created_by_the_pickle'
    unsafe = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': MakesADirectory(str(marker))}, unsafe)
    with pytest.raises(
        OfficialCheckpointError,
        match=rf'refused to load {unsafe}: it references '
        r'\S*makedirs',
    ):
        load_official_state_dict(str(unsafe))
    assert not marker.exists()

    listing = tmp_path / 'list.pth'
    torch.save(['not', 'a', 'dict'], listing)
    with pytest.raises(
        OfficialCheckpointError,
        match=rf'^{listing}: no state dict: .* got list$',
    ):
        load_official_state_dict(str(listing))

    with pytest.raises(
        OfficialCheckpointError, match=rf'{tmp_path}/absent\.pth: no such file'
    ):
        load_official_state_dict(str(tmp_path / 'absent.pth'))


def write_class_names(path, names) -> str:
    """A labels file, one name a line."""
    path.write_text(''.join(f'{name}\n' for name in names))
    return str(path)


def test_classes_are_reordered_to_the_labels_file(tmp_path):
    """The authors number the classes by sorted name (TRN's lists). With
    'class 000' ... 'class 173' listed shuffled, our row i must be the
    authors' row named by the i-th line."""
    authors = authors_state_dict(authors_model('c2d', 1))
    state = convert_official_state_dict(authors, 'c2d')
    numbers = torch.randperm(174).tolist()
    labels = write_class_names(
        tmp_path / 'labels.csv', [f'class {n:03d}' for n in numbers]
    )
    reorder_classes(state, read_class_names(labels), labels)
    for param in ('weight', 'bias'):
        assert torch.equal(
            state[f'cls_head.fc_cls.{param}'],
            authors[f'module.new_fc.{param}'][numbers],
        )


def test_labels_that_do_not_fit_are_refused(tmp_path):
    state = convert_official_state_dict(
        authors_state_dict(authors_model('c2d', 1)), 'c2d'
    )
    short = write_class_names(
        tmp_path / 'short.csv', [f'class {n}' for n in range(173)]
    )
    with pytest.raises(
        OfficialCheckpointError,
        match=rf'^{short}: lists 173 classes; the classifier '
        r'has 174$',
    ):
        reorder_classes(state, read_class_names(short), short)
    twice = write_class_names(
        tmp_path / 'twice.csv', ['Holding something', 'Holding something']
    )
    with pytest.raises(
        BadAnnotationError,
        match=r"twice\.csv.*2.*class 'Holding something' is "
        r'listed twice',
    ):
        read_class_names(twice)
