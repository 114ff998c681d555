"""TipRouter.settle: valid intents move funds minus the fee; each invalid one is skipped
with its reason, never reverting the batch; signatures bind chain id and contract."""

import ape
import pytest
from conftest import CLAP, FEE_BPS, GIFT, ONE, ROUTER_DOMAIN, role
from eth_account import Account

BAD_SIGNATURE, NONCE_USED, EXPIRED, WRONG_TOKEN, NO_BALANCE, NO_ALLOWANCE, INVALID = range(1, 8)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def settle(router, relayer, signer, pairs):
    intents = [i.as_tuple() for i, _ in pairs]
    return router.settle(intents, [s for _, s in pairs], sender=relayer)


def signed(signer, router, fan, intent):
    return intent, signer.intent(fan, router, intent)


def rejections(router, tx):
    return [(bytes(e.digest), e.reason) for e in tx.events.filter(router.IntentRejected)]


def test_constants_and_config(router, coin, tki, treasury, admin, relayer):
    assert router.coin() == coin and router.engagement() == tki
    assert router.treasury() == treasury and router.fee_bps() == FEE_BPS
    assert router.hasRole(role("SETTLER_ROLE"), relayer)
    assert router.hasRole(router.DEFAULT_ADMIN_ROLE(), admin)
    assert (router.KIND_CLAP(), router.KIND_GIFT()) == (CLAP, GIFT)
    assert [
        router.REASON_BAD_SIGNATURE(),
        router.REASON_NONCE_USED(),
        router.REASON_EXPIRED(),
        router.REASON_WRONG_TOKEN(),
        router.REASON_INSUFFICIENT_BALANCE(),
        router.REASON_INSUFFICIENT_ALLOWANCE(),
        router.REASON_INVALID(),
    ] == list(range(1, 8))
    assert router.MAX_BATCH() == 256 and router.MAX_FEE_BPS() == 3000
    fields = router.eip712Domain()
    assert (fields[1], fields[2], fields[4]) == (*ROUTER_DOMAIN, router.address)


def test_constructor_validation(project, accounts, coin, tki, treasury):
    # A deployer that deploys nowhere else: after a snapshot revert, ape (0.8.51 + ape-foundry)
    # decodes a failed deployment's trace with whatever contract type it cached at that
    # address earlier in the session, and crashes instead of reporting the revert.
    admin = accounts[9]
    zero = "0x" + "00" * 20
    with ape.reverts("router: zero token"):
        admin.deploy(project.TipRouter, zero, tki, treasury, 0, *ROUTER_DOMAIN)
    with ape.reverts("router: same token"):
        admin.deploy(project.TipRouter, coin, coin, treasury, 0, *ROUTER_DOMAIN)
    with ape.reverts("router: zero treasury"):
        admin.deploy(project.TipRouter, coin, tki, zero, 0, *ROUTER_DOMAIN)
    with ape.reverts("router: fee too high"):
        admin.deploy(project.TipRouter, coin, tki, treasury, 3001, *ROUTER_DOMAIN)


def test_gift_settles_with_fee(router, coin, relayer, treasury, creator, funded, fan, signer, make_intent):
    intent = make_intent(fan, GIFT, 10 * ONE)
    pair = signed(signer, router, fan, intent)
    assert router.settle.call([intent.as_tuple()], [pair[1]], sender=relayer) == 1
    tx = settle(router, relayer, signer, [pair])
    fee = 10 * ONE * FEE_BPS // 10_000
    assert coin.balanceOf(fan) == 90 * ONE
    assert coin.balanceOf(router) == 10 * ONE
    assert router.earnings(creator, coin) == 10 * ONE - fee
    assert router.earnings(treasury, coin) == fee
    assert router.nonce_used(fan, intent.nonce)
    [e] = tx.events.filter(router.IntentSettled)
    assert bytes(e.digest) == signer.intent_digest(router, intent) == bytes(router.intent_digest(intent.as_tuple()))
    assert (e.from_, e.to, e.token, e.amount, e.kind, e.fee) == (fan, creator, coin, 10 * ONE, GIFT, fee)


