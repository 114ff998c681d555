"""Access-token verification: the claims are verified once per process, the expiry on every use."""

from __future__ import annotations

import time

import jwt
import pytest

from api.auth.tokens import ALGORITHM, ISSUER, decode_access_token, issue_access_token, signing_key
from api.domain_errors import Unauthenticated

KEY = signing_key("unit-test-secret-0123456789-0123456789")


def test_a_verified_token_is_refused_once_it_expires() -> None:
    token = issue_access_token(KEY, 7, "user", 1)
    assert decode_access_token(KEY, token).user_id == 7  # verified and kept
    time.sleep(1.1)  # past its exp (whole seconds): however slow the machine, later is later
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(KEY, token)
    assert refused.value.details == {"reason": "expired"}


def test_another_key_never_gets_a_kept_verification() -> None:
    token = issue_access_token(KEY, 8, "user", 600)
    assert decode_access_token(KEY, token).user_id == 8
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(signing_key("another-secret-0123456789-0123456789"), token)
    assert refused.value.details == {"reason": "invalid"}


def test_a_tampered_token_is_refused_after_the_genuine_one_was_kept() -> None:
    token = issue_access_token(KEY, 9, "user", 600)
    decode_access_token(KEY, token)
    payload = jwt.decode(token, KEY, algorithms=[ALGORITHM], issuer=ISSUER)
    forged = jwt.encode(
        {**payload, "sub": "1", "role": "admin"}, "not-the-key-0123456789-0123456789", algorithm=ALGORITHM
    )
    with pytest.raises(Unauthenticated):
        decode_access_token(KEY, forged)
