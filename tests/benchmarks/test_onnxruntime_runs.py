"""The benchmarks' onnxruntime calls run the exported network on their own
inputs, at any batch and layout."""

import torch


def test_each_call_runs_the_exported_network_on_its_input(benchmark_script):
    runs_module = benchmark_script('onnxruntime_runs')
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv3d(2, 4, 3, padding=1), torch.nn.ReLU()
    ).eval()
    volumes = torch.randn(3, 2, 6, 6, 6)
    inputs = {
        'infer': volumes[:1],
        'infer_batch': volumes.contiguous(
            memory_format=torch.channels_last_3d
        ),
    }
    runs = runs_module.onnxruntime_runs(net, inputs, threads=1)
    assert list(runs) == ['infer', 'infer_batch']
    with torch.no_grad():
        want = net(volumes)
    (one,) = runs['infer']()
    (batch,) = runs['infer_batch']()
    assert one.shape == (1, 4, 6, 6, 6) and batch.shape == (3, 4, 6, 6, 6)
    assert torch.allclose(torch.from_numpy(one), want[:1], atol=1e-5)
    assert torch.allclose(torch.from_numpy(batch), want, atol=1e-5)
