"""The reads domain."""
