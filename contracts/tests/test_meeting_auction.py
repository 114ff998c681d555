"""MeetingAuction: creation, bidding rules, pull refunds, anti-sniping, ending, cancelling,
admin parameters, and hostile bidders/sellers."""

import ape
import pytest
from conftest import AUCTION_FEE_BPS, EXTENSION, EXTENSION_WINDOW, MIN_INCREMENT_BPS, ONE

ZERO = "0x" + "00" * 20
ACTIVE, ENDED, CANCELLED = 1, 2, 3
DURATION = 3600


@pytest.fixture
def seller(creator):
    return creator


@pytest.fixture
def auction_id(auction, seller):
    tx = auction.create_auction(ONE, DURATION, "ipfs://meeting", sender=seller)
    return next(iter(tx.events.filter(auction.AuctionCreated))).auction_id


def field(auction, auction_id, name):
    return getattr(auction.auctions(auction_id), name)


def end_of(auction, auction_id):
    return field(auction, auction_id, "end_time")


def test_config(auction, meeting_pass, treasury, admin):
    assert auction.meeting_pass() == meeting_pass and auction.treasury() == treasury
    assert (auction.fee_bps(), auction.min_increment_bps(), auction.extension_window(), auction.extension()) == (
        AUCTION_FEE_BPS,
        MIN_INCREMENT_BPS,
        EXTENSION_WINDOW,
        EXTENSION,
    )
    assert auction.hasRole(auction.DEFAULT_ADMIN_ROLE(), admin)
    assert (auction.MIN_DURATION(), auction.MAX_DURATION()) == (300, 30 * 86400)
    assert (auction.STATUS_NONE(), auction.STATUS_ACTIVE(), auction.STATUS_ENDED(), auction.STATUS_CANCELLED()) == (
        0,
        1,
        2,
        3,
    )


def test_constructor_validation(project, accounts, meeting_pass, treasury):
    # A deployer that deploys nowhere else: after a snapshot revert, ape (0.8.51 + ape-foundry)
    # decodes a failed deployment's trace with whatever contract type it cached at that
    # address earlier in the session, and crashes instead of reporting the revert.
    admin = accounts[9]
    with ape.reverts("auction: zero pass"):
        admin.deploy(project.MeetingAuction, ZERO, treasury, 0, 0, 0, 0)
    with ape.reverts("auction: zero treasury"):
        admin.deploy(project.MeetingAuction, meeting_pass, ZERO, 0, 0, 0, 0)
    with ape.reverts("auction: fee too high"):
        admin.deploy(project.MeetingAuction, meeting_pass, treasury, 3001, 0, 0, 0)


def test_create(auction, seller, chain):
    now = chain.pending_timestamp
    tx = auction.create_auction(ONE, DURATION, "ipfs://meeting", sender=seller)
    [e] = tx.events.filter(auction.AuctionCreated)
    assert (e.auction_id, e.seller, e.reserve, e.fee_bps, e.metadata) == (
        1,
        seller,
        ONE,
        AUCTION_FEE_BPS,
        "ipfs://meeting",
    )
    assert now + DURATION <= e.end_time <= now + DURATION + 5
    a = auction.auctions(1)
    assert (a.seller, a.reserve, a.end_time, a.highest_bidder, a.highest_bid, a.fee_bps, a.status, a.pass_id) == (
        seller,
        ONE,
        e.end_time,
        ZERO,
        0,
        AUCTION_FEE_BPS,
        ACTIVE,
        0,
    )
    assert auction.auction_count() == 1
    assert auction.min_next_bid(1) == ONE
    tx = auction.create_auction(0, 300, "", sender=seller)
    assert next(iter(tx.events.filter(auction.AuctionCreated))).auction_id == 2
    assert auction.min_next_bid(2) == 1  # no reserve: any non-zero bid


def test_create_rejects_bad_duration(auction, seller):
    with ape.reverts("auction: bad duration"):
        auction.create_auction(ONE, 299, "", sender=seller)
    with ape.reverts("auction: bad duration"):
        auction.create_auction(ONE, 30 * 86400 + 1, "", sender=seller)


