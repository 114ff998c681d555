"""The auctions domain."""
