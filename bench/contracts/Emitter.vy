# pragma version ~=0.4.3
"""
@title Emitter (benchmark only)
@notice Emits many ERC-20 `Transfer` events per call, with the same signature as the Coin's,
        so a benchmark can build a chain of hundreds of thousands of events quickly. Each
        account first receives 10 from the zero address, then sends 5 on: balances never go
        negative, so the indexer's balance projection stays valid.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


@external
def spam(pairs: uint256, seed: uint256):
    for i: uint256 in range(pairs, bound=1000):
        a: address = convert(convert(keccak256(abi_encode(seed, i)), uint256) % (1 << 160), address)
        b: address = convert(convert(keccak256(abi_encode(i, seed)), uint256) % (1 << 160), address)
        log Transfer(sender=empty(address), receiver=a, value=10)
        log Transfer(sender=a, receiver=b, value=5)