def test_bid_and_outbid_refund_by_pull(auction, auction_id, bidders):
    a, b = bidders[0], bidders[1]
    tx = auction.bid(auction_id, value=ONE, sender=a)
    [e] = tx.events.filter(auction.BidPlaced)
    assert (e.auction_id, e.bidder, e.amount, e.previous_bidder, e.previous_amount) == (auction_id, a, ONE, ZERO, 0)
    assert not list(tx.events.filter(auction.AuctionExtended))
    need = ONE + ONE * MIN_INCREMENT_BPS // 10_000
    assert auction.min_next_bid(auction_id) == need
    with ape.reverts("auction: bid too low"):
        auction.bid(auction_id, value=need - 1, sender=b)
    tx = auction.bid(auction_id, value=need, sender=b)
    [e] = tx.events.filter(auction.BidPlaced)
    assert (e.bidder, e.amount, e.previous_bidder, e.previous_amount) == (b, need, a, ONE)
    assert auction.refunds(a) == ONE
    assert (field(auction, auction_id, "highest_bidder"), field(auction, auction_id, "highest_bid")) == (b, need)
    before = a.balance
    tx = auction.withdraw_refund(sender=a)
    [e] = tx.events.filter(auction.RefundWithdrawn)
    assert (e.account, e.amount) == (a, ONE)
    assert a.balance == before + ONE - tx.total_fees_paid
    assert auction.refunds(a) == 0
    with ape.reverts("auction: nothing to withdraw"):
        auction.withdraw_refund(sender=a)


def test_bid_reverts(auction, auction_id, seller, bidders, chain):
    with ape.reverts("auction: bid too low"):
        auction.bid(auction_id, value=ONE - 1, sender=bidders[0])
    with ape.reverts("auction: seller cannot bid"):
        auction.bid(auction_id, value=ONE, sender=seller)
    with ape.reverts("auction: not active"):
        auction.bid(999, value=ONE, sender=bidders[0])
    chain.pending_timestamp = end_of(auction, auction_id)
    with ape.reverts("auction: ended"):
        auction.bid(auction_id, value=ONE, sender=bidders[0])


def test_minimum_increment_is_at_least_one_wei(auction, admin, seller, bidders):
    auction.set_params(AUCTION_FEE_BPS, 0, EXTENSION_WINDOW, EXTENSION, sender=admin)
    auction_id = next(
        iter(auction.create_auction(0, DURATION, "", sender=seller).events.filter(auction.AuctionCreated))
    ).auction_id
    with ape.reverts("auction: bid too low"):
        auction.bid(auction_id, value=0, sender=bidders[0])
    auction.bid(auction_id, value=10, sender=bidders[0])
    with ape.reverts("auction: bid too low"):
        auction.bid(auction_id, value=10, sender=bidders[1])
    auction.bid(auction_id, value=11, sender=bidders[1])


def test_anti_sniping_extends(auction, auction_id, bidders, chain):
    end = end_of(auction, auction_id)
    chain.pending_timestamp = end - EXTENSION_WINDOW - 10  # outside the window: no extension
    tx = auction.bid(auction_id, value=ONE, sender=bidders[0])
    assert not list(tx.events.filter(auction.AuctionExtended)) and end_of(auction, auction_id) == end
    chain.pending_timestamp = end - 30  # inside the last 5 minutes
    tx = auction.bid(auction_id, value=2 * ONE, sender=bidders[1])
    [e] = tx.events.filter(auction.AuctionExtended)
    ts = chain.blocks.head.timestamp
    assert e.auction_id == auction_id and e.new_end_time == ts + EXTENSION == end_of(auction, auction_id)
    chain.pending_timestamp = end + 10  # past the original end, still open
    auction.bid(auction_id, value=3 * ONE, sender=bidders[0])
    with ape.reverts("auction: not over"):
        auction.end_auction(auction_id, sender=bidders[2])


def test_extension_never_shortens(auction, admin, auction_id, bidders, chain):
    auction.set_params(AUCTION_FEE_BPS, MIN_INCREMENT_BPS, 600, 60, sender=admin)  # window > extension
    end = end_of(auction, auction_id)
    chain.pending_timestamp = end - 500
    tx = auction.bid(auction_id, value=ONE, sender=bidders[0])
    assert not list(tx.events.filter(auction.AuctionExtended)) and end_of(auction, auction_id) == end


