# pragma version ~=0.4.3
"""
@title HookToken (test only, never deployed)
@notice An ERC-20 that calls `on_token_received()` on a contract recipient of
        `transfer` (like ERC-777 hooks), to let a recipient try re-entering the
        TipRouter during a withdrawal.
"""

from ethereum.ercs import IERC20
implements: IERC20

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

exports: (erc20.balanceOf, erc20.allowance, erc20.totalSupply, erc20.approve, erc20.transferFrom, erc20.mint)


interface IHook:
    def on_token_received(): nonpayable


@deploy
def __init__():
    ownable.__init__()
    erc20.__init__("Hook", "HOOK", 18, "Hook", "1")


@external
def transfer(to: address, amount: uint256) -> bool:
    erc20._transfer(msg.sender, to, amount)
    if to.is_contract:
        extcall IHook(to).on_token_received()
    return True
