"""The feed domain."""
