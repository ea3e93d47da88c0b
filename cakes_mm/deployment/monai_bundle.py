"""A trained volumetric segmentor as a MONAI bundle.

:func:`export_monai_bundle` writes the folder MONAI's bundle tools run::

    OUT/configs/metadata.json   what the network takes and gives
    OUT/configs/inference.json  NIfTI in, label maps out
    OUT/models/model.pt         the network's state_dict (tensors only)

``inference.json`` builds our network with :func:`build_bundle_network`
from the config's ``model.network`` (its ``op`` included, an arch file
inlined), reads every ``*.nii*`` of ``dataset_dir`` with the config's test
pipeline (its steps on ``image``), runs MONAI's ``SlidingWindowInferer``
with the config's window (a ``stride`` becomes the overlap that moves the
window by that stride, as in our own test), takes the argmax, maps it back
to the input's grid and writes ``<name>_seg.nii.gz`` into ``output_dir``::

    python -m monai.bundle run --config_file OUT/configs/inference.json \\
        --bundle_root OUT --dataset_dir IMAGES --output_dir LABELS
"""

import io
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import monai
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmengine.config import Config

from ..apis.inference import init_recognizer
from ..config_names import read_config
from ..fileio import atomic_write
from ..models.arch import read_arch_file
from ..models.convert import build_network
from ..models.segmentors import VolumeSegmentor
from ..models.segmentors.base import DEFAULT_PREPROCESSOR
from ..models.segmentors.sliding_window import SlidingWindow
from ..version import __version__

#: The key of the input volume in the test pipeline and in the bundle.
IMAGE_KEY = 'image'
#: The key of the label map the bundle predicts.
PRED_KEY = 'pred'
#: Where the files go inside the bundle.
INFERENCE_JSON = osp.join('configs', 'inference.json')
METADATA_JSON = osp.join('configs', 'metadata.json')
MODEL_PT = osp.join('models', 'model.pt')


def build_bundle_network(
    network: dict, channels_last: bool = False
) -> nn.Module:
    """Build a network config of ours, as a bundle's ``network_def``.

    Args:
        network (dict): The config's ``model.network`` (a registered name
            such as ``'UNet3D'`` or a dotted import path, with its ``op``).
        channels_last (bool): Give the weights the ``channels_last_3d``
            layout, as our segmentors do, so that convs run in the same
            layout as in our own test. Defaults to False.

    Returns:
        nn.Module: The network, with freshly initialised weights.
    """
    import cakes_mm.models  # noqa: F401 (registers the networks)

    model = build_network(network)
    if channels_last:
        model.to(memory_format=torch.channels_last_3d)
    return model


def load_segmentor_config(config: str) -> Config:
    """Read ``config`` and check that its model is a ``VolumeSegmentor``.

    Args:
        config (str): The config file.

    Returns:
        Config: The config.
    """
    cfg = read_config(config)
    kind = cfg.get('model', {}).get('type')
    found = MODELS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(found, type) and issubclass(found, VolumeSegmentor)):
        raise ValueError(
            f'{config}: model type {kind!r} is not a VolumeSegmentor; a '
            f'MONAI bundle holds a volumetric segmentation network '
            f'(one argmax class per voxel)'
        )
    return cfg


def portable_network(network: dict) -> dict:
    """``network`` with an ``op.arch`` JSON file replaced by its list, so
    that the bundle does not depend on the file.

    Args:
        network (dict): The config's ``model.network``.

    Returns:
        dict: A plain dict.
    """
    network = json.loads(json.dumps(network))
    op = network.get('op')
    arch = op.get('arch') if isinstance(op, dict) else None
    if isinstance(arch, str) and (arch.endswith('.json') or osp.isfile(arch)):
        op['arch'] = read_arch_file(arch)
    return network


def image_steps(pipeline: Sequence[dict], config: str) -> List[dict]:
    """The test pipeline's steps on the image, as bundle components.

    Args:
        pipeline (Sequence[dict]): The config's test pipeline
            (``monai.transforms`` names with ``keys``).
        config (str): The config file, for messages.

    Returns:
        list[dict]: ``_target_`` dicts, each with ``keys=['image']``.
    """
    steps = []
    for step in pipeline:
        step = dict(step)
        keys = step.pop('keys', None)
        keys = [keys] if isinstance(keys, str) else list(keys or [])
        if IMAGE_KEY in keys:
            kind = step.pop('type')
            steps.append(
                dict(
                    _target_=f'monai.transforms.{kind}',
                    keys=[IMAGE_KEY],
                    **step,
                )
            )
    if not steps or not steps[0]['_target_'].endswith('LoadImaged'):
        raise ValueError(
            f'{config}: the test pipeline must start with '
            f"LoadImaged on '{IMAGE_KEY}' for a MONAI bundle"
        )
    return steps


def inferer_component(test_cfg: Optional[dict]) -> dict:
    """MONAI's inferer for the segmentor's ``test_cfg``.

    Args:
        test_cfg (dict, optional): ``roi_size``, ``stride`` or
            ``overlap``, ``sw_batch_size``, ...; None: one pass.

    Returns:
        dict: A ``SlidingWindowInferer`` (or ``SimpleInferer``) component.
    """
    window = SlidingWindow(**(test_cfg or {}))
    if window.roi_size is None:
        return dict(_target_='SimpleInferer')
    return dict(
        _target_='SlidingWindowInferer',
        roi_size=list(window.roi_size),
        sw_batch_size=window.sw_batch_size,
        overlap=window.overlap,
        mode=window.mode,
        sigma_scale=window.sigma_scale,
        padding_mode=window.padding_mode,
    )


