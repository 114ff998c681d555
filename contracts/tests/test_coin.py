"""Coin (TK): minter-only mint, one mint per payment reference, EIP-2612 permit."""

import ape
from conftest import ONE, PERMIT_TYPES, sign_typed


def ref(n: int) -> bytes:
    return n.to_bytes(32, "big")


def test_metadata(coin, admin, relayer):
    assert coin.name() == "Creator Coin"
    assert coin.symbol() == "TK"
    assert coin.decimals() == 18
    assert coin.owner() == admin
    assert coin.is_minter(relayer)


def test_mint_emits_and_credits(coin, relayer, fan):
    tx = coin.mint(fan, 5 * ONE, ref(42), sender=relayer)
    assert coin.balanceOf(fan) == 5 * ONE
    assert coin.totalSupply() == 5 * ONE
    assert coin.payment_used(ref(42))
    [minted] = tx.events.filter(coin.Minted)
    assert (minted.to, minted.amount, minted.payment_ref) == (fan, 5 * ONE, ref(42))
    [transfer] = tx.events.filter(coin.Transfer)
    assert transfer.receiver == fan and transfer.value == 5 * ONE


def test_payment_ref_mints_once(coin, relayer, fan, fans):
    coin.mint(fan, ONE, ref(7), sender=relayer)
    with ape.reverts("coin: payment_ref used"):
        coin.mint(fans[1], ONE, ref(7), sender=relayer)
    assert coin.totalSupply() == ONE


def test_mint_reverts(coin, relayer, fan, stranger):
    with ape.reverts("coin: not minter"):
        coin.mint(fan, ONE, ref(1), sender=stranger)
    with ape.reverts("coin: empty payment_ref"):
        coin.mint(fan, ONE, ref(0), sender=relayer)
    with ape.reverts("coin: zero amount"):
        coin.mint(fan, 0, ref(1), sender=relayer)


def test_minter_role_can_be_revoked(coin, admin, relayer, fan):
    coin.set_minter(relayer, False, sender=admin)
    with ape.reverts("coin: not minter"):
        coin.mint(fan, ONE, ref(1), sender=relayer)


def test_permit(coin, relayer, fan, stranger, chain):
    coin.mint(fan, ONE, ref(3), sender=relayer)
    deadline = chain.pending_timestamp + 3600
    message = {"owner": fan.address, "spender": stranger.address, "value": ONE, "nonce": 0, "deadline": deadline}
    sig = sign_typed(
        fan.private_key,
        "Permit",
        PERMIT_TYPES,
        message,
        name="Creator Coin",
        version="1",
        chain_id=chain.chain_id,
        verifying_contract=coin.address,
    )
    v, r, s = sig[64], sig[:32], sig[32:64]
    coin.permit(fan, stranger, ONE, deadline, v, r, s, sender=stranger)
    assert coin.allowance(fan, stranger) == ONE
    assert coin.nonces(fan) == 1
    coin.transferFrom(fan, stranger, ONE, sender=stranger)
    assert coin.balanceOf(stranger) == ONE
    with ape.reverts("erc20: invalid signature"):
        coin.permit(fan, stranger, ONE, deadline, v, r, s, sender=stranger)  # replay: nonce moved on
