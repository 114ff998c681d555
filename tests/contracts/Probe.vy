# pragma version ~=0.4.3
"""
@title Probe (tests only)
@notice A plain ERC-20-shaped `Transfer` plus an event with every kind of argument, for the
        indexer's configured-contract tests. Also the implementation behind ProbeFactory's
        minimal proxies (their logs carry the proxy's address).
"""

struct Point:
    x: int128
    label: String[32]

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Kitchen:
    tag: indexed(String[32])
    who: indexed(address)
    flag: bool
    small: int8
    sel: bytes4
    blob: Bytes[64]
    note: String[64]
    nums: DynArray[uint256, 8]
    point: Point


@external
def transfer(sender: address, receiver: address, amount: uint256):
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def kitchen(tag: String[32], note: String[64], nums: DynArray[uint256, 8], small: int8, blob: Bytes[64]):
    log Kitchen(tag=tag, who=msg.sender, flag=True, small=small, sel=0xdeadbeef, blob=blob, note=note, nums=nums,
                point=Point(x=-5, label="p"))


@external
def transfers(receiver: address, first: uint256, count: uint256):
    """`count` Transfers in one transaction, of `first`, `first + 1`, ... (many logs for little time)."""
    for i: uint256 in range(count, bound=1000):
        log Transfer(sender=msg.sender, receiver=receiver, value=first + i)