def test_end_with_winner(auction, meeting_pass, auction_id, seller, treasury, bidders, chain):
    auction.bid(auction_id, value=ONE, sender=bidders[0])
    auction.bid(auction_id, value=2 * ONE, sender=bidders[1])
    with ape.reverts("auction: not over"):
        auction.end_auction(auction_id, sender=bidders[2])
    chain.pending_timestamp = end_of(auction, auction_id)
    tx = auction.end_auction(auction_id, sender=bidders[2])  # anyone
    fee = 2 * ONE * AUCTION_FEE_BPS // 10_000
    [e] = tx.events.filter(auction.AuctionEnded)
    assert (e.auction_id, e.winner, e.amount, e.fee, e.pass_id) == (auction_id, bidders[1], 2 * ONE, fee, 1)
    [m] = tx.events.filter(meeting_pass.PassMinted)
    assert (m.token_id, m.holder, m.auction_id) == (1, bidders[1], auction_id)
    assert meeting_pass.ownerOf(1) == bidders[1] and meeting_pass.auction_of(1) == auction_id
    assert field(auction, auction_id, "status") == ENDED and field(auction, auction_id, "pass_id") == 1
    assert auction.proceeds(seller) == 2 * ONE - fee and auction.proceeds(treasury) == fee
    assert auction.refunds(bidders[0]) == ONE and auction.refunds(bidders[1]) == 0
    with ape.reverts("auction: not active"):
        auction.end_auction(auction_id, sender=bidders[2])
    before = seller.balance
    tx = auction.withdraw_proceeds(sender=seller)
    [w] = tx.events.filter(auction.ProceedsWithdrawn)
    assert (w.account, w.amount) == (seller, 2 * ONE - fee)
    assert seller.balance == before + 2 * ONE - fee - tx.total_fees_paid
    auction.withdraw_proceeds(sender=treasury)
    auction.withdraw_refund(sender=bidders[0])
    assert auction.balance == 0
    with ape.reverts("auction: nothing to withdraw"):
        auction.withdraw_proceeds(sender=seller)


def test_end_without_bids(auction, meeting_pass, auction_id, seller, chain):
    chain.pending_timestamp = end_of(auction, auction_id)
    tx = auction.end_auction(auction_id, sender=seller)
    [e] = tx.events.filter(auction.AuctionEnded)
    assert (e.auction_id, e.winner, e.amount, e.fee, e.pass_id) == (auction_id, ZERO, 0, 0, 0)
    assert not list(tx.events.filter(meeting_pass.PassMinted))
    assert field(auction, auction_id, "status") == ENDED and auction.proceeds(seller) == 0


def test_zero_fee_auction(auction, admin, seller, treasury, bidders, chain):
    auction.set_params(0, MIN_INCREMENT_BPS, EXTENSION_WINDOW, EXTENSION, sender=admin)
    auction_id = next(
        iter(auction.create_auction(ONE, DURATION, "", sender=seller).events.filter(auction.AuctionCreated))
    ).auction_id
    auction.bid(auction_id, value=ONE, sender=bidders[0])
    chain.pending_timestamp = end_of(auction, auction_id)
    auction.end_auction(auction_id, sender=seller)
    assert auction.proceeds(seller) == ONE and auction.proceeds(treasury) == 0


def test_fee_is_fixed_at_creation(auction, admin, auction_id, seller, bidders, chain):
    auction.set_params(3000, MIN_INCREMENT_BPS, EXTENSION_WINDOW, EXTENSION, sender=admin)
    auction.bid(auction_id, value=ONE, sender=bidders[0])
    chain.pending_timestamp = end_of(auction, auction_id)
    auction.end_auction(auction_id, sender=seller)
    assert auction.proceeds(seller) == ONE - ONE * AUCTION_FEE_BPS // 10_000


def test_cancel(auction, auction_id, seller, bidders):
    with ape.reverts("auction: not seller"):
        auction.cancel_auction(auction_id, sender=bidders[0])
    tx = auction.cancel_auction(auction_id, sender=seller)
    [e] = tx.events.filter(auction.AuctionCancelled)
    assert e.auction_id == auction_id
    assert field(auction, auction_id, "status") == CANCELLED
    with ape.reverts("auction: not active"):
        auction.bid(auction_id, value=ONE, sender=bidders[0])
    with ape.reverts("auction: not active"):
        auction.cancel_auction(auction_id, sender=seller)
    with ape.reverts("auction: not active"):
        auction.end_auction(auction_id, sender=seller)


def test_cannot_cancel_after_first_bid(auction, auction_id, seller, bidders):
    auction.bid(auction_id, value=ONE, sender=bidders[0])
    with ape.reverts("auction: has bids"):
        auction.cancel_auction(auction_id, sender=seller)


def test_admin(auction, admin, stranger, treasury):
    with ape.reverts("access_control: account is missing role"):
        auction.set_params(0, 0, 0, 0, sender=stranger)
    with ape.reverts("access_control: account is missing role"):
        auction.set_treasury(stranger, sender=stranger)
    with ape.reverts("auction: fee too high"):
        auction.set_params(3001, 0, 0, 0, sender=admin)
    with ape.reverts("auction: increment too high"):
        auction.set_params(0, 5001, 0, 0, sender=admin)
    with ape.reverts("auction: extension too long"):
        auction.set_params(0, 0, 86401, 0, sender=admin)
    with ape.reverts("auction: extension too long"):
        auction.set_params(0, 0, 0, 86401, sender=admin)
    with ape.reverts("auction: zero treasury"):
        auction.set_treasury(ZERO, sender=admin)
    tx = auction.set_params(100, 200, 60, 120, sender=admin)
    [e] = tx.events.filter(auction.ParamsUpdated)
    assert (e.fee_bps, e.min_increment_bps, e.extension_window, e.extension) == (100, 200, 60, 120)
    tx = auction.set_treasury(stranger, sender=admin)
    [e] = tx.events.filter(auction.TreasuryUpdated)
    assert (e.old_treasury, e.new_treasury) == (treasury, stranger)


