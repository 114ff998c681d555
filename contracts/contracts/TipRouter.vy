# pragma version ~=0.4.3
"""
@title TipRouter
@notice Settles fans' signed tipping intents (claps in TKI, gifts in TK) in
        batches submitted by the relayer, and holds each creator's earnings
        until the creator withdraws them (directly, or gaslessly with a signed
        withdrawal that anyone, normally the relayer, submits).
        Replaces the seeds' RevenueController + Validator.
@dev    One bad intent never reverts a batch: every condition that would make
        the transfer fail is checked first and the intent is skipped with
        `IntentRejected(digest, reason)`. No token moves without the owner's
        EIP-712 signature (intents, withdrawals) or own call (`withdraw`).
        Nonces are unordered (any unused uint256 per signer), so independent
        intents of one fan can settle in any order and a rejected intent does
        not block later ones; a signer can burn a nonce with `invalidate_nonce`.
        Intents and withdrawals share the nonce space of their signer.
"""

from ethereum.ercs import IERC20

from snekmate.auth import access_control
initializes: access_control

from snekmate.utils import pausable
initializes: pausable

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from snekmate.utils import signature_checker
from snekmate.utils import ecdsa

exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    access_control.DEFAULT_ADMIN_ROLE,
    pausable.paused,
    eip712_domain_separator.eip712Domain,
)

# @dev Calls `settle` (the relayer).
SETTLER_ROLE: public(constant(bytes32)) = keccak256("SETTLER_ROLE")

KIND_CLAP: public(constant(uint8)) = 0  # paid in the engagement token (TKI)
KIND_GIFT: public(constant(uint8)) = 1  # paid in the coin (TK)

# Reason codes of `IntentRejected` (0 is never emitted).
REASON_BAD_SIGNATURE: public(constant(uint8)) = 1  # not signed by `from` for this chain and contract
REASON_NONCE_USED: public(constant(uint8)) = 2  # settled before, invalidated, or used by a withdrawal
REASON_EXPIRED: public(constant(uint8)) = 3  # block.timestamp > deadline
REASON_WRONG_TOKEN: public(constant(uint8)) = 4  # not TKI for a clap / TK for a gift, or unknown kind
REASON_INSUFFICIENT_BALANCE: public(constant(uint8)) = 5  # fan's token balance < amount
REASON_INSUFFICIENT_ALLOWANCE: public(constant(uint8)) = 6  # TK allowance to the router < amount
REASON_INVALID: public(constant(uint8)) = 7  # zero amount, zero address, or a fan tipping themself

BPS: constant(uint256) = 10_000
MAX_FEE_BPS: public(constant(uint256)) = 3_000
MAX_BATCH: public(constant(uint256)) = 256

_INTENT_TYPE_HASH: constant(bytes32) = keccak256(
    "Intent(address from,address to,address token,uint256 amount,uint8 kind,uint256 nonce,uint256 deadline)"
)
_WITHDRAWAL_TYPE_HASH: constant(bytes32) = keccak256(
    "Withdrawal(address creator,address token,uint256 amount,uint256 nonce,uint256 deadline)"
)


struct Intent:
    from_: address  # `from` in the EIP-712 type (a reserved word in Vyper)
    to: address
    token: address
    amount: uint256
    kind: uint8
    nonce: uint256
    deadline: uint256


# @dev A fan's EIP-2612 permit of the Coin for this router (owner = the intent's `from`,
#      spender = this contract). `deadline == 0` means none.
struct Permit:
    value: uint256
    deadline: uint256
    v: uint8
    r: bytes32
    s: bytes32


event IntentSettled:
    digest: indexed(bytes32)
    from_: indexed(address)
    to: indexed(address)
    token: address
    amount: uint256
    kind: uint8
    fee: uint256

event IntentRejected:
    digest: indexed(bytes32)
    reason: uint8

event Withdrawn:
    creator: indexed(address)
    token: indexed(address)
    amount: uint256

