"""The API: a Sanic server for dapp frontends over the indexed state."""
