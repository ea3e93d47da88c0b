"""tools/convert_models/cakes_official_to_mm.py, end to end."""

import pytest
import torch
from checkpoint.authors_reference import (
    authors_input,
    authors_model,
    authors_state_dict,
)
from checkpoint.recognizer_helpers import (
    assert_same_scores,
    our_logits,
    our_recognizer,
)
from tool_helpers import run_tool

from cakes_mm.checkpoint.safe_load import load_local_checkpoint

pytestmark = pytest.mark.slow  # each test runs a tool in a subprocess

TOOL = 'convert_models/cakes_official_to_mm.py'
FRAMES = 4


def test_converts_a_released_checkpoint(tmp_path):
    """With --labels listing 'class 000' ... 'class 173' shuffled, class i
    of ours is the authors' class named by line i (they sort names)."""
    reference = authors_model('CAKES123D_P', FRAMES)
    src = tmp_path / '8frame_CAKES123D_PerformancePriority.tar'
    # PyTorch 1.0's format (a pickle, not a zip), as the authors saved it
    torch.save(
        {
            'epoch': 140,
            'arch': 'resnet50',
            'best_prec1': torch.tensor(47.24),
            'state_dict': authors_state_dict(reference),
        },
        src,
        _use_new_zipfile_serialization=False,
    )
    numbers = torch.randperm(174).tolist()
    labels = tmp_path / 'labels.csv'
    labels.write_text(''.join(f'class {n:03d}\n' for n in numbers))
    dst = tmp_path / 'converted' / 'cakes-123d-perf_sthv1.pth'
    result = run_tool(
        [
            TOOL,
            str(src),
            str(dst),
            '--arch',
            'CAKES123D_P',
            '--labels',
            str(labels),
        ],
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    model = our_recognizer('CAKES123D_P')
    assert result.stdout.splitlines() == [
        f'converted {src} (CAKES123D_P, 174 classes in the order of '
        f'{labels}) to {dst}: {len(model.state_dict())} tensors'
    ]
    assert sorted(p.name for p in dst.parent.iterdir()) == [dst.name]

    checkpoint = load_local_checkpoint(str(dst))
    assert checkpoint['meta']['backbone_arch'] == 'CAKES123D_P'
    assert checkpoint['meta']['converted_from'] == src.name
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    clip = torch.randint(0, 256, (3, FRAMES, 64, 64)).float()
    with torch.no_grad():
        expected = reference(authors_input(clip))[:, numbers]
    assert_same_scores(our_logits(model, clip), expected)


def test_refusal_is_one_error_line_and_writes_nothing(tmp_path):
    src = tmp_path / 'notes.txt'
    src.write_text('not a checkpoint\n')
    dst = tmp_path / 'converted.pth'
    result = run_tool(
        [TOOL, str(src), str(dst), '--arch', 'CAKES123D_P'], cwd=str(tmp_path)
    )
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f'error: {src}: not a PyTorch checkpoint (it starts with '
        f"b'not a ch', neither a zip archive nor a pickle)"
    )
    assert result.stdout == ''
    assert list(tmp_path.iterdir()) == [src]
