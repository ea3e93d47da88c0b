"""A built-in synthetic video dataset whose classes differ only in time.

Each class is a *motion* played forwards or backwards: moving right or left,
down or up, growing or shrinking, turning clockwise or anticlockwise. A clip
is rendered from appearance and path parameters drawn independently of its
label (position, colours, shape, size, speed), and the backward class of a
pair is the same rendering reversed in time. So the two classes of a pair
hold exactly the same distribution of *sets* of frames: a model that looks at
frames one at a time and averages (C2D) cannot beat chance within a pair,
while one with temporal kernels can. This is the point of the CAKES paper at
small scale.

Videos are written as mp4 (``mp4v``) with OpenCV and read back with decord.
Their side is kept a multiple of 32: decord 0.6.0 fails on some small widths
such as 48. The annotation files are mmaction2 ``VideoDataset`` lists, one
``relative/path.mp4 label`` per line, and a ``label_map.txt`` holds one class
name per line. Everything is deterministic given the seed.
"""

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import cv2
import decord
import numpy as np

from ..fileio import atomic_write

# Fixed-point precision of OpenCV's sub-pixel drawing (``shift`` argument).
SUBPIXEL_BITS = 4
SUBPIXEL = 1 << SUBPIXEL_BITS


@dataclass(frozen=True)
class MotionClass:
    """One class: a motion, played forwards or backwards.

    Args:
        name (str): The label text, e.g. ``'moving left'``.
        motion (str): A key of :data:`MOTIONS`.
        backward (bool): Whether the motion's rendering is reversed in time.
    """

    name: str
    motion: str
    backward: bool


# Class order fixes the label ids; a horizontal flip swaps 0<->1 and 6<->7.
CLASSES: Tuple[MotionClass, ...] = (
    MotionClass('moving left', 'translate_x', True),
    MotionClass('moving right', 'translate_x', False),
    MotionClass('moving up', 'translate_y', True),
    MotionClass('moving down', 'translate_y', False),
    MotionClass('growing', 'scale', False),
    MotionClass('shrinking', 'scale', True),
    MotionClass('turning clockwise', 'rotate', False),
    MotionClass('turning anticlockwise', 'rotate', True),
)
CLASS_NAMES: Tuple[str, ...] = tuple(c.name for c in CLASSES)
# The demo's classes: the turning pair, a thin bar at 32x32, needs longer
# training than the demo's budget allows.
DEMO_CLASS_NAMES: Tuple[str, ...] = CLASS_NAMES[:6]
SPLITS: Tuple[str, ...] = ('train', 'val', 'test')


def find_class(name: str) -> MotionClass:
    """The :class:`MotionClass` called ``name``.

    Raises:
        KeyError: If no class has that name; the message lists them.
    """
    for motion_class in CLASSES:
        if motion_class.name == name:
            return motion_class
    raise KeyError(
        f'unknown motion class {name!r}; choose from {list(CLASS_NAMES)}'
    )


def _random_colours(rng: np.random.Generator) -> Tuple[Tuple[int, ...], ...]:
    """A dark background and a bright object colour (BGR)."""
    background = rng.integers(0, 64, size=3)
    foreground = rng.integers(128, 256, size=3)
    return tuple(map(int, background)), tuple(map(int, foreground))


