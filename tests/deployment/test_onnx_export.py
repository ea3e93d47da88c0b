"""cakes_mm.deployment and tools/deployment/export_onnx.py: ONNX files that
onnxruntime runs like PyTorch, with a dynamic batch."""

import copy
import os.path as osp
import re

import onnx
import onnxruntime
import pytest
import torch
from model_helpers import randomise_norms
from tool_helpers import REPO, run_tool, write_video

from cakes_mm.apis import (
    inference_recognizer,
    init_recognizer,
    preprocess_video,
)
from cakes_mm.deployment import (
    ClipScores,
    ExportError,
    check_onnx,
    export_recognizer,
    onnx_bytes,
)

CONFIGS = osp.join(REPO, 'configs')
ARCH_CONFIGS = {
    'CAKES12D_P': 'cakes/cakes-12d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
    'CAKES12D_C': 'cakes/cakes-12d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
    'CAKES23D_P': 'cakes/cakes-23d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
    'CAKES23D_C': 'cakes/cakes-23d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
    'CAKES123D_P': 'cakes/cakes-123d-perf_r50_8xb12-u8-70e_sthv1-rgb.py',
    'CAKES123D_C': 'cakes/cakes-123d-cost_r50_8xb12-u8-70e_sthv1-rgb.py',
    'C2D': 'baselines/c2d_r50_8xb12-u8-70e_sthv1-rgb.py',
    'C3D': 'baselines/c3d_r50_8xb12-u8-70e_sthv1-rgb.py',
}
P3D = osp.join(CONFIGS, 'baselines', 'p3d_r50_8xb12-u8-70e_sthv1-rgb.py')
PMSCN = osp.join(CONFIGS, 'pmscn', 'p2sc2_r34_8xb8-64x1x1-50e_ucf101-rgb.py')
R3D = osp.join(CONFIGS, 'pmscn', 'c3d_r34_8xb8-64x1x1-50e_ucf101-rgb.py')
SHAPE = (1, 3, 2, 32, 32)  # 2 frames of 32x32 keep the tests fast

TOOL = 'deployment/export_onnx.py'


def trained_like(config):
    """The config's recognizer with random norms (as after training) and a
    head whose logits spread widely, so that the softmax scores follow any
    error of the features."""
    model = init_recognizer(osp.join(CONFIGS, config), device='cpu')
    randomise_norms(model)
    model.cls_head.fc_cls.weight.data.normal_(0, 0.5)
    return model


def onnxruntime_scores(path, clips):
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider']
    )
    return torch.from_numpy(session.run(None, {'input': clips.numpy()})[0])


def eval_mode_scores(model, clips):
    """Probabilities of the recognizer as trained: eval mode, no deploy."""
    with torch.no_grad():
        logits = model.cls_head(model.backbone(clips))
    return logits.softmax(dim=1)


def assert_close(got, want):
    assert got.shape == want.shape
    gap = (got - want).abs().max() / want.abs().max()
    assert gap <= 1e-4, gap
    assert want.max() > 0.05  # far from uniform over 174 classes


@pytest.mark.parametrize('arch', sorted(ARCH_CONFIGS))
def test_deploy_form_export_matches_the_trained_network(tmp_path, arch):
    model = trained_like(ARCH_CONFIGS[arch])
    clips = torch.randn(3, *SHAPE[1:])
    want = eval_mode_scores(model, clips)
    path = str(tmp_path / 'model.onnx')
    report = export_recognizer(model, path, SHAPE)
    assert model.backbone.deploy_net is not None  # exported in deploy form
    assert report.deploy and report.num_classes == 174
    assert report.batch_sizes == [1, 2] and report.difference <= 1e-4
    # A batch of 3, neither of the two the export checked.
    assert_close(onnxruntime_scores(path, clips), want)


def test_a_videos_views_through_the_file_score_as_recognize(tmp_path):
    """preprocess_video gives the file's input; the mean of its rows is
    inference_recognizer's score (average_clips='prob') for the video."""
    demo = 'demo/cakes-12d-manual_r50-w16_1xb16-u8-12e_synthetic-motion-rgb.py'
    model = trained_like(demo)
    video = write_video(str(tmp_path / 'clip.mp4'), num_frames=16)
    want = inference_recognizer(model, video).pred_score
    clips = preprocess_video(model, video)
    assert tuple(clips.shape) == (2, 3, 8, 32, 32)  # the config's 2 clips
    path = str(tmp_path / 'demo.onnx')
    export_recognizer(model, path, (1, 3, 8, 32, 32))
    got = onnxruntime_scores(path, clips).mean(dim=0)
    assert (got - want).abs().max() <= 1e-4 * want.max()
    assert want.max() > 2 / len(want)  # far from uniform


