"""Reading a range's logs so that the answer provably covers the whole range.

A node whose head is inside the requested range answers ``eth_getLogs`` with the logs up to its own
head and no error, so an answer is checked before the checkpoint moves past it:

- far below the head, the logs and the range's last block come in one request (one node behind a
  balancer): a node that lacks the last block lacked part of the range;
- near the head (``NEAR_HEAD`` blocks), every block's header is read first and its logs are asked by
  block hash, so an unknown block is an error instead of an empty answer;
- every header of a block that returned no log is checked against its logs bloom: a bloom that says
  "maybe" for one of our addresses is confirmed empty by block hash (blooms have false positives).

An answer that fails a check is rejected (counted per provider, the next read prefers another
provider) and raises ``IncompleteAnswer``, a retryable error: the range is read again later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_bloom import BloomFilter

from core.chain.providers import Provider
from core.chain.rpc import RpcClient, is_behind
from core.errors import RetryableError, RpcError

NEAR_HEAD = 64  # ranges ending this close to the highest known head are read block by block, by hash


class IncompleteAnswer(RetryableError):
    """A provider's answer did not provably cover the requested range."""


@dataclass
class RangeRead:
    logs: list[dict[str, Any]]
    blocks: dict[int, dict[str, Any]]  # raw headers the answer was checked against
    provider: Provider  # the one that answered the logs
    by_hash: set[int] = field(default_factory=set)  # blocks whose logs were read by block hash


def _reject(rpc: RpcClient, provider: Provider, reason: str, message: str, behind: int | None = None) -> None:
    rpc.reject(provider, reason, behind=behind)
    raise IncompleteAnswer(message)


def clamp(rpc: RpcClient, start: int, end: int, near: int) -> int:
    """The end of the range to read from ``start``: a range stops where the zone read by hash begins
    (``near`` blocks below the highest known head), and a range in that zone spans at most ``near`` blocks."""
    top = rpc.providers.top()
    if top is None or near <= 0:
        return end
    if start <= top - near < end:
        return top - near
    return min(end, start + near - 1) if end > top - near else end


async def read_range(
    rpc: RpcClient, start: int, end: int, addresses: list[str], near: int = NEAR_HEAD, *, every_header: bool = False
) -> RangeRead:
    """The logs of ``addresses`` in ``start..end``, with the headers that prove the answer complete.

    ``every_header`` (a dense stretch of the chain, where nearly every block has logs and so needs its
    header anyway): the headers of the whole range come in the same request as its logs, one round trip
    instead of two (and every block's bloom is then checked). Errors of ``eth_getLogs`` itself (too large,
    timeouts) are raised as the client classified them.
    """
    top = rpc.providers.top()
    if near > 0 and top is not None and end > top - near:
        return await _read_by_hash(rpc, start, end, addresses)
    query = {"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}
    numbers = list(range(start, end + 1)) if every_header and end - start < rpc.batch_size - 1 else [end]
    (logs, *blocks), provider = await rpc.answer(
        [("eth_getLogs", [query]), *(("eth_getBlockByNumber", [hex(n), False]) for n in numbers)], min_block=end
    )
    if isinstance(logs, RpcError):
        if is_behind(logs):  # a range entirely above the node's head
            _reject(rpc, provider, "behind_range", f"logs of {start}..{end}: {logs}", start)
        raise logs
    found = {
        n: _header(rpc, provider, n, block, reason="lacks_range_end" if n == end else "missing_block",
                   message=f"the node that answered logs of {start}..{end} lacks {n}")
        for n, block in zip(numbers, blocks, strict=True)
    }  # fmt: skip
    return RangeRead(logs, found, provider)


async def _read_by_hash(rpc: RpcClient, start: int, end: int, addresses: list[str]) -> RangeRead:
    numbers = list(range(start, end + 1))
    blocks = await headers(rpc, numbers)
    answers, provider = await rpc.answer(
        [("eth_getLogs", [{"blockHash": blocks[n]["hash"], "address": addresses}]) for n in numbers], min_block=end
    )
    logs: list[dict[str, Any]] = []
    for number, answer in zip(numbers, answers, strict=True):
        if isinstance(answer, RpcError):  # "unknown block": the node lacks (or no longer has) that block
            _reject(rpc, provider, "unknown_block", f"logs of block {number} by hash: {answer}", number)
        logs += answer
    return RangeRead(logs, blocks, provider, set(numbers))


async def headers(rpc: RpcClient, numbers: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Raw headers by number; a block the answering node lacks is rejected (it proves nothing)."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    found: dict[int, dict[str, Any]] = {}
    for offset in range(0, len(wanted), rpc.batch_size):
        chunk = wanted[offset : offset + rpc.batch_size]
        answers, provider = await rpc.answer(
            [("eth_getBlockByNumber", [hex(n), False]) for n in chunk], min_block=chunk[-1]
        )
        for number, block in zip(chunk, answers, strict=True):
            message = f"block {number} is unknown to the node"
            found[number] = _header(rpc, provider, number, block, reason="missing_block", message=message)
    return found


def _header(
    rpc: RpcClient, provider: Provider, number: int, block: Any, *, reason: str, message: str
) -> dict[str, Any]:
    """``block`` as the header of ``number``; an error, a missing block or another block's header (a node
    answering for a height it does not have) rejects the provider's answer."""
    try:
        ok = isinstance(block, dict) and int(block["number"], 16) == number and isinstance(block["hash"], str)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        _reject(rpc, provider, reason, message, number)
    header: dict[str, Any] = block
    return header


def suspects(read: RangeRead, logs: list[dict[str, Any]], addresses: list[str]) -> list[dict[str, Any]]:
    """Headers of blocks with no returned log whose bloom says one of ``addresses`` may have logged."""
    with_logs = {int(item["blockNumber"], 16) for item in logs}
    keys = [bytes.fromhex(a[2:]) for a in addresses]
    found = []
    for number, block in read.blocks.items():
        if number in with_logs or number in read.by_hash:
            continue
        bloom = BloomFilter(int(block.get("logsBloom") or "0x0", 16))
        if any(key in bloom for key in keys):
            found.append(block)
    return found


async def confirm_empty(rpc: RpcClient, read: RangeRead, blocks: list[dict[str, Any]], addresses: list[str]) -> None:
    """Blocks the bloom flagged really hold none of our logs (asked by hash); else the range is rejected."""
    if not blocks:
        return
    answers, provider = await rpc.answer(
        [("eth_getLogs", [{"blockHash": b["hash"], "address": addresses}]) for b in blocks]
    )
    for block, answer in zip(blocks, answers, strict=True):
        number = int(block["number"], 16)
        if isinstance(answer, RpcError):
            _reject(rpc, provider, "unknown_block", f"logs of block {number} by hash: {answer}", number)
        if answer:
            _reject(rpc, read.provider, "bloom_mismatch", f"block {number} has logs the range's answer lacked")