def _fixed_point(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates to OpenCV's sub-pixel fixed-point integers."""
    return np.round(np.asarray(points) * SUBPIXEL).astype(np.int32)


def _square(centre: np.ndarray, half: float, angle: float) -> np.ndarray:
    """The four corners of a square, or of a 3:1 bar when ``angle`` is set.

    Args:
        centre (np.ndarray): (x, y) in pixels.
        half (float): Half the square's side (the bar's half length).
        angle (float): Rotation in radians, or NaN for an upright square.
    """
    if np.isnan(angle):
        offsets = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * half
    else:
        along = np.array([np.cos(angle), np.sin(angle)]) * half
        across = np.array([-np.sin(angle), np.cos(angle)]) * half / 3
        offsets = np.stack(
            [along + across, along - across, -along - across, -along + across]
        )
    return centre + offsets


def _draw(
    frame: np.ndarray,
    shape: str,
    centre: np.ndarray,
    half: float,
    colour: Tuple[int, ...],
    angle: float = float('nan'),
) -> None:
    """Draw a disc, square or bar, anti-aliased at sub-pixel precision."""
    if shape == 'disc':
        cv2.circle(
            frame,
            tuple(_fixed_point(centre)),
            int(round(half * SUBPIXEL)),
            colour,
            -1,
            cv2.LINE_AA,
            SUBPIXEL_BITS,
        )
    else:
        cv2.fillConvexPoly(
            frame,
            _fixed_point(_square(centre, half, angle)),
            colour,
            cv2.LINE_AA,
            SUBPIXEL_BITS,
        )


def _path(
    rng: np.random.Generator, size: int, num_frames: int, margin: float
) -> Tuple[np.ndarray, float]:
    """Positions along one axis (increasing) and a fixed cross-axis place."""
    travel = rng.uniform(0.5, 0.9) * (size - 2 * margin)
    start = rng.uniform(margin, size - margin - travel)
    across = rng.uniform(margin, size - margin)
    return start + np.linspace(0, travel, num_frames), across


Placement = Tuple[str, np.ndarray, float, float]


def _translate(axis: int):
    """A motion along ``axis`` (0 = x, 1 = y) with a disc or a square."""

    def placements(
        rng: np.random.Generator, num_frames: int, size: int
    ) -> List[Placement]:
        shape = str(rng.choice(['disc', 'square']))
        half = rng.uniform(0.08, 0.14) * size
        along, across = _path(rng, size, num_frames, half + 1)
        centres = np.stack([along, np.full(num_frames, across)], axis=1)
        if axis == 1:
            centres = centres[:, ::-1]
        return [(shape, c, half, float('nan')) for c in centres]

    return placements


def _scale(
    rng: np.random.Generator, num_frames: int, size: int
) -> List[Placement]:
    """A disc or square growing two- to three-fold about a fixed centre."""
    shape = str(rng.choice(['disc', 'square']))
    small = rng.uniform(0.06, 0.1) * size
    large = small * rng.uniform(2.0, 3.0)
    centre = rng.uniform(large + 1, size - large - 1, size=2)
    return [
        (shape, centre, half, float('nan'))
        for half in np.linspace(small, large, num_frames)
    ]


def _rotate(
    rng: np.random.Generator, num_frames: int, size: int
) -> List[Placement]:
    """A bar turning clockwise on screen by 90 to 150 degrees."""
    half = rng.uniform(0.2, 0.3) * size
    centre = rng.uniform(half + 1, size - half - 1, size=2)
    start = rng.uniform(0, np.pi)
    turn = np.deg2rad(rng.uniform(90, 150))
    # Image y points down, so a growing angle turns clockwise on screen.
    return [
        ('bar', centre, half, float(angle))
        for angle in start + np.linspace(0, turn, num_frames)
    ]


MOTIONS = {
    'translate_x': _translate(0),
    'translate_y': _translate(1),
    'scale': _scale,
    'rotate': _rotate,
}


def render_motion(
    motion: str, rng: np.random.Generator, num_frames: int = 16, size: int = 64
) -> np.ndarray:
    """Render one clip of a motion in its forward direction.

    Forward is right for ``translate_x``, down for ``translate_y``, growing
    for ``scale`` and clockwise on screen for ``rotate``. Colours, shape,
    size, start position and speed are drawn from ``rng``.

    Args:
        motion (str): A key of :data:`MOTIONS`.
        rng (np.random.Generator): The source of every random choice.
        num_frames (int): Frames in the clip. Defaults to 16.
        size (int): Side of the square frames in pixels. Defaults to 64.

    Returns:
        np.ndarray: (num_frames, size, size, 3) uint8 frames, BGR.
    """
    if motion not in MOTIONS:
        raise KeyError(
            f'unknown motion {motion!r}; choose from {sorted(MOTIONS)}'
        )
    background, foreground = _random_colours(rng)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    frames[...] = background
    for frame, (shape, centre, half, angle) in zip(
        frames, MOTIONS[motion](rng, num_frames, size)
    ):
        _draw(frame, shape, centre, half, foreground, angle)
    return frames


def render_class(
    name: str, rng: np.random.Generator, num_frames: int = 16, size: int = 64
) -> np.ndarray:
    """Render one clip of a class: its motion, reversed for backward classes.

    Two classes of a pair rendered from generators in the same state give
    the same frames in opposite orders.

    Args:
        name (str): A class name from :data:`CLASS_NAMES`.
        rng (np.random.Generator): The source of every random choice.
        num_frames (int): Frames in the clip. Defaults to 16.
        size (int): Side of the square frames in pixels. Defaults to 64.

    Returns:
        np.ndarray: (num_frames, size, size, 3) uint8 frames, BGR.
    """
    motion_class = find_class(name)
    frames = render_motion(motion_class.motion, rng, num_frames, size)
    return frames[::-1].copy() if motion_class.backward else frames


def check_size(size: int) -> int:
    """Check that a frame side is a positive multiple of 32 (for decord)."""
    if size <= 0 or size % 32:
        raise ValueError(
            f'video size must be a positive multiple of 32 '
            f'(decord 0.6.0 fails on some other widths), got '
            f'{size}'
        )
    return size


def write_video(path: str, frames: np.ndarray, fps: int = 8) -> None:
    """Write BGR frames as an mp4v video, atomically.

    Args:
        path (str): Destination, ending in ``.mp4``.
        frames (np.ndarray): (T, H, W, 3) uint8 frames, BGR.
        fps (int): Frame rate. Defaults to 8.

    Raises:
        ValueError: If ``path`` does not end in ``.mp4`` or a frame side is
            not a multiple of 32.
        OSError: If OpenCV cannot open a writer for the file.
    """
    if not path.endswith('.mp4'):
        raise ValueError(f'{path}: the video path must end in .mp4')
    _, height, width, _ = frames.shape
    check_size(width)
    check_size(height)
    partial = f'{path[: -len(".mp4")]}.partial.mp4'
    writer = cv2.VideoWriter(
        partial, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height)
    )
    if not writer.isOpened():
        raise OSError(f'{path}: OpenCV cannot open an mp4v video writer')
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
        writer.release()
        os.replace(partial, path)
    except BaseException:
        writer.release()
        if osp.exists(partial):
            os.remove(partial)
        raise