def test_the_batch_dimension_is_dynamic(tmp_path):
    model = trained_like(ARCH_CONFIGS['CAKES12D_C'])
    path = str(tmp_path / 'model.onnx')
    export_recognizer(model, path, (2, 3, 2, 32, 32))
    graph = onnx.load(path).graph
    for value in (graph.input[0], graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == 'batch'
    assert [
        dim.dim_value for dim in graph.input[0].type.tensor_type.shape.dim[1:]
    ] == [3, 2, 32, 32]
    # Every tensor's shape is written in, sizes that follow from the batch
    # as its expressions (frames: 2*batch), so onnxruntime can plan them.
    dims = [
        dim
        for value in list(graph.value_info) + list(graph.output)
        for dim in value.type.tensor_type.shape.dim
    ]
    assert len(graph.value_info) > len(graph.initializer)
    assert all(dim.HasField('dim_value') or dim.dim_param for dim in dims)
    assert {dim.dim_param for dim in dims} == {'', 'batch', '2*batch'}
    module = ClipScores(model).eval()
    for batch in (1, 5):
        clips = torch.randn(batch, 3, 2, 32, 32)
        with torch.no_grad():
            want = module(clips)
        assert_close(onnxruntime_scores(path, clips), want)


def test_an_eval_mode_export_matches(tmp_path):
    """--no-deploy: the 3D network as trained, here P3D, which has no
    deploy form."""
    model = trained_like('baselines/p3d_r50_8xb12-u8-70e_sthv1-rgb.py')
    clips = torch.randn(2, *SHAPE[1:])
    want = eval_mode_scores(model, clips)
    path = str(tmp_path / 'p3d.onnx')
    report = export_recognizer(model, path, SHAPE, deploy=False)
    assert not report.deploy
    assert_close(onnxruntime_scores(path, clips), want)


def test_a_mismatch_is_an_error():
    model = trained_like(ARCH_CONFIGS['C2D'])
    module = ClipScores(model).eval()
    clips = torch.randn(*SHAPE)
    exported = onnx_bytes(module, clips)
    assert check_onnx(module, exported, [clips]) <= 1e-4
    other = copy.deepcopy(module)
    other.cls_head.fc_cls.weight.data *= 1.01  # logits 1% larger
    with pytest.raises(
        ExportError,
        match=r'onnxruntime and PyTorch (scores|logits) differ '
        r'by .* \(relative\) for input \(1, 3, 2, 32, 32\), '
        r'more than 1e-04; the file was not written',
    ):
        check_onnx(other, exported, [clips])


def test_the_check_compares_logits_that_softmax_hides():
    model = trained_like(ARCH_CONFIGS['C2D'])
    module = ClipScores(model).eval()
    clips = torch.randn(*SHAPE)
    exported = onnx_bytes(module, clips)
    other = copy.deepcopy(module)
    other.cls_head.fc_cls.bias.data += 0.01  # the same softmax
    with torch.no_grad():
        torch.testing.assert_close(other(clips), module(clips))
    with pytest.raises(ExportError, match='PyTorch logits differ by'):
        check_onnx(other, exported, [clips])


def test_no_deploy_form_is_an_error_and_writes_nothing(tmp_path):
    path = tmp_path / 'model.onnx'
    # P3D has no deploy form; R3D-34 has no PmSCn unit to fold.
    for config, name in ((P3D, 'CAKESResNet'), (R3D, 'PmSCnResNet')):
        with pytest.raises(
            ExportError,
            match=f'{name} has no deploy form.*'
            r'export it in eval mode instead \(deploy=False, '
            r'--no-deploy\)',
        ):
            export_recognizer(
                init_recognizer(config, device='cpu'), str(path), SHAPE
            )
    assert not path.exists()


def write_checkpoint(config, path):
    torch.save(trained_like(config).state_dict(), path)
    return path


def test_the_tool_exports_and_checks(tmp_path):
    config = osp.join(CONFIGS, ARCH_CONFIGS['CAKES12D_P'])
    checkpoint = write_checkpoint(
        ARCH_CONFIGS['CAKES12D_P'], str(tmp_path / 'w.pth')
    )
    out = tmp_path / 'model.onnx'
    result = run_tool(
        [
            TOOL,
            config,
            checkpoint,
            '--out',
            str(out),
            '--shape',
            '1',
            '3',
            '2',
            '32',
            '32',
        ],
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # torch's notes on strided slices it does not fold say nothing to users.
    assert 'Constant folding' not in result.stderr + result.stdout
    assert (
        result.stdout.strip()
        .splitlines()[-1]
        .startswith(
            f'wrote {out} (CAKESResNet in deploy form): '
            'input (batch, 3, 2, 32, 32) -> output '
            '(batch, 174); onnxruntime matches PyTorch at '
            'batch 1 and 2'
        )
    )
    model = init_recognizer(config, checkpoint, device='cpu')
    clips = torch.randn(2, 3, 2, 32, 32)
    assert_close(
        onnxruntime_scores(str(out), clips), eval_mode_scores(model, clips)
    )


def test_the_tool_reports_bad_input_in_one_line(tmp_path):
    out = str(tmp_path / 'model.onnx')
    missing = str(tmp_path / 'nothing.pth')
    refused = run_tool([TOOL, P3D, missing, '--out', out], str(tmp_path))
    assert refused.returncode == 1
    assert refused.stderr.strip() == f'error: checkpoint not found: {missing}'
    checkpoint = write_checkpoint(P3D, str(tmp_path / 'p3d.pth'))
    refused = run_tool(
        [
            TOOL,
            P3D,
            checkpoint,
            '--out',
            out,
            '--shape',
            '1',
            '3',
            '2',
            '32',
            '32',
        ],
        str(tmp_path),
    )
    assert refused.returncode == 1
    assert re.fullmatch(
        'error: CAKESResNet has no deploy '
        'form: .*P3DConv3d middle convs; export it in eval mode '
        r'instead \(deploy=False, --no-deploy\)',
        refused.stderr.strip().splitlines()[-1],
    )
    assert not osp.exists(out)


def test_pmscn_exports_in_deploy_form_with_its_norms_folded(tmp_path):
    path = tmp_path / 'p2sc2.onnx'
    recognizer = init_recognizer(PMSCN, device='cpu')
    export_recognizer(recognizer, str(path), SHAPE)
    assert recognizer.backbone.deploy and path.stat().st_size > 0


def test_a_volumetric_net_whose_cakes_convs_fuse_groups_exports(tmp_path):
    """The demo UNet with CAKES 2D: each 16-wide layer computes its three
    planar groups as one conv over their padded kernels, which the exporter
    needs as constants. The file matches PyTorch at any batch, and the
    network's convs follow their weights again after the export."""
    from cakes_mm.models import UNet3D
    from cakes_mm.models.layers import CAKESConv3d

    torch.manual_seed(0)
    op = dict(type='cakes', op_set=['1xkxk', 'kxkx1', 'kx1xk'])
    net = randomise_norms(UNet3D(3, 1, 4, op=op, features=(16, 32, 64)))
    net.eval()
    layers = [m for m in net.modules() if isinstance(m, CAKESConv3d)]
    assert any(len(block) > 1 for m in layers for block in m.blocks['cpu'])
    volumes = torch.randn(2, 1, 16, 16, 16)
    session = onnxruntime.InferenceSession(
        onnx_bytes(net, volumes[:1]), providers=['CPUExecutionProvider']
    )
    with torch.no_grad():
        want = net(volumes)
    got = torch.from_numpy(session.run(None, {'input': volumes.numpy()})[0])
    assert got.shape == want.shape == (2, 4, 16, 16, 16)
    assert (got - want).abs().max() <= 1e-4 * want.abs().max()
    assert all(m.held_kernels is None for m in layers)
    with torch.no_grad():
        for m in layers:
            for conv in m.convs.values():
                conv.weight.mul_(2)
        doubled = net(volumes)
    assert not torch.allclose(doubled, want, atol=1e-3)
