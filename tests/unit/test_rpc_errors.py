"""How JSON-RPC errors are classified: only what a later attempt may not see again is retried."""

import pytest

from core.chain.rpc import _classify
from core.errors import NonRetryableRpcError, RequestTooLarge, RetryableRpcError


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        # anvil while a reorg shortens the chain under a reader (found by the long chaos run: the indexer exited)
        ({"code": -32000, "message": "BlockOutOfRangeError: block height is 673 but requested was 679"},
         RetryableRpcError),
        ({"code": -32000, "message": "header not found"}, RetryableRpcError),
        ({"code": 429, "message": "slow down"}, RetryableRpcError),
        ({"code": -32005, "message": "query returned more than 10000 results"}, RequestTooLarge),
        ({"code": -32602, "message": "invalid params"}, NonRetryableRpcError),
        ({"code": 3, "message": "execution reverted: auction: not over", "data": "0x08c379a0"}, NonRetryableRpcError),
    ],
)  # fmt: skip
def test_classify(error: dict[str, object], kind: type) -> None:
    assert type(_classify(error)) is kind