event NonceInvalidated:
    account: indexed(address)
    nonce: uint256

event FeeUpdated:
    old_fee_bps: uint256
    new_fee_bps: uint256

event TreasuryUpdated:
    old_treasury: indexed(address)
    new_treasury: indexed(address)


coin: public(immutable(address))  # TK, gifts
engagement: public(immutable(address))  # TKI, claps

treasury: public(address)
fee_bps: public(uint256)
# @dev account => token => withdrawable amount (creators' net tips, treasury fees)
earnings: public(HashMap[address, HashMap[address, uint256]])
# @dev signer => nonce => used
nonce_used: public(HashMap[address, HashMap[uint256, bool]])


@deploy
def __init__(
    coin_: address,
    engagement_: address,
    treasury_: address,
    fee_bps_: uint256,
    name_eip712_: String[50],
    version_eip712_: String[20],
):
    """
    @notice The deployer gets DEFAULT_ADMIN_ROLE (fee, treasury, pause);
            grant SETTLER_ROLE to the relayer, and this contract the
            Engagement MOVER_ROLE.
    """
    assert coin_ != empty(address) and engagement_ != empty(address), "router: zero token"
    assert coin_ != engagement_, "router: same token"
    assert treasury_ != empty(address), "router: zero treasury"
    assert fee_bps_ <= MAX_FEE_BPS, "router: fee too high"
    access_control.__init__()
    pausable.__init__()
    eip712_domain_separator.__init__(name_eip712_, version_eip712_)
    coin = coin_
    engagement = engagement_
    self.treasury = treasury_
    self.fee_bps = fee_bps_
    log TreasuryUpdated(old_treasury=empty(address), new_treasury=treasury_)
    log FeeUpdated(old_fee_bps=0, new_fee_bps=fee_bps_)


# ---------------------------------------------------------------- settlement


@external
@nonreentrant
def settle(intents: DynArray[Intent, MAX_BATCH], signatures: DynArray[Bytes[65], MAX_BATCH]) -> uint256:
    """
    @notice Settle each valid intent: move `amount` from the fan to this
            contract, credit the creator `amount - fee` and the treasury
            `fee`. Invalid intents are skipped with `IntentRejected`.
    @return uint256 How many intents settled.
    """
    access_control._check_role(SETTLER_ROLE, msg.sender)
    pausable._require_not_paused()
    assert len(intents) == len(signatures), "router: length mismatch"
    fee_bps: uint256 = self.fee_bps
    treasury: address = self.treasury
    settled: uint256 = 0
    for i: uint256 in range(len(intents), bound=MAX_BATCH):
        settled += self._settle_one(intents[i], signatures[i], fee_bps, treasury)
    return settled


@external
@nonreentrant
def settle_with_permits(
    intents: DynArray[Intent, MAX_BATCH],
    signatures: DynArray[Bytes[65], MAX_BATCH],
    permits: DynArray[Permit, MAX_BATCH],
) -> uint256:
    """
    @notice `settle`, applying each gift's Coin permit first (gasless gifts:
            the fan never sends an `approve`). `permits[i]` belongs to
            `intents[i]`; a zero deadline means none. A permit is applied
            only while the allowance is short, and never reverts the batch:
            a bad, expired or already used permit leaves the allowance as it
            was, and the intent is rejected as any intent without allowance.
    @return uint256 How many intents settled.
    """
    access_control._check_role(SETTLER_ROLE, msg.sender)
    pausable._require_not_paused()
    assert len(intents) == len(signatures) and len(intents) == len(permits), "router: length mismatch"
    fee_bps: uint256 = self.fee_bps
    treasury: address = self.treasury
    settled: uint256 = 0
    for i: uint256 in range(len(intents), bound=MAX_BATCH):
        self._apply_permit(intents[i], permits[i])
        settled += self._settle_one(intents[i], signatures[i], fee_bps, treasury)
    return settled


