"""Property-based (hypothesis, stateful) tests of MeetingAuction: random sequences of
create / bid (valid and too low) / time / end / cancel / withdraw, checked against a model
after every step:

- the contract holds exactly refunds + proceeds owed + the highest bids of auctions not yet
  ended (so balance >= refunds + proceeds always),
- the highest bid of an auction never decreases,
- an ended auction with bids has exactly one winner, who holds its one pass; one without
  bids has none; no other passes exist.

Each example starts from a chain snapshot and restores it afterwards. Example counts are
modest so the whole suite stays fast on 2 cores."""

from __future__ import annotations

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

ZERO = "0x" + "00" * 20
ACTIVE, ENDED, CANCELLED = 1, 2, 3
FEE_BPS, INC_BPS, WINDOW, EXTENSION = 500, 500, 300, 600
GWEI = 10**9


class AuctionMachine(RuleBasedStateMachine):
    # set by the test before running
    chain = auction = meeting_pass = sellers = bidders = treasury = None

    @initialize()
    def start(self) -> None:
        self.snapshot = self.chain.snapshot()
        self.now = self.chain.pending_timestamp + 10
        self.model: dict[int, dict] = {}
        self.refunds: dict[str, int] = {}
        self.proceeds: dict[str, int] = {}
        self.passes: dict[int, str] = {}  # pass id -> winner

    def teardown(self) -> None:
        if hasattr(self, "snapshot"):
            self.chain.restore(self.snapshot)

    def _tick(self) -> None:
        self.now += 1
        self.chain.pending_timestamp = self.now

    # ------------------------------------------------------------------ rules

    @rule(seller=st.integers(0, 1), reserve=st.integers(0, 5), duration=st.integers(300, 2000))
    def create(self, seller: int, reserve: int, duration: int) -> None:
        self._tick()
        account = self.sellers[seller]
        tx = self.auction.create_auction(reserve * GWEI, duration, "m", sender=account)
        auction_id = next(iter(tx.events.filter(self.auction.AuctionCreated))).auction_id
        self.model[auction_id] = {
            "seller": str(account.address),
            "reserve": reserve * GWEI,
            "end": self.now + duration,
            "bidder": ZERO,
            "bid": 0,
            "status": ACTIVE,
            "max_seen": 0,
        }

    def _min_bid(self, m: dict) -> int:
        if m["bidder"] == ZERO:
            return max(m["reserve"], 1)
        return m["bid"] + max(m["bid"] * INC_BPS // 10_000, 1)

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 50), bidder=st.integers(0, 2), extra=st.integers(0, 3 * GWEI), too_low=st.booleans())
    def bid(self, pick: int, bidder: int, extra: int, too_low: bool) -> None:
        auction_id = sorted(self.model)[pick % len(self.model)]
        m = self.model[auction_id]
        account = self.bidders[bidder]
        self._tick()
        need = self._min_bid(m)
        value = need - 1 if too_low else need + extra
        ok = m["status"] == ACTIVE and self.now < m["end"] and not too_low
        if not ok:
            with ape.reverts():
                self.auction.bid(auction_id, value=value, sender=account)
            return
        self.auction.bid(auction_id, value=value, sender=account)
        if m["bidder"] != ZERO:
            self.refunds[m["bidder"]] = self.refunds.get(m["bidder"], 0) + m["bid"]
        m["bidder"], m["bid"] = str(account.address), value
        if m["end"] - self.now < WINDOW and self.now + EXTENSION > m["end"]:
            m["end"] = self.now + EXTENSION

    @rule(seconds=st.integers(1, 1500))
    def advance(self, seconds: int) -> None:
        self.now += seconds

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 50))
    def end(self, pick: int) -> None:
        auction_id = sorted(self.model)[pick % len(self.model)]
        m = self.model[auction_id]
        self._tick()
        if m["status"] != ACTIVE or self.now < m["end"]:
            with ape.reverts():
                self.auction.end_auction(auction_id, sender=self.bidders[0])
            return
        tx = self.auction.end_auction(auction_id, sender=self.bidders[0])
        m["status"] = ENDED
        [event] = tx.events.filter(self.auction.AuctionEnded)
        if m["bidder"] == ZERO:
            assert event.pass_id == 0 and event.winner == ZERO
            return
        fee = m["bid"] * FEE_BPS // 10_000
        self.proceeds[m["seller"]] = self.proceeds.get(m["seller"], 0) + m["bid"] - fee
        self.proceeds[str(self.treasury.address)] = self.proceeds.get(str(self.treasury.address), 0) + fee
        assert event.winner == m["bidder"] and event.pass_id not in self.passes
        self.passes[event.pass_id] = m["bidder"]
        m["pass_id"] = event.pass_id

    @precondition(lambda self: self.model)
    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        auction_id = sorted(self.model)[pick % len(self.model)]
        m = self.model[auction_id]
        seller = next(s for s in self.sellers if str(s.address) == m["seller"])
        self._tick()
        if m["status"] != ACTIVE or m["bidder"] != ZERO:
            with ape.reverts():
                self.auction.cancel_auction(auction_id, sender=seller)
            return
        self.auction.cancel_auction(auction_id, sender=seller)
        m["status"] = CANCELLED

    @rule(who=st.integers(0, 5), proceeds=st.booleans())
    def withdraw(self, who: int, proceeds: bool) -> None:
        account = [*self.bidders, *self.sellers, self.treasury][who]
        ledger = self.proceeds if proceeds else self.refunds
        fn = self.auction.withdraw_proceeds if proceeds else self.auction.withdraw_refund
        self._tick()
        owed = ledger.get(str(account.address), 0)
        if owed == 0:
            with ape.reverts("auction: nothing to withdraw"):
                fn(sender=account)
            return
        before = account.balance
        tx = fn(sender=account)
        assert account.balance == before + owed - tx.total_fees_paid
        ledger[str(account.address)] = 0

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariants(self) -> None:
        """One invariant (fewer RPC round trips): solvency, monotone bids, one winner."""
        if not hasattr(self, "model"):
            return
        # balance == refunds + proceeds owed + highest bids held (hence >= refunds + proceeds)
        refunds = sum(self.auction.refunds(a) for a in self._parties())
        proceeds = sum(self.auction.proceeds(a) for a in self._parties())
        assert refunds == sum(self.refunds.values()) and proceeds == sum(self.proceeds.values())
        held = sum(m["bid"] for m in self.model.values() if m["status"] == ACTIVE)
        assert self.auction.balance == refunds + proceeds + held
        assert self.auction.balance >= refunds + proceeds
        assert self.meeting_pass.totalSupply() == len(self.passes)
        for auction_id, m in self.model.items():
            a = self.auction.auctions(auction_id)
            # the highest bid never decreases, and the contract agrees with the model
            assert a.highest_bid >= m["max_seen"]
            m["max_seen"] = a.highest_bid
            assert (a.highest_bidder, a.highest_bid, a.status, a.end_time) == (
                m["bidder"],
                m["bid"],
                m["status"],
                m["end"],
            )
            # exactly one winner per ended auction with bids, holding its one pass
            if m["status"] == ENDED and m["bidder"] != ZERO:
                assert a.pass_id == m["pass_id"] and self.meeting_pass.ownerOf(a.pass_id) == m["bidder"]
                assert self.meeting_pass.auction_of(a.pass_id) == auction_id
            else:
                assert a.pass_id == 0

    def _parties(self) -> list:
        return [*self.bidders, *self.sellers, self.treasury]


def test_auction_invariants(chain, auction, meeting_pass, accounts, treasury):
    AuctionMachine.chain = chain
    AuctionMachine.auction = auction
    AuctionMachine.meeting_pass = meeting_pass
    AuctionMachine.sellers = [accounts[5], accounts[6]]
    AuctionMachine.bidders = [accounts[7], accounts[8], accounts[9]]
    AuctionMachine.treasury = treasury
    run_state_machine_as_test(
        AuctionMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