def test_clap_settles_without_allowance(router, tki, relayer, treasury, creator, funded, fan, signer, make_intent):
    assert tki.allowance(fan, router) == 0
    intent = make_intent(fan, CLAP, 4 * ONE)
    tx = settle(router, relayer, signer, [signed(signer, router, fan, intent)])
    fee = 4 * ONE * FEE_BPS // 10_000
    assert tki.balanceOf(fan) == 96 * ONE and tki.balanceOf(router) == 4 * ONE
    assert router.earnings(creator, tki) == 4 * ONE - fee
    assert router.earnings(treasury, tki) == fee
    [e] = tx.events.filter(router.IntentSettled)
    assert (e.kind, e.token, e.fee) == (CLAP, tki, fee)


def test_zero_fee_credits_no_treasury(
    router, coin, admin, relayer, treasury, creator, funded, fan, signer, make_intent
):
    router.set_fee_bps(0, sender=admin)
    tx = settle(router, relayer, signer, [signed(signer, router, fan, make_intent(fan, GIFT, 3))])
    assert router.earnings(creator, coin) == 3 and router.earnings(treasury, coin) == 0
    assert next(iter(tx.events.filter(router.IntentSettled))).fee == 0


def test_replay_is_rejected(router, coin, relayer, creator, funded, fan, signer, make_intent):
    pair = signed(signer, router, fan, make_intent(fan, GIFT, ONE))
    settle(router, relayer, signer, [pair])
    tx = settle(router, relayer, signer, [pair])
    assert rejections(router, tx) == [(signer.intent_digest(router, pair[0]), NONCE_USED)]
    assert not list(tx.events.filter(router.IntentSettled))
    assert coin.balanceOf(fan) == 99 * ONE
    # the same intent twice in one batch settles once
    pair2 = signed(signer, router, fan, make_intent(fan, GIFT, ONE))
    tx = settle(router, relayer, signer, [pair2, pair2])
    assert len(list(tx.events.filter(router.IntentSettled))) == 1
    assert [r for _, r in rejections(router, tx)] == [NONCE_USED]


def test_expired_is_rejected(router, relayer, funded, fan, signer, make_intent, chain):
    pair = signed(signer, router, fan, make_intent(fan, GIFT, ONE, deadline=chain.pending_timestamp + 60))
    chain.pending_timestamp += 120
    tx = settle(router, relayer, signer, [pair])
    assert [r for _, r in rejections(router, tx)] == [EXPIRED]
    assert not router.nonce_used(fan, pair[0].nonce)


@pytest.mark.parametrize("forge", ["chain_id", "contract", "name"])
def test_wrong_domain_is_rejected(router, coin, relayer, funded, fan, signer, make_intent, forge):
    intent = make_intent(fan, GIFT, ONE)
    kwargs = {
        "chain_id": {"chain_id": 1 if signer.chain_id != 1 else 5},
        "contract": {"verifying_contract": str(coin.address)},
        "name": {"name": "OtherRouter"},
    }[forge]
    tx = settle(router, relayer, signer, [(intent, signer.intent(fan, router, intent, **kwargs))])
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE]
    assert coin.balanceOf(fan) == 100 * ONE


def test_another_contract_with_same_name_rejects(
    project, admin, router, coin, tki, treasury, relayer, funded, fan, signer, make_intent
):
    """A signature for one router deployment does not settle on another (verifyingContract)."""
    other = admin.deploy(project.TipRouter, coin, tki, treasury, FEE_BPS, *ROUTER_DOMAIN)
    other.grantRole(role("SETTLER_ROLE"), relayer, sender=admin)
    coin.approve(other, 2**256 - 1, sender=fan)
    intent, sig = signed(signer, router, fan, make_intent(fan, GIFT, ONE))
    tx = other.settle([intent.as_tuple()], [sig], sender=relayer)
    assert [e.reason for e in tx.events.filter(other.IntentRejected)] == [BAD_SIGNATURE]


def test_signature_by_someone_else_or_tampered(router, relayer, funded, fans, signer, make_intent):
    intent = make_intent(fans[0], GIFT, ONE)
    by_other = signer.intent(fans[1], router, intent)
    tampered = signer.intent(fans[0], router, intent.but(amount=2))  # signed another amount
    tx = settle(router, relayer, signer, [(intent, by_other), (intent, tampered)])
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE, BAD_SIGNATURE]