@internal
def _settle_one(intent: Intent, signature: Bytes[65], fee_bps: uint256, treasury: address) -> uint256:
    """
    @dev Settle one intent (1), or log why it is skipped (0).
    """
    digest: bytes32 = self._intent_digest(intent)
    reason: uint8 = self._rejection(intent, digest, signature)
    if reason != 0:
        log IntentRejected(digest=digest, reason=reason)
        return 0
    # Effects first, then the (trusted, pre-checked) token transfer.
    fee: uint256 = intent.amount * fee_bps // BPS
    self.nonce_used[intent.from_][intent.nonce] = True
    self.earnings[intent.to][intent.token] += intent.amount - fee
    if fee != 0:
        self.earnings[treasury][intent.token] += fee
    assert extcall IERC20(intent.token).transferFrom(
        intent.from_, self, intent.amount, default_return_value=True
    ), "router: transferFrom failed"
    log IntentSettled(
        digest=digest,
        from_=intent.from_,
        to=intent.to,
        token=intent.token,
        amount=intent.amount,
        kind=intent.kind,
        fee=fee,
    )
    return 1


@internal
def _apply_permit(intent: Intent, permit: Permit):
    """
    @dev Coin.permit(from, self, value, deadline, v, r, s) for a gift whose
         allowance is short, through a non-reverting call: the Coin checks the
         owner's signature, deadline and nonce; a failure is ignored here and
         shows as REASON_INSUFFICIENT_ALLOWANCE (or the intent's own reason).
    """
    if permit.deadline == 0 or intent.token != coin or intent.from_ == empty(address):
        return
    if staticcall IERC20(coin).allowance(intent.from_, self) >= intent.amount:
        return  # already allowed (e.g. the permit was submitted by someone else first)
    success: bool = raw_call(
        coin,
        abi_encode(
            intent.from_,
            self,
            permit.value,
            permit.deadline,
            permit.v,
            permit.r,
            permit.s,
            method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
        ),
        revert_on_failure=False,
    )


@internal
@view
def _rejection(intent: Intent, digest: bytes32, signature: Bytes[65]) -> uint8:
    """
    @dev 0 if the intent can settle now, else the reason code. Cheap checks
         first; the token calls go only to the two immutable tokens.
    """
    if intent.amount == 0 or intent.from_ == empty(address) or intent.to == empty(address) or intent.to == intent.from_:
        return REASON_INVALID
    if block.timestamp > intent.deadline:
        return REASON_EXPIRED
    if not (
        (intent.kind == KIND_CLAP and intent.token == engagement)
        or (intent.kind == KIND_GIFT and intent.token == coin)
    ):
        return REASON_WRONG_TOKEN
    if self.nonce_used[intent.from_][intent.nonce]:
        return REASON_NONCE_USED
    if not self._signed_by(intent.from_, digest, signature):
        return REASON_BAD_SIGNATURE
    if staticcall IERC20(intent.token).balanceOf(intent.from_) < intent.amount:
        return REASON_INSUFFICIENT_BALANCE
    # The router is the Engagement token's only mover and needs no allowance.
    if intent.token == coin and staticcall IERC20(coin).allowance(intent.from_, self) < intent.amount:
        return REASON_INSUFFICIENT_ALLOWANCE
    return 0


@internal
@view
def _signed_by(signer: address, digest: bytes32, signature: Bytes[65]) -> bool:
    """
    @dev A non-reverting signature check for the batch path. snekmate's
         `ecdsa._recover_sig` reverts on a malformed signature, which would let
         one bad intent revert the whole batch, so the same checks are done
         here as conditions: 65 bytes, v in {27, 28}, and s in the lower half
         order (snekmate's malleability threshold). A contract signer
         (EIP-1271 wallet) is then asked through snekmate's signature_checker,
         whose static call does not revert either.
    """
    if len(signature) == 65:
        r: uint256 = extract32(signature, 0, output_type=uint256)
        s: uint256 = extract32(signature, 32, output_type=uint256)
        v: uint256 = convert(slice(signature, 64, 1), uint256)
        if s <= ecdsa._MALLEABILITY_THRESHOLD and (v == 27 or v == 28):
            # ecrecover yields the zero address on failure; `signer` is never zero here.
            if ecrecover(digest, v, r, s) == signer:
                return True
    if signer.is_contract:
        return signature_checker._is_valid_ERC1271_signature_now(signer, digest, signature)
    return False


