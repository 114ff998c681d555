"""The creators domain."""
