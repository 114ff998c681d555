"""Meetings won in a MeetingAuction: materialized from the indexed auctions, opened by burning the pass."""
