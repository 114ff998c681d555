"""Which process owns which table: the one that writes it (``tests/unit/test_ownership.py`` holds the code to it).

A table's owner is the only process whose SQL inserts, updates, deletes or copies into it. The few
exceptions are declared here with their reason, by the path prefix of the code allowed to write:
- ``tx_requests`` belongs to the relayer (it claims, sends, confirms and retires requests), and
  every producer enqueues through the queue's contract, ``core/queue/`` — nothing else writes it;
- ``tip_intents`` are the API's (fans submit them), and the relayer's tip jobs move them on
  (approved/refused, submitted in a settle batch);
- the bookkeeping tables of ``core/db`` (migrations run, chain identity) are written by every
  process through that one module.
Tables in the ``custom`` schema (configured contracts' events) are the indexer's; a table in the
``projection_shadow`` schema (a projection being rebuilt beside the served one) has the owner of its namesake.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    owner: str  # "indexer" | "relayer" | "api" | "core"
    also: tuple[str, ...] = ()  # path prefixes of other code allowed to write it (see the module doc)


def _all(owner: str, names: str) -> dict[str, Table]:
    return {name: Table(owner) for name in names.split()}


CUSTOM_SCHEMA_OWNER = "indexer"
SHADOW_SCHEMA = "projection_shadow"

TABLES: dict[str, Table] = {
    **_all(
        "indexer",
        """accruals auctions bids chain_events custom_children custom_contract_progress custom_event_tables
        custom_history_progress custom_logs indexed_blocks indexer_checkpoints intent_outcomes meeting_passes
        router_treasuries token_balances token_mints token_transfers withdrawals projection_versions""",
    ),
    **_all("relayer", "schedule_runs signer_nonces"),
    "tx_requests": Table("relayer", also=("core/queue/",)),
    **_all(
        "api",
        """account_flags blocked_addresses creator_applications creator_profiles credit_accounts credit_entries
        credit_transactions credit_usage discount_codes discount_redemptions email_otps follows meeting_access_log
        meetings notifications payment_packages payments refresh_tokens stripe_events user_blocks user_wallets
        users""",
    ),
    "tip_intents": Table("api", also=("relayer/jobs/",)),
    **_all("api", "media_objects post_comments post_likes posts user_profiles"),
    **_all("api", "oidc_logins signin_codes user_identities"),
    **_all("core", "chain_identity schema_migrations schema_migrations_indexer"),
    **_all("api", "gifts livekit_events stream_gifts stream_ingresses stream_participants streams"),
    **_all("api", "identity_verifications payout_details verification_document_views verification_documents"),
    # Generation (api/generation); procrastinate's tables are written by its own SQL functions, called by the
    # API (deferring a job in the transaction that holds the credits) and its generation workers.
    **_all("api", "generation_jobs videos"),
    **_all("api", "subscription_checkouts subscription_customers subscription_invoices"),
    **_all("api", "subscription_plans subscriptions"),
    **_all("api", "procrastinate_events procrastinate_jobs procrastinate_periodic_defers procrastinate_workers"),
}