# ------------------------------------------------------------------ hostile accounts


@pytest.fixture
def attacker(project, admin, auction):
    return admin.deploy(project.ReentrantAttacker, auction)


def test_rejecting_bidder_cannot_block_being_outbid(auction, auction_id, attacker, admin, bidders, chain):
    attacker.configure(b"", True, sender=admin)  # reverts on every ETH payment
    attacker.execute(auction.bid.encode_input(auction_id), ONE, value=ONE, sender=admin)
    auction.bid(auction_id, value=2 * ONE, sender=bidders[0])  # not blocked: no push refund
    assert auction.refunds(attacker) == ONE
    with ape.reverts():
        attacker.execute(auction.withdraw_refund.encode_input(), 0, sender=admin)  # only hurts itself
    assert auction.refunds(attacker) == ONE
    chain.pending_timestamp = end_of(auction, auction_id)
    auction.end_auction(auction_id, sender=bidders[1])
    assert field(auction, auction_id, "highest_bidder") == bidders[0]


def test_reentrant_refund_is_blocked(auction, auction_id, attacker, admin, bidders):
    attacker.execute(auction.bid.encode_input(auction_id), ONE, value=ONE, sender=admin)
    auction.bid(auction_id, value=2 * ONE, sender=bidders[0])
    attacker.configure(auction.withdraw_refund.encode_input(), False, sender=admin)
    attacker.execute(auction.withdraw_refund.encode_input(), 0, sender=admin)
    assert attacker.reenter_attempts() == 1 and attacker.reenter_successes() == 0
    assert attacker.received() == ONE and attacker.balance == ONE
    assert auction.refunds(attacker) == 0
    assert auction.balance == 2 * ONE  # the current highest bid stays


def test_reentrant_bid_from_refund_is_blocked(auction, auction_id, attacker, admin, bidders):
    """Cross-function: re-entering bid() while being refunded is blocked too."""
    attacker.execute(auction.bid.encode_input(auction_id), ONE, value=ONE, sender=admin)
    auction.bid(auction_id, value=2 * ONE, sender=bidders[0])
    attacker.configure(auction.bid.encode_input(auction_id), False, sender=admin)
    attacker.execute(auction.withdraw_refund.encode_input(), 0, sender=admin)
    assert attacker.reenter_attempts() == 1 and attacker.reenter_successes() == 0


def test_reentrant_seller_is_blocked(auction, attacker, admin, bidders, chain):
    tx = attacker.execute(auction.create_auction.encode_input(ONE, DURATION, "evil"), 0, sender=admin)
    auction_id = auction.auction_count()
    assert field(auction, auction_id, "seller") == attacker
    auction.bid(auction_id, value=ONE, sender=bidders[0])
    chain.pending_timestamp = end_of(auction, auction_id)
    auction.end_auction(auction_id, sender=bidders[0])
    owed = auction.proceeds(attacker)
    attacker.configure(auction.withdraw_proceeds.encode_input(), False, sender=admin)
    attacker.execute(auction.withdraw_proceeds.encode_input(), 0, sender=admin)
    assert attacker.reenter_attempts() == 1 and attacker.reenter_successes() == 0
    assert attacker.received() == owed and auction.proceeds(attacker) == 0
    assert tx is not None


def test_contract_winner_without_receiver_hook_still_ends(
    auction, meeting_pass, auction_id, attacker, admin, seller, chain
):
    """The pass is minted without the ERC-721 receiver callback, so a winner contract that
    cannot receive NFTs safely cannot block end_auction (and the seller's proceeds)."""
    attacker.configure(b"", True, sender=admin)
    attacker.execute(auction.bid.encode_input(auction_id), ONE, value=ONE, sender=admin)
    chain.pending_timestamp = end_of(auction, auction_id)
    auction.end_auction(auction_id, sender=seller)
    assert meeting_pass.ownerOf(1) == attacker
    assert auction.proceeds(seller) > 0


def test_only_auction_mints_passes(meeting_pass, auction, relayer, admin, fan):
    assert meeting_pass.hasRole(meeting_pass.MINTER_ROLE(), auction)
    for account in (relayer, admin, fan):
        assert not meeting_pass.hasRole(meeting_pass.MINTER_ROLE(), account)
