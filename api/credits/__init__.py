"""The credits domain."""
