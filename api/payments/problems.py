"""Domain errors of payments (mapped to HTTP by ``api/errors.py`` through their roots)."""

from __future__ import annotations

from api.domain_errors import Forbidden
from core.errors import InvalidInput, ServiceUnavailable


class AccountFlagged(Forbidden):
    """The account has an open flag (refund or dispute): purchases are blocked until an admin clears it."""

    code = "account_flagged"


class InvalidSignature(InvalidInput):
    """The webhook's Stripe-Signature is missing, forged or too old."""

    code = "invalid_signature"


class InvalidDiscount(InvalidInput):
    """The discount code cannot be used for this purchase."""

    code = "invalid_discount"


class PaymentsUnavailable(ServiceUnavailable):
    """The payment provider cannot be reached or refused the call."""

    code = "payments_unavailable"
