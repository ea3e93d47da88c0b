"""Print the CAKES paper's Tables 3 and 1 beside our figures.

    python tools/analysis/model_zoo_table.py

Each row is rebuilt from its config under ``configs/``; the Markdown tables
it prints are the README's model zoo tables. Table 1's auto rows use an
arch of ours: the paper's were never released, and our own search found
these.
"""

from mmengine.logging import MMLogger

import cakes_mm  # noqa: F401  (registers the models)
from cakes_mm.analysis import table1_rows, table3_rows
from cakes_mm.environment import silence_irrelevant_warnings


def gap(ours: float, paper: float) -> str:
    """The relative gap to the paper, in percent."""
    return f'{100 * (ours - paper) / paper:+.1f}%'


def print_table3() -> None:
    """Table 3: ResNet-50 on sthv1."""
    print(
        '| model | config | params (M) ours / paper | GFLOPs ours / paper '
        '| FLOPs gap | paper top-1 (sthv1) | note |'
    )
    print('|---|---|---|---|---|---|---|')
    for entry in table3_rows():
        row = entry['row']
        print(
            f'| {row.model} | `{row.config}` | {entry["params_m"]:.2f} / '
            f'{row.params_m} | {entry["gflops"]:.2f} / {row.gflops} | '
            f'{gap(entry["gflops"], row.gflops)} | {row.top1} | '
            f'{row.note} |'
        )
    print(
        '\nSthv1, 8 frames of 224², 174 classes, one view. FLOPs are '
        'multiply-adds of convs and linear layers; params include the '
        'head.'
    )


def print_table1() -> None:
    """Table 1: C2FNAS on MSD pancreas."""
    print(
        '| model | config | params (M) ours / paper | GFLOPs ours / paper '
        '| FLOPs gap | paper mean Dice (pancreas, tumour) |'
    )
    print('|---|---|---|---|---|---|')
    for entry in table1_rows():
        row = entry['row']
        dice = f'{row.mean_dsc} ({row.pancreas_dsc}, {row.tumour_dsc})'
        print(
            f'| {row.model} | `{row.config}` | {entry["params_m"]:.2f} / '
            f'{row.params_m} | {entry["gflops"]:.2f} / {row.gflops} | '
            f'{gap(entry["gflops"], row.gflops)} | {dice} |'
        )
    print(
        "\nMSD pancreas, one 96³ window, 3 classes. The paper's auto "
        'archs were never released: ours are what our own search found '
        '(configs/volumetric/archs/).'
    )


def main() -> None:
    # Building the converted networks would log each conversion's report.
    MMLogger.get_instance('model_zoo_table', log_level='WARNING')
    print('CAKES Table 3 (video)\n')
    print_table3()
    print('\nCAKES Table 1 (volumetric)\n')
    print_table1()


if __name__ == '__main__':
    silence_irrelevant_warnings()
    main()
