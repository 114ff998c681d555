"""Our contracts' EIP-712 messages: the TipRouter's ``Intent`` (fans' tips) and ``Withdrawal`` (creators'),
and the MeetingPass's ``Redemption`` (a winner's consent to burn the pass for meeting access).

The domain is read from the deployed contract (``eip712Domain()``, EIP-5267) and checked against
the manifest, so the digests computed here are the contracts' own (``intent_digest``, and the
``digest`` of ``IntentSettled`` / ``IntentRejected``). Signatures are checked as the contract
checks them (65 bytes, v in {27, 28}, s in the lower half order), so an intent accepted here is
not one the contract would reject as badly signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from core.chain.manifest import Manifest
from core.chain.rpc import RpcClient
from core.errors import ConfigError

KIND_CLAP = 0  # TipRouter.KIND_CLAP: paid in the engagement token (TKI)
KIND_GIFT = 1  # TipRouter.KIND_GIFT: paid in the coin (TK)
KIND_NAMES = {KIND_CLAP: "clap", KIND_GIFT: "gift"}
# TipRouter.REASON_*: why `settle` skipped an intent (IntentRejected.reason).
REJECTION_REASONS = {
    1: "bad_signature",
    2: "nonce_used",
    3: "expired",
    4: "wrong_token",
    5: "insufficient_balance",
    6: "insufficient_allowance",
    7: "invalid",
}
MAX_UINT256 = 2**256 - 1
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_EIP712_DOMAIN_SELECTOR = "0x84b0196e"  # eip712Domain()
_DOMAIN_TYPES = ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"]

INTENT_TYPES = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "kind", "type": "uint8"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
REDEMPTION_TYPES = [  # MeetingPass.burn_for_access: the holder's consent to burn the pass
    {"name": "tokenId", "type": "uint256"},
    {"name": "holder", "type": "address"},
    {"name": "deadline", "type": "uint256"},
]
PERMIT_TYPES = [  # EIP-2612 (Coin.permit): a fan's allowance to the TipRouter, for gasless gifts
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAWAL_TYPES = [
    {"name": "creator", "type": "address"},
    {"name": "token", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


@dataclass(frozen=True)
class Domain:
    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


def decode_domain(result: str) -> Domain:
    """The ``eip712Domain()`` return data (EIP-5267) as a :class:`Domain`."""
    _, name, version, chain_id, contract, _, _ = abi_decode(_DOMAIN_TYPES, bytes.fromhex(result.removeprefix("0x")))
    return Domain(str(name), str(version), int(chain_id), str(contract).lower())


async def fetch_domain(rpc: RpcClient, manifest: Manifest) -> Domain:
    """The deployed TipRouter's domain (EIP-5267); it must name the manifest's chain and router address."""
    return await fetch_domain_at(rpc, manifest.contract("TipRouter").address, manifest.chain_id, "TipRouter")


async def fetch_domain_at(rpc: RpcClient, address: str, chain_id: int, contract: str) -> Domain:
    """The domain of the contract at ``address`` (``contract`` names it in errors); it must name that chain
    and address, or the digests computed here would not be the contract's."""
    address = address.lower()
    result = await rpc.call("eth_call", [{"to": address, "data": _EIP712_DOMAIN_SELECTOR}, "latest"])
    domain = decode_domain(str(result))
    if domain.chain_id != chain_id or domain.verifying_contract != address:
        raise ConfigError(
            f"the {contract}'s EIP-712 domain does not match the deployment manifest",
            details={"chain_id": domain.chain_id, "verifying_contract": domain.verifying_contract},
        )
    return domain


def _type_hash(primary: str, types: list[dict[str, str]]) -> bytes:
    fields = ",".join(f"{t['type']} {t['name']}" for t in types)
    return keccak(text=f"{primary}({fields})")


_DOMAIN_TYPE_HASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_INTENT_TYPE_HASH = _type_hash("Intent", INTENT_TYPES)
_WITHDRAWAL_TYPE_HASH = _type_hash("Withdrawal", WITHDRAWAL_TYPES)
_REDEMPTION_TYPE_HASH = _type_hash("Redemption", REDEMPTION_TYPES)
_PERMIT_TYPE_HASH = _type_hash("Permit", PERMIT_TYPES)


def domain_separator(domain: Domain) -> bytes:
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPE_HASH,
                keccak(text=domain.name),
                keccak(text=domain.version),
                domain.chain_id,
                domain.verifying_contract,
            ],
        )
    )


def _digest(domain: Domain, struct_types: list[str], values: list[Any]) -> bytes:
    # EIP-712 by hand for two static structs (eth-account's encode_typed_data is ~20x slower).
    return keccak(b"\x19\x01" + domain_separator(domain) + keccak(abi_encode(struct_types, values)))


def intent_message(intent: dict[str, Any]) -> dict[str, Any]:
    return {
        "from": to_checksum_address(intent["from"]),
        "to": to_checksum_address(intent["to"]),
        "token": to_checksum_address(intent["token"]),
        "amount": int(intent["amount"]),
        "kind": int(intent["kind"]),
        "nonce": int(intent["nonce"]),
        "deadline": int(intent["deadline"]),
    }


def intent_digest(domain: Domain, intent: dict[str, Any]) -> bytes:
    """``TipRouter.intent_digest(intent)``; ``intent`` has from/to/token/amount/kind/nonce/deadline."""
    m = intent_message(intent)
    types = ["bytes32", "address", "address", "address", "uint256", "uint8", "uint256", "uint256"]
    return _digest(domain, types, [_INTENT_TYPE_HASH, *m.values()])


def withdrawal_digest(domain: Domain, withdrawal: dict[str, Any]) -> bytes:
    """``TipRouter.withdrawal_digest(...)``; ``withdrawal`` has creator/token/amount/nonce/deadline."""
    values = [
        _WITHDRAWAL_TYPE_HASH,
        withdrawal["creator"],
        withdrawal["token"],
        int(withdrawal["amount"]),
        int(withdrawal["nonce"]),
        int(withdrawal["deadline"]),
    ]
    return _digest(domain, ["bytes32", "address", "address", "uint256", "uint256", "uint256"], values)


def redemption_digest(domain: Domain, token_id: int, holder: str, deadline: int) -> bytes:
    """``MeetingPass``'s digest of ``Redemption(tokenId, holder, deadline)`` (``domain``: the pass's)."""
    values = [_REDEMPTION_TYPE_HASH, token_id, holder, deadline]
    return _digest(domain, ["bytes32", "uint256", "address", "uint256"], values)


def permit_digest(domain: Domain, permit: dict[str, Any]) -> bytes:
    """The Coin's EIP-2612 digest of ``Permit(owner, spender, value, nonce, deadline)`` (``domain``: the Coin's)."""
    values = [_PERMIT_TYPE_HASH, *(permit[k] for k in ("owner", "spender", "value", "nonce", "deadline"))]
    return _digest(domain, ["bytes32", "address", "address", "uint256", "uint256", "uint256"], values)


def recover(digest: bytes, signature: str) -> str | None:
    """The signer of ``digest`` (lower-case address), or None where the contract's check fails."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        return None
    if len(raw) != 65 or raw[64] not in (27, 28) or int.from_bytes(raw[32:64], "big") > _SECP256K1_HALF_N:
        return None
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")
    try:
        public_key = Signature(vrs=(raw[64] - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError, ValueError):
        return None
    return str(public_key.to_address()).lower()