def test_malformed_signatures_never_revert(router, coin, relayer, creator, funded, fan, signer, make_intent):
    intent = make_intent(fan, GIFT, ONE)
    good = signer.intent(fan, router, intent)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin
    garbage_r = (2**256 - 1).to_bytes(32, "big") + good[32:64] + bytes([v])
    bad_v = good[:64] + bytes([29])
    cases = [b"", b"\x01" * 10, good[:64], high_s, garbage_r, bad_v, b"\x00" * 65]
    tx = settle(router, relayer, signer, [(intent, c) for c in cases] + [(intent, good)])
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE] * len(cases)
    assert len(list(tx.events.filter(router.IntentSettled))) == 1
    assert coin.balanceOf(fan) == 99 * ONE


def test_wrong_token_and_kind(router, coin, tki, relayer, funded, fan, signer, make_intent):
    stranger_token = "0x" + "11" * 20
    cases = [
        make_intent(fan, GIFT, ONE, token=str(tki.address)),  # gift paid in TKI
        make_intent(fan, CLAP, ONE, token=str(coin.address)),  # clap paid in TK
        make_intent(fan, GIFT, ONE, token=stranger_token),
        make_intent(fan, 2, ONE, token=str(coin.address)),
    ]
    tx = settle(router, relayer, signer, [signed(signer, router, fan, i) for i in cases])
    assert [r for _, r in rejections(router, tx)] == [WRONG_TOKEN] * 4


def test_invalid_fields(router, relayer, funded, fan, signer, make_intent):
    zero = "0x" + "00" * 20
    cases = [
        make_intent(fan, GIFT, 0),
        make_intent(fan, GIFT, ONE, to=zero),
        make_intent(fan, GIFT, ONE, to=str(fan.address)),
    ]
    pairs = [signed(signer, router, fan, i) for i in cases]
    pairs.append((make_intent(fan, GIFT, ONE, from_=zero), b"\x00" * 65))
    tx = settle(router, relayer, signer, pairs)
    assert [r for _, r in rejections(router, tx)] == [INVALID] * 4


def test_insufficient_balance_and_allowance(router, coin, tki, relayer, funded, fans, signer, make_intent):
    fan = fans[0]
    coin.approve(router, ONE, sender=fans[1])
    cases = [
        signed(signer, router, fan, make_intent(fan, GIFT, 101 * ONE)),
        signed(signer, router, fan, make_intent(fan, CLAP, 101 * ONE)),
        signed(signer, router, fans[1], make_intent(fans[1], GIFT, 2 * ONE)),
    ]
    tx = settle(router, relayer, signer, cases)
    assert [r for _, r in rejections(router, tx)] == [NO_BALANCE, NO_BALANCE, NO_ALLOWANCE]
    # not consumed: the same signed intent settles once the fan can pay
    coin.approve(router, 2 * ONE, sender=fans[1])
    tx = settle(router, relayer, signer, [cases[2]])
    assert len(list(tx.events.filter(router.IntentSettled))) == 1


def test_balance_is_checked_after_earlier_intents_of_the_batch(router, coin, relayer, funded, fan, signer, make_intent):
    pairs = [signed(signer, router, fan, make_intent(fan, GIFT, 60 * ONE)) for _ in range(2)]
    tx = settle(router, relayer, signer, pairs)
    assert len(list(tx.events.filter(router.IntentSettled))) == 1
    assert [r for _, r in rejections(router, tx)] == [NO_BALANCE]
    assert coin.balanceOf(fan) == 40 * ONE


