# pragma version ~=0.4.3
"""
@title ProbeFactory (tests only)
@notice Creates minimal proxies of a Probe and announces each with `Created(child)`;
        `create_and_transfer` also makes the new child log a Transfer in the same transaction.
"""

interface Probe:
    def transfer(sender: address, receiver: address, amount: uint256): nonpayable

event Created:
    child: indexed(address)
    seq: uint256

implementation: public(immutable(address))
count: public(uint256)


@deploy
def __init__(impl: address):
    implementation = impl


@external
def create() -> address:
    child: address = create_minimal_proxy_to(implementation)
    self.count += 1
    log Created(child=child, seq=self.count)
    return child


@external
def create_and_transfer(receiver: address, amount: uint256) -> address:
    child: address = create_minimal_proxy_to(implementation)
    self.count += 1
    log Created(child=child, seq=self.count)
    extcall Probe(child).transfer(self, receiver, amount)
    return child
