"""Ours against SQD, DipDup and Ponder on the same chain and database server (``python -m bench.peers``)."""
