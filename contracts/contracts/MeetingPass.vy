# pragma version ~=0.4.3
"""
@title MeetingPass
@notice ERC-721 pass to a creator's meeting, minted only by the
        MeetingAuction (MINTER_ROLE) to an auction's winner. The holder can
        burn it (`burn`), and the relayer (REDEEMER_ROLE) burns it when the
        holder redeems it for access, but only with the holder's EIP-712
        signed `Redemption`.
@dev    snekmate's erc721 needs an `ownable`; it is initialised but its owner,
        `safe_mint` and `set_minter` functions are not exported: minting goes
        through `mint` (MINTER_ROLE) and roles are governed by access_control.
        `mint` uses the non-safe `_mint` on purpose: a winner contract that
        rejects ERC-721s must not be able to block `end_auction` (and with it
        the seller's proceeds).
"""

from ethereum.ercs import IERC165
implements: IERC165

from ethereum.ercs import IERC721
implements: IERC721

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc721
initializes: erc721[ownable := ownable]

from snekmate.auth import access_control
initializes: access_control

from snekmate.utils import signature_checker

exports: (
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.name,
    erc721.symbol,
    erc721.tokenURI,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.burn,
    erc721.eip712Domain,
    erc721.DOMAIN_SEPARATOR,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    access_control.DEFAULT_ADMIN_ROLE,
)

# @dev Mints passes (the MeetingAuction).
MINTER_ROLE: public(constant(bytes32)) = keccak256("MINTER_ROLE")
# @dev Burns a pass with the holder's signed redemption (the relayer).
REDEEMER_ROLE: public(constant(bytes32)) = keccak256("REDEEMER_ROLE")

_REDEMPTION_TYPE_HASH: constant(bytes32) = keccak256(
    "Redemption(uint256 tokenId,address holder,uint256 deadline)"
)

# ERC-165 ids: ERC-165, ERC-721, ERC-721 Metadata, ERC-721 Enumerable, IAccessControl.
_SUPPORTED_INTERFACES: constant(bytes4[5]) = [0x01FFC9A7, 0x80AC58CD, 0x5B5E139F, 0x780E9D63, 0x7965DB0B]


event PassMinted:
    token_id: indexed(uint256)
    holder: indexed(address)
    auction_id: indexed(uint256)

event PassRedeemed:
    token_id: indexed(uint256)
    holder: indexed(address)
    auction_id: indexed(uint256)


# @dev token id => the auction it was won in
auction_of: public(HashMap[uint256, uint256])
# @dev ids of minted passes; the first pass is 1
last_token_id: public(uint256)


@deploy
def __init__(name_: String[25], symbol_: String[5], base_uri_: String[80], name_eip712_: String[50], version_eip712_: String[20]):
    """
    @param base_uri_ tokenURI(id) is `base_uri_` + id (the API serves it).
    @notice The deployer gets DEFAULT_ADMIN_ROLE; grant MINTER_ROLE to the
            MeetingAuction and REDEEMER_ROLE to the relayer.
    """
    ownable.__init__()
    erc721.__init__(name_, symbol_, base_uri_, name_eip712_, version_eip712_)
    access_control.__init__()


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    return interface_id in _SUPPORTED_INTERFACES


@external
def mint(to: address, auction_id: uint256) -> uint256:
    """
    @notice Mint the pass of auction `auction_id` to its winner `to`.
    @return uint256 The new token id.
    """
    access_control._check_role(MINTER_ROLE, msg.sender)
    token_id: uint256 = self.last_token_id + 1
    self.last_token_id = token_id
    self.auction_of[token_id] = auction_id
    erc721._mint(to, token_id)
    log PassMinted(token_id=token_id, holder=to, auction_id=auction_id)
    return token_id


@external
def burn_for_access(token_id: uint256, holder: address, deadline: uint256, signature: Bytes[65]):
    """
    @notice Burn `token_id` for meeting access, authorised by `holder`'s
            EIP-712 `Redemption(tokenId, holder, deadline)` signature.
            A burned id is never minted again, so the signature is single use.
    """
    access_control._check_role(REDEEMER_ROLE, msg.sender)
    assert block.timestamp <= deadline, "pass: signature expired"
    assert erc721._owner_of(token_id) == holder, "pass: holder does not own token"
    digest: bytes32 = self._redemption_digest(token_id, holder, deadline)
    assert signature_checker._is_valid_signature_now(holder, digest, signature), "pass: invalid signature"
    auction_id: uint256 = self.auction_of[token_id]
    erc721._burn(token_id)
    log PassRedeemed(token_id=token_id, holder=holder, auction_id=auction_id)


@internal
@view
def _redemption_digest(token_id: uint256, holder: address, deadline: uint256) -> bytes32:
    return erc721.eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(_REDEMPTION_TYPE_HASH, token_id, holder, deadline))
    )


@external
@view
def redemption_digest(token_id: uint256, holder: address, deadline: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a holder signs to redeem `token_id`.
    """
    return self._redemption_digest(token_id, holder, deadline)
