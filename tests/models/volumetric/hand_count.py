"""C2FNAS-Panc's params and multiply-adds, counted by hand from its
description (independently of the network code): pre-activation blocks
(conv without bias, then an affine norm of 2 params per channel), the
first stem, the 12 cells and the end stem, at base width 32 on a 96³
patch."""

#: (kind, input widths, width, size): widths and cube edges of each cell.
CELLS = [
    ('single', [64], 64, 48),  # E1
    ('merge', [64, 64], 64, 48),  # E2
    ('down', [64], 128, 24),  # E3
    ('single', [128], 128, 24),  # E4
    ('down', [128], 256, 12),  # E5
    ('down', [256], 512, 6),  # E6
    ('merge', [512, 256], 256, 12),  # D1 (deep input upsampled first)
    ('single', [256], 256, 12),  # D2
    ('merge', [256, 128], 128, 24),  # D3
    ('merge', [128, 64], 64, 48),  # D4
    ('single', [64], 64, 48),  # D5
    ('merge', [64, 64], 64, 48),  # D6
]


def count(op_weights, in_channels=1, classes=3):
    """(params, MACs) of the whole network.

    Args:
        op_weights: A function of the width C giving the weights of one op
            conv C -> C (its MACs are weights times output voxels).
        in_channels: Input channels.
        classes: Output channels.
    """
    params = macs = 0

    def conv(weights, channels, size, norm=True):
        nonlocal params, macs
        params += weights + (2 * channels if norm else 0)
        macs += weights * size**3

    conv(27 * in_channels * 32, 32, 96)  # first stem
    conv(27 * 32 * 64, 64, 48)
    for kind, inputs, width, size in CELLS:
        if kind == 'merge':
            for source in inputs:  # a prep and an op per input
                conv(source * width, width, size)
                conv(op_weights(width), width, size)
        else:
            prep = 27 if kind == 'down' else 1
            conv(prep * inputs[0] * width, width, size)
            conv(op_weights(width), width, size)
        conv(width * width, width, size)  # post
    conv(27 * 64 * 32, 32, 48)  # end stem
    conv(27 * 32 * 32, 32, 96)
    conv(32 * classes, classes, 96, norm=False)
    params += classes  # the classifier's bias
    return params, macs


def uniform_weights(volumes):
    """Op-conv weights of a uniform split over ops of the given kernel
    volumes, the remainder to the first."""

    def weights(width):
        share, rest = divmod(width, len(volumes))
        counts = [share + (rest if i == 0 else 0) for i in range(len(volumes))]
        return width * sum(n * v for n, v in zip(counts, volumes))

    return weights