@internal
@view
def _intent_digest(intent: Intent) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(
            abi_encode(
                _INTENT_TYPE_HASH,
                intent.from_,
                intent.to,
                intent.token,
                intent.amount,
                intent.kind,
                intent.nonce,
                intent.deadline,
            )
        )
    )


@external
@view
def intent_digest(intent: Intent) -> bytes32:
    """
    @notice The EIP-712 digest a fan signs for `intent` (and the `digest`
            field of its events).
    """
    return self._intent_digest(intent)


# ---------------------------------------------------------------- withdrawals


@external
@nonreentrant
def withdraw(token: address, amount: uint256):
    """
    @notice Withdraw `amount` of the caller's earnings in `token`.
    """
    pausable._require_not_paused()
    self._withdraw(msg.sender, token, amount)


@external
@nonreentrant
def withdraw_for(creator: address, token: address, amount: uint256, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice Gasless withdrawal: pays `amount` of `creator`'s earnings in
            `token` to `creator`, authorised by the creator's EIP-712
            `Withdrawal` signature. Anyone may submit it (normally the
            relayer); the funds can only go to `creator`.
    """
    pausable._require_not_paused()
    assert block.timestamp <= deadline, "router: signature expired"
    assert not self.nonce_used[creator][nonce], "router: nonce used"
    digest: bytes32 = self._withdrawal_digest(creator, token, amount, nonce, deadline)
    assert signature_checker._is_valid_signature_now(creator, digest, signature), "router: invalid signature"
    self.nonce_used[creator][nonce] = True
    self._withdraw(creator, token, amount)


@internal
def _withdraw(creator: address, token: address, amount: uint256):
    assert amount != 0, "router: zero amount"
    earned: uint256 = self.earnings[creator][token]
    assert earned >= amount, "router: insufficient earnings"
    self.earnings[creator][token] = earned - amount
    assert extcall IERC20(token).transfer(creator, amount, default_return_value=True), "router: transfer failed"
    log Withdrawn(creator=creator, token=token, amount=amount)


@internal
@view
def _withdrawal_digest(creator: address, token: address, amount: uint256, nonce: uint256, deadline: uint256) -> bytes32:
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(_WITHDRAWAL_TYPE_HASH, creator, token, amount, nonce, deadline))
    )


@external
@view
def withdrawal_digest(creator: address, token: address, amount: uint256, nonce: uint256, deadline: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a creator signs for `withdraw_for`.
    """
    return self._withdrawal_digest(creator, token, amount, nonce, deadline)


@external
def invalidate_nonce(nonce: uint256):
    """
    @notice Burn one of the caller's nonces, cancelling a signed intent or
            withdrawal that has not been settled yet.
    """
    assert not self.nonce_used[msg.sender][nonce], "router: nonce used"
    self.nonce_used[msg.sender][nonce] = True
    log NonceInvalidated(account=msg.sender, nonce=nonce)


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    return eip712_domain_separator._domain_separator_v4()


# ---------------------------------------------------------------- admin


@external
def set_fee_bps(new_fee_bps: uint256):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert new_fee_bps <= MAX_FEE_BPS, "router: fee too high"
    log FeeUpdated(old_fee_bps=self.fee_bps, new_fee_bps=new_fee_bps)
    self.fee_bps = new_fee_bps


@external
def set_treasury(new_treasury: address):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert new_treasury != empty(address), "router: zero treasury"
    log TreasuryUpdated(old_treasury=self.treasury, new_treasury=new_treasury)
    self.treasury = new_treasury


@external
def pause():
    """
    @notice Stops settle, withdraw and withdraw_for.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    pausable._unpause()
