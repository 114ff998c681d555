"""A local fake of a KIE-style video generation API, driven through our real adapter (api/generation/kie.py)
with ``API_KIE_API_BASE`` pointed here, and the sender of the callbacks KIE would send back.

- ``POST /api/v1/veo/generate`` (bearer API key, else KIE's ``{"code": 401}``) answers
  ``{"code": 200, "data": {"taskId"}}``; ``create_failure_rate`` of them answer HTTP 500 instead.
- ``GET /api/v1/veo/record-info?taskId=`` answers the task's record: ``successFlag`` 0 while it runs,
  1 with ``response.resultUrls`` once done, 2 when it failed; an unknown task is ``{"code": 404}``.
- ``GET /files/<taskId>.mp4`` serves the result's bytes.
- After ``delay`` seconds a task ends: failed with probability ``failure_rate``, else succeeded; then its
  callback (KIE's body: ``{"code", "msg", "data": {"taskId", "info": {"resultUrls"}}}``) is POSTed to
  the task's ``callBackUrl`` unless dropped (probability ``drop_rate``). ``delay=None`` leaves tasks
  running until ``finish(task_id, ...)`` is called. ``callbacks`` records (task id, HTTP status, body),
  ``delivered_at`` the wall-clock time our API answered each task's last callback.
- ``quirk`` (settable at any time) makes the provider answer partially: ``no_result_url`` (success with
  an empty ``resultUrls``), ``bad_shape`` (success whose ``response`` is not an object),
  ``malformed_json`` (a record cut mid-JSON), ``result_404`` (the result file is missing), ``huge_result``
  (the file is ``huge_bytes`` long), ``truncated_result`` (the file's Content-Length promises more than
  it sends). ``video_size`` pads the genuine result to that many bytes (several network chunks).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from anvil.node import free_port


@dataclass
class Task:
    task_id: str
    prompt: str
    callback_url: str
    state: int = 0  # KIE's successFlag
    error: str | None = None
    finished_at: float | None = None
    callback: dict[str, Any] = field(default_factory=dict)
    finished_wall: float | None = None  # time.time() when it ended


class FakeKie:
    def __init__(
        self,
        api_key: str,
        *,
        delay: float | None = 0.2,
        failure_rate: float = 0.0,
        drop_rate: float = 0.0,
        create_failure_rate: float = 0.0,
        seed: int = 1,
        video_size: int = 0,
        quirk: str | None = None,
        huge_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.api_key = api_key
        self.delay, self.failure_rate, self.drop_rate = delay, failure_rate, drop_rate
        self.create_failure_rate = create_failure_rate
        self.video_size, self.quirk, self.huge_bytes = video_size, quirk, huge_bytes
        self.files_served = 0
        self.random = random.Random(seed)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tasks: dict[str, Task] = {}
        self.callbacks: list[tuple[str, int, dict[str, Any]]] = []
        self.dropped: list[str] = []
        self.delivered_at: dict[str, float] = {}
        self.created = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> FakeKie:
        app = web.Application()
        app.router.add_post("/api/v1/veo/generate", self._generate)
        app.router.add_get("/api/v1/veo/record-info", self._record)
        app.router.add_get("/files/{task_id}.mp4", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def stop(self) -> None:
        for pending in self._pending:
            pending.cancel()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def _generate(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 401, "msg": "invalid api key"})
        if self.random.random() < self.create_failure_rate:
            return web.json_response({"code": 500, "msg": "internal error"}, status=500)
        body = await request.json()
        if not body.get("prompt") or not body.get("callBackUrl"):
            return web.json_response({"code": 422, "msg": "prompt and callBackUrl are required"})
        task = Task(f"veo_{next(self._ids):06d}_{self.random.getrandbits(32):08x}", body["prompt"], body["callBackUrl"])
        self.tasks[task.task_id] = task
        self.created += 1
        if self.delay is not None:
            self._spawn(self._run(task))
        return web.json_response({"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    async def _record(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 401, "msg": "invalid api key"})
        task = self.tasks.get(request.query.get("taskId", ""))
        if task is None:
            return web.json_response({"code": 404, "msg": "task not found"})
        data: dict[str, Any] = {"taskId": task.task_id, "successFlag": task.state, "errorMessage": task.error}
        if task.state == 1:
            data["response"] = {"resultUrls": [self.result_url(task.task_id)]}
            if self.quirk == "no_result_url":
                data["response"] = {"resultUrls": []}
            elif self.quirk == "bad_shape":
                data["response"] = "done"
        if self.quirk == "malformed_json":
            return web.Response(body=b'{"code": 200, "data": {"taskId": "' + task.task_id.encode(),
                                content_type="application/json")  # fmt: skip
        return web.json_response({"code": 200, "msg": "success", "data": data})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        task = self.tasks.get(request.match_info["task_id"])
        if task is None or task.state != 1 or self.quirk == "result_404":
            return web.Response(status=404)
        self.files_served += 1
        if self.quirk in ("huge_result", "truncated_result"):
            size = self.huge_bytes
            response = web.StreamResponse(headers={"Content-Type": "video/mp4", "Content-Length": str(size)})
            await response.prepare(request)
            chunk = b"\x00" * 65536
            for _ in range(size // len(chunk) // (2 if self.quirk == "truncated_result" else 1)):
                await response.write(chunk)
            if self.quirk == "truncated_result":
                assert request.transport is not None
                request.transport.close()  # cut the body short of its Content-Length
                return response
            await response.write_eof()
            return response
        return web.Response(body=self.video_bytes(task.task_id), content_type="video/mp4")

    def result_url(self, task_id: str) -> str:
        return f"{self.url}/files/{task_id}.mp4"

    def video_bytes(self, task_id: str) -> bytes:
        data = b"\x00\x00\x00\x18ftypmp42" + task_id.encode() * 16
        if len(data) < self.video_size:
            data += (bytes(range(251)) * (self.video_size // 251 + 1))[: self.video_size - len(data)]
        return data

    def _spawn(self, coroutine: Any) -> None:
        pending = asyncio.get_running_loop().create_task(coroutine)
        self._pending.add(pending)
        pending.add_done_callback(self._pending.discard)

    async def _run(self, task: Task) -> None:
        await asyncio.sleep(self.delay or 0)
        failed = self.random.random() < self.failure_rate
        drop = self.random.random() < self.drop_rate
        await self.finish(task.task_id, success=not failed, send=not drop)

    def callback_body(self, task_id: str) -> dict[str, Any]:
        task = self.tasks[task_id]
        if task.state == 1:
            info = {"resultUrls": [self.result_url(task_id)]}
            return {"code": 200, "msg": "Veo3 video generated successfully.", "data": {"taskId": task_id, "info": info}}
        return {"code": 501, "msg": task.error or "generation failed", "data": {"taskId": task_id, "info": None}}

    async def finish(self, task_id: str, *, success: bool = True, send: bool = True) -> dict[str, Any]:
        """End the task (succeeded or failed) and, unless ``send`` is false, POST its callback; returns the body."""
        task = self.tasks[task_id]
        task.state, task.error = (1, None) if success else (2, "content policy violation")
        task.finished_at, task.finished_wall = time.monotonic(), time.time()
        task.callback = body = self.callback_body(task_id)
        if not send:
            self.dropped.append(task_id)
            return body
        await self.deliver(task.callback_url, body, task_id)
        return body

    async def deliver(self, url: str, body: dict[str, Any], task_id: str) -> int:
        """POST a callback (the genuine one, or a test's forgery); returns our API's status (0: unreachable)."""
        assert self._http is not None
        try:
            async with self._http.post(url, json=body) as response:
                status, answer = response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            status, answer = 0, {}
        self.callbacks.append((task_id, status, answer))
        self.delivered_at[task_id] = time.time()
        return status
