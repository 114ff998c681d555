"""The verify domain: creator identity verification and payout details."""