def postprocessing() -> dict:
    """Argmax, back to the input's grid, written as NIfTI."""
    return dict(
        _target_='Compose',
        transforms=[
            dict(_target_='AsDiscreted', keys=PRED_KEY, argmax=True),
            dict(
                _target_='Invertd',
                keys=PRED_KEY,
                transform='@preprocessing',
                orig_keys=IMAGE_KEY,
                nearest_interp=True,
                to_tensor=True,
            ),
            dict(
                _target_='SaveImaged',
                keys=PRED_KEY,
                output_dir='@output_dir',
                output_postfix='seg',
                output_dtype='$numpy.int16',
                resample=False,
                separate_folder=False,
            ),
        ],
    )


def inference_config(cfg: Config, config: str) -> Dict[str, object]:
    """The bundle's ``inference.json``.

    Args:
        cfg (Config): The segmentor's config.
        config (str): Its file, for messages.

    Returns:
        dict: The bundle config.
    """
    # The layout the segmentor runs in: its preprocessor's, defaults included.
    preprocessor = MODELS.build(
        cfg.model.get('data_preprocessor') or DEFAULT_PREPROCESSOR
    )
    pipeline = cfg.test_dataloader.dataset.pipeline
    return {
        'imports': ['$import glob', '$import os', '$import numpy'],
        'bundle_root': '.',
        'device': "$torch.device('cuda:0' if torch.cuda.is_available() "
        "else 'cpu')",
        'dataset_dir': "$os.path.join(@bundle_root, 'data')",
        'output_dir': "$os.path.join(@bundle_root, 'eval')",
        'datalist': "$sorted(glob.glob(os.path.join(@dataset_dir, '*.nii*')))",
        'network_def': dict(
            _target_='cakes_mm.deployment.monai_bundle.build_bundle_network',
            network=portable_network(cfg.model.network.to_dict()),
            channels_last=getattr(preprocessor, 'channels_last', False),
        ),
        'network': '$@network_def.to(@device)',
        'preprocessing': dict(
            _target_='Compose', transforms=image_steps(pipeline, config)
        ),
        'dataset': dict(
            _target_='Dataset',
            data=f"$[{{'{IMAGE_KEY}': path}} for path in @datalist]",
            transform='@preprocessing',
        ),
        'model_path': f"$os.path.join(@bundle_root, '{MODEL_PT}')",
        'initialize': [
            '$monai.utils.set_determinism(seed=0)',
            '$torch.set_grad_enabled(False)',
            '$@network.load_state_dict(torch.load(@model_path, '
            'map_location=@device, weights_only=True))',
            '$@network.eval()',
        ],
        'inferer': inferer_component(cfg.model.get('test_cfg')),
        'postprocessing': postprocessing(),
        'run': [
            f'$[@postprocessing(dict(item, {PRED_KEY}=@inferer('
            f"item['{IMAGE_KEY}'][None].to(@device), @network)[0])) "
            'for item in @dataset]'
        ],
    }


def metadata(cfg: Config, config: str) -> Dict[str, object]:
    """The bundle's ``metadata.json``.

    Args:
        cfg (Config): The segmentor's config.
        config (str): Its file, named in the description.

    Returns:
        dict: The metadata.
    """
    network = cfg.model.network
    return {
        'version': '0.1.0',
        'changelog': {'0.1.0': f'exported by cakes_mm {__version__}'},
        'monai_version': monai.__version__,
        'pytorch_version': torch.__version__.split('+')[0],
        'required_packages_version': {'cakes_mm': __version__},
        'name': osp.splitext(osp.basename(config))[0],
        'task': 'volumetric semantic segmentation',
        'description': f'{network.type} of {osp.basename(config)}, '
        f'op={network.get("op", "conv3d")!r}; one argmax class per voxel',
        'network_data_format': {
            'inputs': {
                IMAGE_KEY: {
                    'type': 'image',
                    'format': 'magnitude',
                    'num_channels': network.get('in_channels', 1),
                    'dtype': 'float32',
                    'is_patch_data': False,
                }
            },
            'outputs': {
                PRED_KEY: {
                    'type': 'image',
                    'format': 'labels',
                    'num_channels': 1,
                    'dtype': 'int16',
                    'is_patch_data': False,
                }
            },
        },
    }


def json_text(document: Dict[str, object]) -> str:
    """``document`` as indented JSON."""
    return json.dumps(document, indent=2) + '\n'


def export_monai_bundle(config: str, checkpoint: str, out_dir: str) -> str:
    """Write a MONAI bundle of a trained volumetric segmentor.

    Args:
        config (str): The config it was trained with (a
            ``VolumeSegmentor``).
        checkpoint (str): Its trained weights (an mmengine checkpoint).
        out_dir (str): The bundle's folder; files are written atomically.

    Returns:
        str: The network's type.
    """
    cfg = load_segmentor_config(config)
    segmentor = init_recognizer(cfg, checkpoint, 'cpu')
    buffer = io.BytesIO()
    torch.save(segmentor.network.state_dict(), buffer)
    atomic_write(osp.join(out_dir, MODEL_PT), buffer.getvalue())
    atomic_write(
        osp.join(out_dir, INFERENCE_JSON),
        json_text(inference_config(cfg, config)),
    )
    atomic_write(
        osp.join(out_dir, METADATA_JSON), json_text(metadata(cfg, config))
    )
    return cfg.model.network.type
