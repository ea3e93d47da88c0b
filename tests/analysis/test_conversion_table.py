"""cakes_mm.analysis.conversion_table: the table of docs/conversion.md is
the one the package prints, and its reasons are summarised."""

import os.path as osp

import pytest
from tool_helpers import REPO

from cakes_mm.analysis.conversion_table import conversion_table, summarise

DOC = osp.join(REPO, 'docs', 'conversion.md')
SECTION = '## MONAI networks'


def documented_table():
    """The Markdown table under the 'MONAI networks' heading."""
    with open(DOC, encoding='utf-8') as file:
        text = file.read()
    assert SECTION in text, f'{DOC} has no {SECTION!r} section'
    section = text.split(SECTION, 1)[1].split('\n## ', 1)[0]
    rows = [line for line in section.splitlines() if line.startswith('|')]
    return '\n'.join(rows) + '\n'


@pytest.mark.slow  # builds and converts VNet (45M parameters) four times
def test_docs_table_is_what_the_package_prints():
    table = conversion_table()
    assert table == documented_table()
    # VNet's 2x2x2 down convs are skipped in every column.
    vnet = next(row for row in table.splitlines() if row.startswith('| VNet'))
    assert vnet.count('4 even kernel') == 4


def test_reasons_are_summarised():
    grouped = 'a grouped conv (groups=2, 4->4) cannot be converted; exclude'
    assert summarise(grouped) == 'grouped'
    assert summarise('something new; exclude it') == 'something new'
