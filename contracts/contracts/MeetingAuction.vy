# pragma version ~=0.4.3
"""
@title MeetingAuction
@notice English auctions of a creator's meeting, paid in ETH. The winner gets
        a MeetingPass; the seller's proceeds (minus the platform fee, which
        goes to the treasury) and outbid bidders' refunds are paid by pull
        (`withdraw_proceeds`, `withdraw_refund`), never pushed, so a hostile
        bidder cannot block bidding or ending.
@dev    Anyone may create an auction; the caller is its seller (the API shows
        only registered creators' auctions). A bid inside the last
        `extension_window` seconds moves the end to `now + extension`
        (anti-sniping). The fee is fixed per auction at creation; the
        increment and anti-sniping parameters are read live (admin-set,
        bounded).
        Invariant: balance == sum(refunds) + sum(proceeds) + highest bids of
        auctions not yet ended.
"""

from snekmate.auth import access_control
initializes: access_control

exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    access_control.DEFAULT_ADMIN_ROLE,
)


interface IMeetingPass:
    def mint(to: address, auction_id: uint256) -> uint256: nonpayable


BPS: constant(uint256) = 10_000
MAX_FEE_BPS: public(constant(uint256)) = 3_000
MAX_INCREMENT_BPS: public(constant(uint256)) = 5_000
MAX_EXTENSION: public(constant(uint256)) = 86_400
MIN_DURATION: public(constant(uint256)) = 300
MAX_DURATION: public(constant(uint256)) = 30 * 86_400

STATUS_NONE: public(constant(uint8)) = 0
STATUS_ACTIVE: public(constant(uint8)) = 1
STATUS_ENDED: public(constant(uint8)) = 2
STATUS_CANCELLED: public(constant(uint8)) = 3


struct Auction:
    seller: address
    reserve: uint256
    end_time: uint256
    highest_bidder: address
    highest_bid: uint256
    fee_bps: uint256
    status: uint8
    pass_id: uint256


event AuctionCreated:
    auction_id: indexed(uint256)
    seller: indexed(address)
    reserve: uint256
    end_time: uint256
    fee_bps: uint256
    metadata: String[256]

event BidPlaced:
    auction_id: indexed(uint256)
    bidder: indexed(address)
    amount: uint256
    previous_bidder: indexed(address)
    previous_amount: uint256

event AuctionExtended:
    auction_id: indexed(uint256)
    new_end_time: uint256

event AuctionEnded:
    auction_id: indexed(uint256)
    winner: indexed(address)
    amount: uint256
    fee: uint256
    pass_id: uint256

event AuctionCancelled:
    auction_id: indexed(uint256)

event RefundWithdrawn:
    account: indexed(address)
    amount: uint256

event ProceedsWithdrawn:
    account: indexed(address)
    amount: uint256

event ParamsUpdated:
    fee_bps: uint256
    min_increment_bps: uint256
    extension_window: uint256
    extension: uint256

event TreasuryUpdated:
    old_treasury: indexed(address)
    new_treasury: indexed(address)


meeting_pass: public(immutable(address))

treasury: public(address)
fee_bps: public(uint256)
min_increment_bps: public(uint256)
extension_window: public(uint256)
extension: public(uint256)

auctions: public(HashMap[uint256, Auction])
auction_count: public(uint256)  # ids start at 1
# @dev outbid bidders' ETH, withdrawable with `withdraw_refund`
refunds: public(HashMap[address, uint256])
# @dev sellers' (and the treasury's) ETH, withdrawable with `withdraw_proceeds`
proceeds: public(HashMap[address, uint256])


@deploy
def __init__(
    meeting_pass_: address,
    treasury_: address,
    fee_bps_: uint256,
    min_increment_bps_: uint256,
    extension_window_: uint256,
    extension_: uint256,
):
    """
    @notice The deployer gets DEFAULT_ADMIN_ROLE (parameters, treasury).
            Grant this contract MeetingPass's MINTER_ROLE.
    """
    assert meeting_pass_ != empty(address), "auction: zero pass"
    assert treasury_ != empty(address), "auction: zero treasury"
    access_control.__init__()
    meeting_pass = meeting_pass_
    self.treasury = treasury_
    log TreasuryUpdated(old_treasury=empty(address), new_treasury=treasury_)
    self._set_params(fee_bps_, min_increment_bps_, extension_window_, extension_)


@external
def create_auction(reserve: uint256, duration: uint256, metadata: String[256]) -> uint256:
    """
    @notice Auction a meeting; the caller is the seller. Bids must be at
            least `reserve` (and never zero).
    @return uint256 The auction id.
    """
    assert duration >= MIN_DURATION and duration <= MAX_DURATION, "auction: bad duration"
    auction_id: uint256 = self.auction_count + 1
    self.auction_count = auction_id
    end_time: uint256 = block.timestamp + duration
    fee: uint256 = self.fee_bps
    self.auctions[auction_id] = Auction(
        seller=msg.sender,
        reserve=reserve,
        end_time=end_time,
        highest_bidder=empty(address),
        highest_bid=0,
        fee_bps=fee,
        status=STATUS_ACTIVE,
        pass_id=0,
    )
    log AuctionCreated(
        auction_id=auction_id, seller=msg.sender, reserve=reserve, end_time=end_time, fee_bps=fee, metadata=metadata
    )
    return auction_id


