"""TipRouter withdrawals (direct and signed/gasless), admin functions, and a token
callback trying to re-enter a withdrawal."""

import ape
import pytest
from conftest import CLAP, FEE_BPS, GIFT, ONE, ROUTER_DOMAIN, role


@pytest.fixture
def earned(router, relayer, funded, fans, signer, make_intent):
    """The creator has earned 9.75 TK and 4.875 TKI (fee 2.5 %)."""
    intents = [make_intent(fans[0], GIFT, 10 * ONE), make_intent(fans[1], CLAP, 5 * ONE)]
    sigs = [signer.intent(fans[0], router, intents[0]), signer.intent(fans[1], router, intents[1])]
    router.settle([i.as_tuple() for i in intents], sigs, sender=relayer)
    return {"coin": 10 * ONE * (10_000 - FEE_BPS) // 10_000, "tki": 5 * ONE * (10_000 - FEE_BPS) // 10_000}


def test_withdraw(router, coin, tki, creator, earned):
    tx = router.withdraw(coin, ONE, sender=creator)
    [e] = tx.events.filter(router.Withdrawn)
    assert (e.creator, e.token, e.amount) == (creator, coin, ONE)
    assert coin.balanceOf(creator) == ONE
    assert router.earnings(creator, coin) == earned["coin"] - ONE
    router.withdraw(tki, earned["tki"], sender=creator)  # TKI leaves through the router's mover role
    assert tki.balanceOf(creator) == earned["tki"] and router.earnings(creator, tki) == 0


def test_treasury_withdraws_fees(router, coin, treasury, earned):
    fee = 10 * ONE * FEE_BPS // 10_000
    router.withdraw(coin, fee, sender=treasury)
    assert coin.balanceOf(treasury) == fee and router.earnings(treasury, coin) == 0


def test_withdraw_reverts(router, coin, admin, creator, stranger, earned):
    with ape.reverts("router: insufficient earnings"):
        router.withdraw(coin, earned["coin"] + 1, sender=creator)
    with ape.reverts("router: insufficient earnings"):
        router.withdraw(coin, 1, sender=stranger)
    with ape.reverts("router: zero amount"):
        router.withdraw(coin, 0, sender=creator)
    router.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        router.withdraw(coin, 1, sender=creator)


def test_withdraw_for(router, coin, relayer, creator, earned, signer, deadline):
    sig = signer.withdrawal(creator, router, coin, 2 * ONE, 77, deadline)
    assert bytes(router.withdrawal_digest(creator, coin, 2 * ONE, 77, deadline)) != b"\x00" * 32
    tx = router.withdraw_for(creator, coin, 2 * ONE, 77, deadline, sig, sender=relayer)
    [e] = tx.events.filter(router.Withdrawn)
    assert (e.creator, e.token, e.amount) == (creator, coin, 2 * ONE)
    assert coin.balanceOf(creator) == 2 * ONE and coin.balanceOf(relayer) == 0
    assert router.nonce_used(creator, 77)
    with ape.reverts("router: nonce used"):  # replay
        router.withdraw_for(creator, coin, 2 * ONE, 77, deadline, sig, sender=relayer)


def test_withdraw_for_reverts(router, coin, admin, relayer, creator, stranger, earned, signer, deadline, chain):
    good = signer.withdrawal(creator, router, coin, ONE, 1, deadline)
    with ape.reverts("router: invalid signature"):  # signed by someone else
        router.withdraw_for(
            creator,
            coin,
            ONE,
            1,
            deadline,
            signer.withdrawal(stranger, router, coin, ONE, 1, deadline, creator=creator),
            sender=relayer,
        )
    with ape.reverts("router: invalid signature"):  # other amount than signed
        router.withdraw_for(creator, coin, 2 * ONE, 1, deadline, good, sender=relayer)
    with ape.reverts("router: invalid signature"):  # other chain id
        router.withdraw_for(
            creator,
            coin,
            ONE,
            1,
            deadline,
            signer.withdrawal(creator, router, coin, ONE, 1, deadline, chain_id=999),
            sender=relayer,
        )
    with ape.reverts("router: invalid signature"):  # other contract
        router.withdraw_for(
            creator,
            coin,
            ONE,
            1,
            deadline,
            signer.withdrawal(creator, router, coin, ONE, 1, deadline, verifying_contract=str(coin.address)),
            sender=relayer,
        )
    with ape.reverts("ecdsa: invalid signature `s` value"):
        router.withdraw_for(creator, coin, ONE, 1, deadline, good[:32] + b"\xff" * 32 + good[64:], sender=relayer)
    with ape.reverts("router: insufficient earnings"):
        sig = signer.withdrawal(creator, router, coin, 100 * ONE, 2, deadline)
        router.withdraw_for(creator, coin, 100 * ONE, 2, deadline, sig, sender=relayer)
    router.invalidate_nonce(3, sender=creator)
    with ape.reverts("router: nonce used"):
        router.withdraw_for(
            creator, coin, ONE, 3, deadline, signer.withdrawal(creator, router, coin, ONE, 3, deadline), sender=relayer
        )
    short = chain.pending_timestamp + 60
    expiring = signer.withdrawal(creator, router, coin, ONE, 4, short)
    chain.pending_timestamp += 120
    with ape.reverts("router: signature expired"):
        router.withdraw_for(creator, coin, ONE, 4, short, expiring, sender=relayer)
    router.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        router.withdraw_for(creator, coin, ONE, 1, deadline, good, sender=relayer)
    router.unpause(sender=admin)
    router.withdraw_for(creator, coin, ONE, 1, deadline, good, sender=stranger)  # anyone may submit
    assert coin.balanceOf(creator) == ONE and coin.balanceOf(stranger) == 0


def test_admin(router, admin, stranger, treasury):
    with ape.reverts("access_control: account is missing role"):
        router.set_fee_bps(1, sender=stranger)
    with ape.reverts("access_control: account is missing role"):
        router.set_treasury(stranger, sender=stranger)
    with ape.reverts("access_control: account is missing role"):
        router.pause(sender=stranger)
    with ape.reverts("router: fee too high"):
        router.set_fee_bps(3001, sender=admin)
    with ape.reverts("router: zero treasury"):
        router.set_treasury("0x" + "00" * 20, sender=admin)
    tx = router.set_fee_bps(100, sender=admin)
    [e] = tx.events.filter(router.FeeUpdated)
    assert (e.old_fee_bps, e.new_fee_bps) == (FEE_BPS, 100) and router.fee_bps() == 100
    tx = router.set_treasury(stranger, sender=admin)
    [e] = tx.events.filter(router.TreasuryUpdated)
    assert (e.old_treasury, e.new_treasury) == (treasury, stranger) and router.treasury() == stranger
    tx = router.pause(sender=admin)
    assert router.paused() and len(list(tx.events.filter(router.Paused))) == 1
    with ape.reverts("pausable: contract is paused"):
        router.pause(sender=admin)
    with ape.reverts("access_control: account is missing role"):
        router.unpause(sender=stranger)
    router.unpause(sender=admin)
    assert not router.paused()
    with ape.reverts("pausable: contract is not paused"):
        router.unpause(sender=admin)


def test_new_treasury_gets_later_fees(
    router, coin, admin, relayer, stranger, treasury, funded, fan, signer, make_intent
):
    router.set_treasury(stranger, sender=admin)
    intent = make_intent(fan, GIFT, 10 * ONE)
    router.settle([intent.as_tuple()], [signer.intent(fan, router, intent)], sender=relayer)
    assert router.earnings(stranger, coin) == 10 * ONE * FEE_BPS // 10_000
    assert router.earnings(treasury, coin) == 0


def test_reentrant_withdrawal_is_blocked(project, admin, relayer, treasury, tki, fan, signer, chain):
    """A token whose transfer calls back the recipient: the creator contract re-enters
    withdraw during its own withdrawal. The lock stops it; the creator is paid once."""
    hook = admin.deploy(project.HookToken)
    router = admin.deploy(project.TipRouter, hook, tki, treasury, 0, *ROUTER_DOMAIN)
    router.grantRole(role("SETTLER_ROLE"), relayer, sender=admin)
    attacker = admin.deploy(project.ReentrantAttacker, router)
    hook.mint(fan, 10 * ONE, sender=admin)
    hook.approve(router, 10 * ONE, sender=fan)
    from conftest import Intent

    intent = Intent(
        str(fan.address), str(attacker.address), str(hook.address), 10 * ONE, GIFT, 1, chain.pending_timestamp + 3600
    )
    router.settle([intent.as_tuple()], [signer.intent(fan, router, intent)], sender=relayer)
    assert router.earnings(attacker, hook) == 10 * ONE
    withdraw_4 = router.withdraw.encode_input(hook, 4 * ONE)
    attacker.configure(withdraw_4, False, sender=admin)
    attacker.execute(withdraw_4, 0, sender=admin)
    assert attacker.reenter_attempts() == 1
    assert attacker.reenter_successes() == 0
    assert hook.balanceOf(attacker) == 4 * ONE
    assert router.earnings(attacker, hook) == 6 * ONE
    assert hook.balanceOf(router) == 6 * ONE
