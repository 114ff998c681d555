"""The tips domain."""