@external
@payable
@nonreentrant
def bid(auction_id: uint256):
    """
    @notice Bid `msg.value`; it must be at least `min_next_bid(auction_id)`.
            The previous highest bid is credited to its bidder's refunds.
    """
    a: Auction = self.auctions[auction_id]
    assert a.status == STATUS_ACTIVE, "auction: not active"
    assert block.timestamp < a.end_time, "auction: ended"
    assert msg.sender != a.seller, "auction: seller cannot bid"
    assert msg.value >= self._min_next_bid(a), "auction: bid too low"
    previous_bidder: address = a.highest_bidder
    previous_amount: uint256 = a.highest_bid
    if previous_bidder != empty(address):
        self.refunds[previous_bidder] += previous_amount
    a.highest_bidder = msg.sender
    a.highest_bid = msg.value
    extended: bool = False
    if a.end_time - block.timestamp < self.extension_window:
        new_end: uint256 = block.timestamp + self.extension
        if new_end > a.end_time:
            a.end_time = new_end
            extended = True
    self.auctions[auction_id] = a
    log BidPlaced(
        auction_id=auction_id,
        bidder=msg.sender,
        amount=msg.value,
        previous_bidder=previous_bidder,
        previous_amount=previous_amount,
    )
    if extended:
        log AuctionExtended(auction_id=auction_id, new_end_time=a.end_time)


@external
@nonreentrant
def end_auction(auction_id: uint256):
    """
    @notice Anyone may end an auction after its end time: the winner gets the
            pass, the seller is credited the highest bid minus the fee, the
            treasury the fee. Without bids it ends with no winner.
    """
    a: Auction = self.auctions[auction_id]
    assert a.status == STATUS_ACTIVE, "auction: not active"
    assert block.timestamp >= a.end_time, "auction: not over"
    a.status = STATUS_ENDED
    fee: uint256 = 0
    if a.highest_bidder == empty(address):
        self.auctions[auction_id] = a
        log AuctionEnded(auction_id=auction_id, winner=empty(address), amount=0, fee=0, pass_id=0)
        return
    fee = a.highest_bid * a.fee_bps // BPS
    self.proceeds[a.seller] += a.highest_bid - fee
    if fee != 0:
        self.proceeds[self.treasury] += fee
    self.auctions[auction_id] = a
    # The only interaction: our own MeetingPass, non-safe mint (no callback).
    pass_id: uint256 = extcall IMeetingPass(meeting_pass).mint(a.highest_bidder, auction_id)
    self.auctions[auction_id].pass_id = pass_id
    log AuctionEnded(auction_id=auction_id, winner=a.highest_bidder, amount=a.highest_bid, fee=fee, pass_id=pass_id)


@external
def cancel_auction(auction_id: uint256):
    """
    @notice The seller can cancel an auction that has no bid yet.
    """
    a: Auction = self.auctions[auction_id]
    assert a.status == STATUS_ACTIVE, "auction: not active"
    assert msg.sender == a.seller, "auction: not seller"
    assert a.highest_bidder == empty(address), "auction: has bids"
    self.auctions[auction_id].status = STATUS_CANCELLED
    log AuctionCancelled(auction_id=auction_id)


@external
@nonreentrant
def withdraw_refund():
    """
    @notice Pay the caller's outbid bids back.
    """
    amount: uint256 = self.refunds[msg.sender]
    assert amount != 0, "auction: nothing to withdraw"
    self.refunds[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)
    log RefundWithdrawn(account=msg.sender, amount=amount)


@external
@nonreentrant
def withdraw_proceeds():
    """
    @notice Pay the caller's auction proceeds (sellers) or fees (treasury).
    """
    amount: uint256 = self.proceeds[msg.sender]
    assert amount != 0, "auction: nothing to withdraw"
    self.proceeds[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)
    log ProceedsWithdrawn(account=msg.sender, amount=amount)


@internal
@view
def _min_next_bid(a: Auction) -> uint256:
    if a.highest_bidder == empty(address):
        return max(a.reserve, 1)
    return a.highest_bid + max(a.highest_bid * self.min_increment_bps // BPS, 1)


@external
@view
def min_next_bid(auction_id: uint256) -> uint256:
    """
    @notice The smallest bid `bid(auction_id)` accepts now.
    """
    return self._min_next_bid(self.auctions[auction_id])


@external
def set_params(fee_bps_: uint256, min_increment_bps_: uint256, extension_window_: uint256, extension_: uint256):
    """
    @notice Admin: the fee (for auctions created from now on), the minimum
            increment and the anti-sniping window/extension (in seconds).
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self._set_params(fee_bps_, min_increment_bps_, extension_window_, extension_)


@external
def set_treasury(new_treasury: address):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert new_treasury != empty(address), "auction: zero treasury"
    log TreasuryUpdated(old_treasury=self.treasury, new_treasury=new_treasury)
    self.treasury = new_treasury


@internal
def _set_params(fee_bps_: uint256, min_increment_bps_: uint256, extension_window_: uint256, extension_: uint256):
    assert fee_bps_ <= MAX_FEE_BPS, "auction: fee too high"
    assert min_increment_bps_ <= MAX_INCREMENT_BPS, "auction: increment too high"
    assert extension_window_ <= MAX_EXTENSION and extension_ <= MAX_EXTENSION, "auction: extension too long"
    self.fee_bps = fee_bps_
    self.min_increment_bps = min_increment_bps_
    self.extension_window = extension_window_
    self.extension = extension_
    log ParamsUpdated(
        fee_bps=fee_bps_, min_increment_bps=min_increment_bps_, extension_window=extension_window_, extension=extension_
    )
