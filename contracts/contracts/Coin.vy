# pragma version ~=0.4.3
"""
@title Coin (TK)
@notice ERC-20 with EIP-2612 permit, bought with fiat. Every mint carries the
        business reference of the payment that paid for it (`payment_ref`);
        a reference can mint once, so one fiat payment can never mint twice.
"""

from ethereum.ercs import IERC20
implements: IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

exports: (
    erc20.IERC20,
    erc20.IERC20Detailed,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    erc20.is_minter,
    erc20.set_minter,
    erc20.owner,
    erc20.transfer_ownership,
    erc20.burn,
    erc20.burn_from,
)


event Minted:
    to: indexed(address)
    amount: uint256
    payment_ref: indexed(bytes32)


# @dev payment_ref => already minted
payment_used: public(HashMap[bytes32, bool])


@deploy
def __init__(name_: String[25], symbol_: String[5], name_eip712_: String[50], version_eip712_: String[20]):
    ownable.__init__()
    erc20.__init__(name_, symbol_, 18, name_eip712_, version_eip712_)


@external
def mint(to: address, amount: uint256, payment_ref: bytes32):
    """
    @notice Mint `amount` to `to` for the fiat payment `payment_ref`.
            Only a minter (the relayer) may call; a reused or empty reference reverts.
    """
    assert erc20.is_minter[msg.sender], "coin: not minter"
    assert payment_ref != empty(bytes32), "coin: empty payment_ref"
    assert not self.payment_used[payment_ref], "coin: payment_ref used"
    assert amount > 0, "coin: zero amount"
    self.payment_used[payment_ref] = True
    erc20._mint(to, amount)
    log Minted(to=to, amount=amount, payment_ref=payment_ref)
