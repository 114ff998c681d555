"""The MeetingPass EIP-712 ``Redemption(tokenId, holder, deadline)`` a holder signs to burn the pass.

The domain is read once from the contract (ERC-5267 ``eip712Domain()``), so the API checks the
very digest ``burn_for_access`` will check. Signatures are held to what the contract's ECDSA
accepts (v 27/28, low s), so a redemption the API accepts is one the chain accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from core.chain.rpc import RpcClient
from core.errors import ConfigError

REDEMPTION_TYPES = {
    "Redemption": [
        {"name": "tokenId", "type": "uint256"},
        {"name": "holder", "type": "address"},
        {"name": "deadline", "type": "uint256"},
    ]
}
_DOMAIN_OUTPUTS = ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"]
_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


@dataclass(frozen=True)
class Domain:
    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


async def load_domain(rpc: RpcClient, address: str, chain_id: int) -> Domain:
    data = "0x" + function_signature_to_4byte_selector("eip712Domain()").hex()
    raw = await rpc.call("eth_call", [{"to": address, "data": data}, "latest"])
    _, name, version, domain_chain, contract, _, _ = abi_decode(_DOMAIN_OUTPUTS, bytes.fromhex(str(raw)[2:]))
    if int(domain_chain) != chain_id or str(contract).lower() != address.lower():
        raise ConfigError("the MeetingPass EIP-712 domain does not match the deployment manifest")
    return Domain(str(name), str(version), int(domain_chain), str(contract).lower())


def recover_holder(domain: Domain, token_id: int, holder: str, deadline: int, signature: str) -> str | None:
    """The lower-case signer of the redemption, or None if the signature is not one the contract accepts."""
    raw = bytes.fromhex(signature[2:])
    if len(raw) != 65 or raw[64] not in (27, 28) or int.from_bytes(raw[32:64], "big") > _HALF_N:
        return None
    message = encode_typed_data(
        domain_data=domain.as_dict(),
        message_types=REDEMPTION_TYPES,
        message_data={"tokenId": token_id, "holder": to_checksum_address(holder), "deadline": deadline},
    )
    try:
        signer: str = Account.recover_message(message, signature=raw)
    except (ValueError, TypeError, BadSignature):  # eth-keys: not a point on the curve, r/s out of range
        return None
    return signer.lower()
