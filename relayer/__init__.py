"""The relayer: a durable Postgres queue of transaction requests, signed and sent crash-safely."""
