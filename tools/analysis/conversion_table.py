"""Print how MONAI's 3D networks convert to CAKES and P2SC2.

    python tools/analysis/conversion_table.py

For UNet, SegResNet, DynUNet, VNet, HighResNet, AttentionUnet and BasicUNet
at their default arguments, the Markdown table gives the k x k x k convs
converted and skipped (with the reasons) by fixed CAKES, the performance
and cost search supernets and P2SC2. It is the table of docs/conversion.md,
section 'MONAI networks'.
"""

import argparse

from cakes_mm.analysis.conversion_table import conversion_table
from cakes_mm.environment import silence_irrelevant_warnings

if __name__ == '__main__':
    argparse.ArgumentParser(description=__doc__.split('\n')[0]).parse_args()
    silence_irrelevant_warnings()
    print(conversion_table(), end='')
