"""MeetingPass: minted only by the minter role (the auction); burned by its holder, or by
the redeemer with the holder's signed redemption."""

import ape
import pytest
from conftest import BASE_URI, PASS_DOMAIN, role


@pytest.fixture
def minter(meeting_pass, admin, stranger):
    """A test stand-in for the auction."""
    meeting_pass.grantRole(role("MINTER_ROLE"), stranger, sender=admin)
    return stranger


@pytest.fixture
def pass_id(meeting_pass, minter, fan):
    tx = meeting_pass.mint(fan, 42, sender=minter)
    return next(iter(tx.events.filter(meeting_pass.PassMinted))).token_id


def test_metadata_and_interfaces(meeting_pass, admin, relayer):
    assert (meeting_pass.name(), meeting_pass.symbol()) == ("Meeting Pass", "PASS")
    assert meeting_pass.hasRole(role("REDEEMER_ROLE"), relayer)
    assert meeting_pass.hasRole(meeting_pass.DEFAULT_ADMIN_ROLE(), admin)
    assert meeting_pass.MINTER_ROLE() == role("MINTER_ROLE")
    for iid in ["01ffc9a7", "80ac58cd", "5b5e139f", "780e9d63", "7965db0b"]:
        assert meeting_pass.supportsInterface(bytes.fromhex(iid))
    assert not meeting_pass.supportsInterface(bytes.fromhex("ffffffff"))
    domain = meeting_pass.eip712Domain()
    assert (domain[1], domain[2], domain[4]) == (*PASS_DOMAIN, meeting_pass.address)
    assert len(bytes(meeting_pass.DOMAIN_SEPARATOR())) == 32


def test_mint(meeting_pass, minter, fan, fans):
    tx = meeting_pass.mint(fan, 42, sender=minter)
    [e] = tx.events.filter(meeting_pass.PassMinted)
    assert (e.token_id, e.holder, e.auction_id) == (1, fan, 42)
    [t] = tx.events.filter(meeting_pass.Transfer)
    assert (t.sender, t.receiver, t.token_id) == ("0x" + "00" * 20, fan, 1)
    assert meeting_pass.ownerOf(1) == fan and meeting_pass.auction_of(1) == 42
    assert meeting_pass.tokenURI(1) == BASE_URI + "1"
    meeting_pass.mint(fans[1], 43, sender=minter)
    assert meeting_pass.last_token_id() == 2 and meeting_pass.totalSupply() == 2
    assert meeting_pass.tokenOfOwnerByIndex(fans[1], 0) == 2 and meeting_pass.tokenByIndex(1) == 2


def test_only_minter_mints(meeting_pass, admin, fan):
    with ape.reverts("access_control: account is missing role"):
        meeting_pass.mint(fan, 1, sender=fan)
    with ape.reverts("access_control: account is missing role"):
        meeting_pass.mint(fan, 1, sender=admin)  # not even the admin


def test_holder_burns(meeting_pass, fan, fans, pass_id):
    with ape.reverts("erc721: caller is not token owner or approved"):
        meeting_pass.burn(pass_id, sender=fans[1])
    meeting_pass.burn(pass_id, sender=fan)
    assert meeting_pass.balanceOf(fan) == 0
    with ape.reverts("erc721: invalid token ID"):
        meeting_pass.ownerOf(pass_id)


def test_pass_is_transferable(meeting_pass, fan, fans, pass_id):
    meeting_pass.transferFrom(fan, fans[1], pass_id, sender=fan)
    assert meeting_pass.ownerOf(pass_id) == fans[1]


def test_burn_for_access(meeting_pass, relayer, fan, pass_id, signer, deadline):
    sig = signer.redemption(fan, meeting_pass, pass_id, deadline)
    tx = meeting_pass.burn_for_access(pass_id, fan, deadline, sig, sender=relayer)
    [e] = tx.events.filter(meeting_pass.PassRedeemed)
    assert (e.token_id, e.holder, e.auction_id) == (pass_id, fan, 42)
    assert meeting_pass.balanceOf(fan) == 0
    with ape.reverts("erc721: invalid token ID"):  # replay: burned ids never come back
        meeting_pass.burn_for_access(pass_id, fan, deadline, sig, sender=relayer)


def test_burn_for_access_reverts(meeting_pass, relayer, fan, fans, pass_id, signer, deadline, chain):
    sig = signer.redemption(fan, meeting_pass, pass_id, deadline)
    with ape.reverts("access_control: account is missing role"):
        meeting_pass.burn_for_access(pass_id, fan, deadline, sig, sender=fan)
    with ape.reverts("pass: holder does not own token"):
        meeting_pass.burn_for_access(
            pass_id, fans[1], deadline, signer.redemption(fans[1], meeting_pass, pass_id, deadline), sender=relayer
        )
    with ape.reverts("erc721: invalid token ID"):
        meeting_pass.burn_for_access(999, fan, deadline, sig, sender=relayer)
    with ape.reverts("pass: invalid signature"):  # someone else signed for the holder
        meeting_pass.burn_for_access(
            pass_id,
            fan,
            deadline,
            signer.redemption(fans[1], meeting_pass, pass_id, deadline, holder=fan),
            sender=relayer,
        )
    with ape.reverts("pass: invalid signature"):  # other deadline than signed
        meeting_pass.burn_for_access(pass_id, fan, deadline + 1, sig, sender=relayer)
    with ape.reverts("pass: invalid signature"):  # wrong chain id
        meeting_pass.burn_for_access(
            pass_id,
            fan,
            deadline,
            signer.redemption(fan, meeting_pass, pass_id, deadline, chain_id=999),
            sender=relayer,
        )
    with ape.reverts("pass: invalid signature"):  # wrong contract
        meeting_pass.burn_for_access(
            pass_id,
            fan,
            deadline,
            signer.redemption(fan, meeting_pass, pass_id, deadline, verifying_contract="0x" + "22" * 20),
            sender=relayer,
        )
    short = chain.pending_timestamp + 60
    expiring = signer.redemption(fan, meeting_pass, pass_id, short)
    chain.pending_timestamp += 120
    with ape.reverts("pass: signature expired"):
        meeting_pass.burn_for_access(pass_id, fan, short, expiring, sender=relayer)
    assert meeting_pass.ownerOf(pass_id) == fan


def test_signature_of_previous_holder_is_useless(meeting_pass, relayer, fan, fans, pass_id, signer, deadline):
    sig = signer.redemption(fan, meeting_pass, pass_id, deadline)
    meeting_pass.transferFrom(fan, fans[1], pass_id, sender=fan)
    with ape.reverts("pass: holder does not own token"):
        meeting_pass.burn_for_access(pass_id, fan, deadline, sig, sender=relayer)
    digest = meeting_pass.redemption_digest(pass_id, fans[1], deadline)
    assert len(bytes(digest)) == 32


def test_contract_holder_redeems_with_eip1271(project, meeting_pass, minter, relayer, fan, signer, deadline):
    wallet = fan.deploy(project.Wallet1271, fan)
    meeting_pass.mint(wallet, 7, sender=minter)  # non-safe mint: no receiver hook needed
    token_id = meeting_pass.last_token_id()
    sig = signer.redemption(fan, meeting_pass, token_id, deadline, holder=wallet.address)
    tx = meeting_pass.burn_for_access(token_id, wallet, deadline, sig, sender=relayer)
    assert next(iter(tx.events.filter(meeting_pass.PassRedeemed))).holder == wallet
