"""settle() gas per intent for batches of 1, 10 and 100 (fresh fans, cold storage).
Prints the figures (run with -s to see them) and bounds them so a regression fails."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from settle_gas import measure


@pytest.mark.parametrize("kind", [1, 0], ids=["gift", "clap"])
def test_settle_gas_per_intent(project, accounts, chain, kind):
    figures = measure(project, accounts, chain, kind)
    print(f"\nsettle gas per intent ({'gift' if kind else 'clap'}): {figures}")  # noqa: T201 (the figures are the point; -s shows them)
    # batching amortises the 21k base cost and the creator's/treasury's earnings slots
    assert figures[1] > figures[10] > figures[100]
    assert figures[100] < 80_000
    assert figures[1] < 200_000
