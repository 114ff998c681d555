"""TipRouter.settle_with_permits: gasless gifts. A fan with no ETH and no allowance signs the
intent and an EIP-2612 permit of the Coin; the relayer's batch applies the permit and settles.
A bad, expired or replayed permit rejects only its own intent (insufficient allowance)."""

from types import SimpleNamespace

import ape
from conftest import GIFT, ONE, PERMIT_TYPES, sign_typed
from eth_account import Account

NO_ALLOWANCE = 6
NONE = (0, 0, 0, b"\x00" * 32, b"\x00" * 32)


def walletless(coin, relayer, n, amount=100 * ONE):
    """A fresh key holding `amount` TK and no ETH (it never sends a transaction)."""
    key = Account.create()
    coin.mint(key.address, amount, (1000 + n).to_bytes(32, "big"), sender=relayer)
    return SimpleNamespace(address=key.address, private_key=key.key)


def permit(chain, coin, router, owner, value, deadline, *, nonce=None, key=None):
    message = {
        "owner": owner.address,
        "spender": router.address,
        "value": value,
        "nonce": coin.nonces(owner.address) if nonce is None else nonce,
        "deadline": deadline,
    }
    sig = sign_typed(
        key or owner.private_key, "Permit", PERMIT_TYPES, message,
        name="Creator Coin", version="1", chain_id=chain.chain_id, verifying_contract=coin.address,
    )  # fmt: skip
    return (value, deadline, sig[64], sig[:32], sig[32:64])


def reasons(router, tx):
    return [(bytes(e.digest), e.reason) for e in tx.events.filter(router.IntentRejected)]


def test_a_fan_with_no_eth_gifts_through_a_permit(chain, router, coin, relayer, creator, signer, make_intent, deadline):
    fan = walletless(coin, relayer, 1)
    assert chain.provider.get_balance(fan.address) == 0 and coin.allowance(fan.address, router) == 0
    intent = make_intent(fan, GIFT, 10 * ONE)
    sig = signer.intent(fan, router, intent)
    # Without the permit the gift has no allowance.
    assert router.settle.call([intent.as_tuple()], [sig], sender=relayer) == 0
    tx = router.settle_with_permits(
        [intent.as_tuple()], [sig], [permit(chain, coin, router, fan, 10 * ONE, deadline)], sender=relayer
    )
    assert len(list(tx.events.filter(router.IntentSettled))) == 1 and reasons(router, tx) == []
    assert coin.balanceOf(fan.address) == 90 * ONE and coin.allowance(fan.address, router) == 0
    assert coin.nonces(fan.address) == 1 and router.earnings(creator, coin) > 0
    assert chain.provider.get_balance(fan.address) == 0


def test_a_bad_permit_rejects_only_its_intent(
    chain, router, coin, relayer, signer, make_intent, deadline, funded, fans
):
    good, expired, forged, replayed, lacking = (walletless(coin, relayer, n) for n in range(2, 7))
    pairs, permits = [], []
    for fan, p in (
        (good, permit(chain, coin, router, good, 5 * ONE, deadline)),
        (expired, permit(chain, coin, router, expired, 5 * ONE, chain.pending_timestamp - 1)),
        (forged, permit(chain, coin, router, forged, 5 * ONE, deadline, key=Account.create().key)),
        (replayed, permit(chain, coin, router, replayed, 5 * ONE, deadline, nonce=7)),  # not its nonce
        (lacking, permit(chain, coin, router, lacking, ONE, deadline)),  # value below the amount
        (funded[0], NONE),  # an approved fan needs no permit
    ):
        intent = make_intent(fan, GIFT, 5 * ONE)
        pairs.append((intent, signer.intent(fan, router, intent)))
        permits.append(p)
    tx = router.settle_with_permits([i.as_tuple() for i, _ in pairs], [s for _, s in pairs], permits, sender=relayer)
    settled = {e.from_ for e in tx.events.filter(router.IntentSettled)}
    assert settled == {good.address, funded[0].address}
    digests = [signer.intent_digest(router, i) for i, _ in pairs]
    assert reasons(router, tx) == [(d, NO_ALLOWANCE) for d in digests[1:5]]
    for fan in (expired, forged, replayed, lacking):
        assert coin.balanceOf(fan.address) == 100 * ONE and coin.allowance(fan.address, router) in (0, ONE)


def test_a_permit_used_before_the_batch_does_not_block_the_gift(
    chain, router, coin, relayer, stranger, signer, make_intent, deadline
):
    fan = walletless(coin, relayer, 8)
    p = permit(chain, coin, router, fan, 3 * ONE, deadline)
    coin.permit(fan.address, router, *p, sender=stranger)  # someone submits it first
    intent = make_intent(fan, GIFT, 3 * ONE)
    tx = router.settle_with_permits([intent.as_tuple()], [signer.intent(fan, router, intent)], [p], sender=relayer)
    assert len(list(tx.events.filter(router.IntentSettled))) == 1


def test_permits_must_match_the_intents(router, relayer, signer, make_intent, funded, fan):
    intent = make_intent(fan, GIFT, ONE)
    with ape.reverts("router: length mismatch"):
        router.settle_with_permits([intent.as_tuple()], [signer.intent(fan, router, intent)], [], sender=relayer)
