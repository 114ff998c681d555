"""The short chaos run (bench/chaos.py): queued mints and direct traffic while the indexer and the
relayer are SIGKILLed and anvil reorgs 1-5 blocks deep; then exactly-once mints, no nonce gap,
raw events equal to the chain's logs and a clean ``indexer verify``."""

from __future__ import annotations

from bench import chaos
from tests.conftest import ADMIN_DSN


async def test_short_chaos_run_loses_and_duplicates_nothing() -> None:
    # Confirmations (2) below the deepest reorg (5): confirmed-but-not-final txs get dropped and must come back.
    args = chaos.parse(
        ["--short", "--seed", "7", "--confirmations", "2", "--drain-timeout", "240", "--admin-dsn", ADMIN_DSN]
    )
    assert await chaos.main(args) == 0
