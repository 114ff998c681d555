"""The custom_events domain."""
