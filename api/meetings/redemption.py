"""The MeetingPass EIP-712 ``Redemption(tokenId, holder, deadline)`` a holder signs to burn the pass.

The domain is read once from the contract (ERC-5267 ``eip712Domain()``), so the API checks the
very digest ``burn_for_access`` will check. Signatures are held to what the contract's ECDSA
accepts (v 27/28, low s), so a redemption the API accepts is one the chain accepts. The EIP-712
work itself is ``core.chain.eip712``'s, shared with the tipping intents.
"""

from __future__ import annotations

from core.chain.eip712 import Domain, fetch_domain_at, recover, redemption_digest
from core.chain.rpc import RpcClient


async def load_domain(rpc: RpcClient, address: str, chain_id: int) -> Domain:
    return await fetch_domain_at(rpc, address, chain_id, "MeetingPass")


def recover_holder(domain: Domain, token_id: int, holder: str, deadline: int, signature: str) -> str | None:
    """The lower-case signer of the redemption, or None if the signature is not one the contract accepts."""
    return recover(redemption_digest(domain, token_id, holder, deadline), signature)
