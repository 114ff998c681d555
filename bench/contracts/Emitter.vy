# pragma version ~=0.4.3
"""
@title Emitter (benchmark only)
@notice Emits many events with the same signatures (so the same topics) as our contracts':
        ERC-20 `Transfer` (Coin), `IntentSettled` (TipRouter) and `BidPlaced` (MeetingAuction),
        so a benchmark can build a chain of hundreds of thousands of events quickly. The same
        code is deployed once per role; `mix` makes one block hold all the kinds: its own
        Transfers, the router instance's settlements, the auction instance's bids and a plain
        ERC-20 instance's Transfers. Each account first receives 10 from the zero address,
        then sends 5 on: balances never go negative, so the balance projection stays valid.
"""

interface Emitter:
    def spam(pairs: uint256, seed: uint256): nonpayable
    def settles(n: uint256, seed: uint256): nonpayable
    def bids(n: uint256, seed: uint256): nonpayable

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event IntentSettled:
    digest: indexed(bytes32)
    from_: indexed(address)
    to: indexed(address)
    token: address
    amount: uint256
    kind: uint8
    fee: uint256

event BidPlaced:
    auction_id: indexed(uint256)
    bidder: indexed(address)
    amount: uint256
    previous_bidder: indexed(address)
    previous_amount: uint256


@internal
def _account(a: uint256, b: uint256) -> address:
    return convert(convert(keccak256(abi_encode(a, b)), uint256) % (1 << 160), address)


@internal
def _spam(pairs: uint256, seed: uint256):
    for i: uint256 in range(pairs, bound=1000):
        a: address = self._account(seed, i)
        b: address = self._account(i, seed)
        log Transfer(sender=empty(address), receiver=a, value=10)
        log Transfer(sender=a, receiver=b, value=5)


@external
def spam(pairs: uint256, seed: uint256):
    self._spam(pairs, seed)


@external
def settles(n: uint256, seed: uint256):
    for i: uint256 in range(n, bound=1000):
        digest: bytes32 = keccak256(abi_encode(seed, i, empty(address)))
        log IntentSettled(digest=digest, from_=self._account(seed, i + 7), to=self._account(i % 50, 3), token=self,
                          amount=1000 + i, kind=convert(i % 2, uint8), fee=25)


@external
def bids(n: uint256, seed: uint256):
    for i: uint256 in range(n, bound=1000):
        log BidPlaced(auction_id=i % 20, bidder=self._account(seed, i + 11), amount=seed * 1000 + i + 1000,
                      previous_bidder=self._account(seed, i + 10), previous_amount=seed * 1000 + i + 999)


@external
def mix(pairs: uint256, intents: uint256, bids: uint256, seed: uint256, router: address, auction: address,
        erc20: address, erc20_pairs: uint256):
    if pairs > 0:
        self._spam(pairs, seed)
    if intents > 0:
        extcall Emitter(router).settles(intents, seed)
    if bids > 0:
        extcall Emitter(auction).bids(bids, seed)
    if erc20_pairs > 0:
        extcall Emitter(erc20).spam(erc20_pairs, seed + (1 << 64))
