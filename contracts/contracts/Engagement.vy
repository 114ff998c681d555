# pragma version ~=0.4.3
"""
@title Engagement (TKI)
@notice ERC-20 balance of engagement points that fans earn (accrued by the
        relayer once per epoch) and spend as claps through the TipRouter.
        Users cannot move it: `approve` always reverts, and `transfer` /
        `transferFrom` are open only to the MOVER_ROLE (the TipRouter), which
        moves it without an allowance because it only ever does so for an
        intent the owner signed.
@dev    Built on snekmate's erc20 (balances, supply, Transfer events) and
        access_control (roles). snekmate's erc20 needs an `ownable`; it is
        initialised but none of its owner functions are exported, so roles are
        governed only by access_control. The erc20 module also marks the
        deployer as an erc20 minter; its `mint` is not exported, so that flag
        is inert: only `accrue` mints.
"""

from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

from snekmate.auth import access_control
initializes: access_control

exports: (
    erc20.balanceOf,
    erc20.allowance,
    erc20.totalSupply,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    access_control.DEFAULT_ADMIN_ROLE,
)

# @dev Mints points with `accrue` (the relayer).
ACCRUER_ROLE: public(constant(bytes32)) = keccak256("ACCRUER_ROLE")
# @dev Moves points between accounts without an allowance (the TipRouter).
MOVER_ROLE: public(constant(bytes32)) = keccak256("MOVER_ROLE")

# @dev Upper bound of one `accrue` call (≈ 26k gas per new holder keeps a
# full batch well under a 30M block gas limit).
MAX_ACCRUALS: public(constant(uint256)) = 512


event Accrued:
    epoch: indexed(uint256)
    account: indexed(address)
    amount: uint256


# @dev epoch => already accrued
epoch_accrued: public(HashMap[uint256, bool])


@deploy
def __init__(name_: String[25], symbol_: String[5]):
    """
    @param name_ Token name, e.g. "Creator Engagement".
    @param symbol_ Token symbol, e.g. "TKI".
    @notice The deployer gets DEFAULT_ADMIN_ROLE; grant ACCRUER_ROLE to the
            relayer and MOVER_ROLE to the TipRouter.
    """
    ownable.__init__()
    # The EIP-712 domain of the erc20 module is only used by `permit`,
    # which is not exported.
    erc20.__init__(name_, symbol_, 18, name_, "1")
    access_control.__init__()


@external
def accrue(epoch: uint256, accounts: DynArray[address, MAX_ACCRUALS], amounts: DynArray[uint256, MAX_ACCRUALS]):
    """
    @notice Mint each `amounts[i]` to `accounts[i]` for `epoch`. An epoch can
            be accrued once; a population larger than MAX_ACCRUALS needs one
            epoch id per chunk (e.g. day * 1000 + chunk).
    @dev Zero amounts are skipped (no event).
    """
    access_control._check_role(ACCRUER_ROLE, msg.sender)
    assert not self.epoch_accrued[epoch], "engagement: epoch already accrued"
    assert len(accounts) == len(amounts), "engagement: length mismatch"
    assert len(accounts) > 0, "engagement: empty accrual"
    self.epoch_accrued[epoch] = True
    for i: uint256 in range(len(accounts), bound=MAX_ACCRUALS):
        amount: uint256 = amounts[i]
        if amount == 0:
            continue
        erc20._mint(accounts[i], amount)
        log Accrued(epoch=epoch, account=accounts[i], amount=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Only the MOVER_ROLE (the TipRouter paying out of its escrow).
    """
    access_control._check_role(MOVER_ROLE, msg.sender)
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Only the MOVER_ROLE, without an allowance: the TipRouter calls it
            only for an intent that `owner` signed.
    """
    access_control._check_role(MOVER_ROLE, msg.sender)
    erc20._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Always reverts: engagement points are not transferable.
    """
    raise "engagement: non-transferable"
