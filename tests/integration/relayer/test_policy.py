"""The relayer's replacement and nonce-reconciliation policy, without a chain."""

from __future__ import annotations

from relayer.policy import GWEI, Fees, bump_fees, is_stuck, reconciled_nonce


def test_a_replacement_bumps_both_fees_by_at_least_an_eighth() -> None:
    fees = bump_fees(Fees(10 * GWEI, GWEI), Fees(1, 1), cap=100 * GWEI)
    assert fees == Fees(11_250_000_000, 1_125_000_000)


def test_a_replacement_follows_the_market_when_it_moved_more() -> None:
    fees = bump_fees(Fees(10 * GWEI, GWEI), Fees(40 * GWEI, 3 * GWEI), cap=100 * GWEI)
    assert fees == Fees(40 * GWEI, 3 * GWEI)


def test_bumps_round_up_so_tiny_fees_still_grow() -> None:
    fees = bump_fees(Fees(7, 1), Fees(0, 0), cap=GWEI)
    assert fees is not None
    assert fees.max_fee_per_gas * 1000 >= 7 * 1125
    assert fees.max_priority_fee_per_gas == 2


def test_no_replacement_above_the_cap() -> None:
    assert bump_fees(Fees(90 * GWEI, GWEI), Fees(1, 1), cap=100 * GWEI) is None
    assert bump_fees(Fees(80 * GWEI, GWEI), Fees(1, 1), cap=90 * GWEI) == Fees(90 * GWEI, 1_125_000_000)


def test_stuck_after_blocks_or_seconds() -> None:
    assert not is_stuck(head=10, sent_block=9, elapsed=1, stuck_blocks=3, stuck_seconds=30)
    assert is_stuck(head=12, sent_block=9, elapsed=1, stuck_blocks=3, stuck_seconds=30)
    assert is_stuck(head=9, sent_block=9, elapsed=31, stuck_blocks=3, stuck_seconds=30)  # automine off


def test_nonces_no_transaction_holds_are_freed_and_holes_are_reported() -> None:
    assert reconciled_nonce(15, 10, []) == (10, [])
    assert reconciled_nonce(15, 10, [10, 11]) == (12, [])
    assert reconciled_nonce(15, 10, [7, 12]) == (13, [10, 11])
    assert reconciled_nonce(8, 10, []) == (10, [])