def read_video(path: str) -> np.ndarray:
    """Decode every frame of a video with decord.

    Returns:
        np.ndarray: (T, H, W, 3) uint8 frames, RGB.
    """
    reader = decord.VideoReader(path, num_threads=1)
    return reader.get_batch(list(range(len(reader)))).asnumpy()


def _text(lines: Sequence[str]) -> str:
    """Lines as the text of a file."""
    return ''.join(f'{line}\n' for line in lines)


def generate_dataset(
    root: str,
    clips_per_class: Dict[str, int],
    classes: Sequence[str] = DEMO_CLASS_NAMES,
    num_frames: int = 16,
    size: int = 64,
    seed: int = 0,
) -> Dict[str, str]:
    """Write the synthetic dataset: videos, annotation lists, label map.

    Layout under ``root``: ``videos/{split}/{label}_{index}.mp4``,
    ``{split}.txt`` (``videos/...mp4 label`` per line, relative to ``root``)
    and ``label_map.txt`` (one class name per line, in label order). Each
    clip has its own generator seeded by (seed, split, label, index), so a
    dataset is the same whatever else is generated.

    Args:
        root (str): Output folder, created if needed.
        clips_per_class (dict[str, int]): Clips per class for each split, e.g.
            ``dict(train=100, val=20, test=30)``.
        classes (Sequence[str]): Class names, in label order. Defaults to
            :data:`DEMO_CLASS_NAMES` (all but the turning pair).
        num_frames (int): Frames per clip. Defaults to 16.
        size (int): Frame side in pixels, a multiple of 32. Defaults to 64.
        seed (int): Dataset seed. Defaults to 0.

    Returns:
        dict[str, str]: The annotation file of each split.
    """
    check_size(size)
    for name in classes:
        find_class(name)
    unknown = set(clips_per_class) - set(SPLITS)
    if unknown:
        raise KeyError(
            f'unknown splits {sorted(unknown)}; choose from {list(SPLITS)}'
        )
    os.makedirs(root, exist_ok=True)
    atomic_write(osp.join(root, 'label_map.txt'), _text(classes))
    ann_files = {}
    for split, count in clips_per_class.items():
        folder = osp.join(root, 'videos', split)
        os.makedirs(folder, exist_ok=True)
        lines = []
        for label, name in enumerate(classes):
            for index in range(count):
                rng = np.random.default_rng(
                    [seed, SPLITS.index(split), label, index]
                )
                relative = f'videos/{split}/{label}_{index:04d}.mp4'
                write_video(
                    osp.join(root, relative),
                    render_class(name, rng, num_frames, size),
                )
                lines.append(f'{relative} {label}')
        ann_files[split] = osp.join(root, f'{split}.txt')
        atomic_write(ann_files[split], _text(lines))
    return ann_files
