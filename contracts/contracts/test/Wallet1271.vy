# pragma version ~=0.4.3
"""
@title Wallet1271 (test only, never deployed)
@notice A minimal EIP-1271 smart wallet: a signature is valid when its EOA
        `signer` signed the hash. Used to test contract signers.
"""

from snekmate.utils import ecdsa

signer: public(address)


@deploy
def __init__(signer_: address):
    self.signer = signer_


@external
@view
def isValidSignature(hash: bytes32, signature: Bytes[65]) -> bytes4:
    if ecdsa._recover_sig(hash, signature) == self.signer:
        return 0x1626BA7E
    return 0xFFFFFFFF


@external
def call(target: address, data: Bytes[512]):
    assert msg.sender == self.signer, "wallet: not signer"
    raw_call(target, data)