def test_mixed_batch(router, coin, tki, relayer, treasury, creator, funded, fans, signer, make_intent, chain):
    good = [
        signed(signer, router, fans[0], make_intent(fans[0], GIFT, 5 * ONE)),
        signed(signer, router, fans[1], make_intent(fans[1], CLAP, 7 * ONE)),
        signed(signer, router, fans[2], make_intent(fans[2], GIFT, ONE)),
    ]
    expired = make_intent(fans[0], GIFT, ONE, deadline=chain.pending_timestamp - 1)
    bad = [
        (make_intent(fans[0], GIFT, ONE), signer.intent(fans[1], router, make_intent(fans[0], GIFT, ONE))),
        signed(signer, router, fans[0], expired),
        signed(signer, router, fans[1], make_intent(fans[1], GIFT, 500 * ONE)),
    ]
    batch = [bad[0], good[0], bad[1], good[1], bad[2], good[2]]
    tx = settle(router, relayer, signer, batch)
    settled = list(tx.events.filter(router.IntentSettled))
    assert [bytes(e.digest) for e in settled] == [signer.intent_digest(router, i) for i, _ in good]
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE, EXPIRED, NO_BALANCE]
    assert coin.balanceOf(router) == 6 * ONE and tki.balanceOf(router) == 7 * ONE
    assert router.earnings(creator, coin) + router.earnings(treasury, coin) == 6 * ONE
    assert router.earnings(creator, tki) + router.earnings(treasury, tki) == 7 * ONE


def test_contract_wallet_signer(project, router, coin, relayer, creator, fan, signer, make_intent):
    """An EIP-1271 wallet tips with its owner's signature; someone else's is rejected."""
    wallet = fan.deploy(project.Wallet1271, fan)
    coin.mint(wallet, 10 * ONE, (99).to_bytes(32, "big"), sender=relayer)
    wallet.call(coin, coin.approve.encode_input(router, 2**256 - 1), sender=fan)
    intent = make_intent(fan, GIFT, 2 * ONE, from_=str(wallet.address))
    forged = make_intent(fan, GIFT, 2 * ONE, from_=str(wallet.address))
    tx = settle(
        router,
        relayer,
        signer,
        [
            (intent, signer.intent(fan, router, intent)),
            (forged, signer.intent(creator, router, forged)),
            (forged, b"\x01" * 3),
        ],
    )
    assert len(list(tx.events.filter(router.IntentSettled))) == 1
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE, BAD_SIGNATURE]
    assert coin.balanceOf(wallet) == 8 * ONE


def test_invalidate_nonce(router, relayer, funded, fan, signer, make_intent):
    pair = signed(signer, router, fan, make_intent(fan, GIFT, ONE))
    tx = router.invalidate_nonce(pair[0].nonce, sender=fan)
    [e] = tx.events.filter(router.NonceInvalidated)
    assert (e.account, e.nonce) == (fan, pair[0].nonce)
    with ape.reverts("router: nonce used"):
        router.invalidate_nonce(pair[0].nonce, sender=fan)
    tx = settle(router, relayer, signer, [pair])
    assert [r for _, r in rejections(router, tx)] == [NONCE_USED]


def test_settle_reverts(router, admin, relayer, stranger, funded, fan, signer, make_intent):
    pair = signed(signer, router, fan, make_intent(fan, GIFT, ONE))
    with ape.reverts("access_control: account is missing role"):
        settle(router, stranger, signer, [pair])
    with ape.reverts("router: length mismatch"):
        router.settle([pair[0].as_tuple()], [], sender=relayer)
    router.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        settle(router, relayer, signer, [pair])
    router.unpause(sender=admin)
    tx = settle(router, relayer, signer, [pair])
    assert len(list(tx.events.filter(router.IntentSettled))) == 1


def test_empty_batch(router, relayer):
    tx = router.settle([], [], sender=relayer)
    assert not list(tx.events.filter(router.IntentSettled))


def test_fresh_key_never_seen_on_chain(router, relayer, signer, make_intent, funded):
    """A signature from an unrelated key claiming to be the fan is rejected."""
    outsider = Account.create()
    intent = make_intent(funded[0], GIFT, ONE)
    from conftest import INTENT_TYPES, intent_message, sign_typed

    sig = sign_typed(
        outsider.key,
        "Intent",
        INTENT_TYPES,
        intent_message(intent),
        name=ROUTER_DOMAIN[0],
        version=ROUTER_DOMAIN[1],
        chain_id=signer.chain_id,
        verifying_contract=router.address,
    )
    tx = settle(router, relayer, signer, [(intent, sig)])
    assert [r for _, r in rejections(router, tx)] == [BAD_SIGNATURE]
