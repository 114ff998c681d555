from eth_abi import encode

from relayer.policy import GWEI, backoff_seconds, decode_revert, fees_from_history, next_nonce, route


def test_next_nonce_never_goes_below_the_chain_or_reuses_ours() -> None:
    assert next_nonce(None, 7) == 7
    assert next_nonce(3, 7) == 7  # the chain moved on (another tool sent): follow it
    assert next_nonce(9, 7) == 9  # we signed 7 and 8 that the node has not seen yet: keep going


def test_fees_use_median_tip_and_twice_the_next_base_fee() -> None:
    history = {
        "baseFeePerGas": ["0x1", "0x2", hex(10 * GWEI)],
        "reward": [[hex(2 * GWEI)], [hex(3 * GWEI)], [hex(5 * GWEI)]],
    }
    fees = fees_from_history(history)
    assert fees.max_priority_fee_per_gas == 3 * GWEI
    assert fees.max_fee_per_gas == 20 * GWEI + 3 * GWEI


def test_fees_have_a_minimum_tip_when_blocks_are_empty() -> None:
    fees = fees_from_history({"baseFeePerGas": ["0x0", "0x7"], "reward": [["0x0"]]})
    assert fees.max_priority_fee_per_gas == GWEI
    assert fees.max_fee_per_gas == 14 + GWEI


def test_revert_reasons_are_decoded() -> None:
    error = "0x08c379a0" + encode(["string"], ["coin: payment_ref used"]).hex()
    assert decode_revert(error) == "coin: payment_ref used"
    assert decode_revert("0x4e487b71" + encode(["uint256"], [0x11]).hex()) == "panic 0x11"
    assert decode_revert(None) == "reverted without a reason"
    assert decode_revert("0xdeadbeef") == "reverted: 0xdeadbeef"
    assert decode_revert("0x08c379a0zz").startswith("reverted:")


def test_backoff_grows_and_is_capped() -> None:
    assert backoff_seconds(1) == 2
    assert backoff_seconds(3) == 8
    assert backoff_seconds(50) == 300


def test_the_pool_routes_to_the_least_loaded_key_with_room() -> None:
    keys = ["a", "b", "c", "d"]
    assert route(keys, {}, 10) == keys  # all idle: configuration order (the default key first)
    assert route(keys, {"a": 5, "b": 2, "c": 7}, 10) == ["d", "b", "a", "c"]
    assert route(keys, {"a": 10, "b": 3, "c": 3, "d": 11}, 10) == ["b", "c"]  # a and d are at their cap
    assert route(keys, {k: 10 for k in keys}, 10) == []  # every key full: nothing is sent until one moves
    assert route(["a"], {"a": 3}, 4) == ["a"]
