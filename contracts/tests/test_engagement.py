"""Engagement (TKI): accrued once per epoch by the accruer; only the router moves it."""

import ape
from conftest import ONE, role


def test_metadata_and_roles(tki, admin, relayer):
    assert (tki.name(), tki.symbol(), tki.decimals()) == ("Creator Engagement", "TKI", 18)
    assert tki.ACCRUER_ROLE() == role("ACCRUER_ROLE")
    assert tki.MOVER_ROLE() == role("MOVER_ROLE")
    assert tki.hasRole(tki.DEFAULT_ADMIN_ROLE(), admin)
    assert tki.hasRole(role("ACCRUER_ROLE"), relayer)
    assert tki.supportsInterface(bytes.fromhex("7965db0b"))


def test_accrue_mints_and_emits(tki, relayer, fans):
    tx = tki.accrue(20240101, [fans[0], fans[1], fans[2]], [3 * ONE, 0, 5 * ONE], sender=relayer)
    assert tki.balanceOf(fans[0]) == 3 * ONE
    assert tki.balanceOf(fans[1]) == 0
    assert tki.balanceOf(fans[2]) == 5 * ONE
    assert tki.totalSupply() == 8 * ONE
    assert tki.epoch_accrued(20240101)
    events = list(tx.events.filter(tki.Accrued))
    assert [(e.epoch, e.account, e.amount) for e in events] == [
        (20240101, fans[0], 3 * ONE),
        (20240101, fans[2], 5 * ONE),
    ]


def test_epoch_accrues_once(tki, relayer, fan):
    tki.accrue(7, [fan], [ONE], sender=relayer)
    with ape.reverts("engagement: epoch already accrued"):
        tki.accrue(7, [fan], [ONE], sender=relayer)
    tki.accrue(8, [fan], [ONE], sender=relayer)
    assert tki.balanceOf(fan) == 2 * ONE


def test_accrue_reverts(tki, relayer, fan, stranger):
    with ape.reverts("access_control: account is missing role"):
        tki.accrue(1, [fan], [ONE], sender=stranger)
    with ape.reverts("engagement: length mismatch"):
        tki.accrue(1, [fan], [ONE, ONE], sender=relayer)
    with ape.reverts("engagement: empty accrual"):
        tki.accrue(1, [], [], sender=relayer)
    assert not tki.epoch_accrued(1)


def test_users_cannot_move_it(tki, relayer, fans):
    tki.accrue(1, [fans[0]], [ONE], sender=relayer)
    with ape.reverts("access_control: account is missing role"):
        tki.transfer(fans[1], ONE, sender=fans[0])
    with ape.reverts("access_control: account is missing role"):
        tki.transferFrom(fans[0], fans[1], ONE, sender=fans[1])
    with ape.reverts("engagement: non-transferable"):
        tki.approve(fans[1], ONE, sender=fans[0])
    assert tki.allowance(fans[0], fans[1]) == 0
    assert tki.balanceOf(fans[0]) == ONE


def test_mover_moves_without_allowance(tki, admin, relayer, fans, stranger):
    tki.accrue(1, [fans[0]], [2 * ONE], sender=relayer)
    tki.grantRole(role("MOVER_ROLE"), stranger, sender=admin)
    tx = tki.transferFrom(fans[0], stranger, ONE, sender=stranger)
    [t] = tx.events.filter(tki.Transfer)
    assert (t.sender, t.receiver, t.value) == (fans[0], stranger, ONE)
    tki.transfer(fans[1], ONE, sender=stranger)
    assert tki.balanceOf(fans[1]) == ONE and tki.balanceOf(stranger) == 0
    with ape.reverts("erc20: transfer amount exceeds balance"):
        tki.transferFrom(fans[0], stranger, 2 * ONE, sender=stranger)


def test_role_admin(tki, admin, relayer, stranger):
    with ape.reverts("access_control: account is missing role"):
        tki.grantRole(role("ACCRUER_ROLE"), stranger, sender=stranger)
    tki.revokeRole(role("ACCRUER_ROLE"), relayer, sender=admin)
    assert not tki.hasRole(role("ACCRUER_ROLE"), relayer)
