"""Print every row of the CAKES paper's Table 3 beside our figures.

    python tools/analysis/model_zoo_table.py

Each row is rebuilt from its config under ``configs/``; the Markdown table
it prints is the README's model zoo table.
"""
import cakes_mm  # noqa: F401  (registers the models, patches mmaction2)
from cakes_mm.analysis import table3_rows


def main() -> None:
    print('| model | config | params (M) ours / paper | GFLOPs ours / paper '
          '| FLOPs gap | paper top-1 (sthv1) | note |')
    print('|---|---|---|---|---|---|---|')
    for entry in table3_rows():
        row = entry['row']
        gap = 100 * (entry['gflops'] - row.gflops) / row.gflops
        print(f"| {row.model} | `{row.config}` | {entry['params_m']:.2f} / "
              f"{row.params_m} | {entry['gflops']:.2f} / {row.gflops} | "
              f'{gap:+.1f}% | {row.top1} | {row.note} |')
    print('\nSthv1, 8 frames of 224², 174 classes, one view. FLOPs are '
          'multiply-adds of convs and linear layers; params include the '
          'head.')


if __name__ == '__main__':
    main()
