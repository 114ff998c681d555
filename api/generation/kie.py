"""A KIE-style video generation provider over HTTP (aiohttp): create a task, read its record, fetch the result.

Wire format (kie.ai's Veo API): ``POST {base}/api/v1/veo/generate`` with a bearer API key and
``{prompt, model, aspectRatio, imageUrls?, callBackUrl}`` answers ``{code: 200, data: {taskId}}``;
``GET {base}/api/v1/veo/record-info?taskId=`` answers ``{code: 200, data: {taskId, successFlag,
response: {resultUrls}, errorMessage}}`` with ``successFlag`` 0 (generating), 1 (succeeded), 2 or 3
(failed). A non-200 ``code`` of 4xx is the request's fault (NonRetryable), anything else retryable.
Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from api.settings import ApiSettings
from core.errors import ConfigError, NonRetryableError, RetryableError


class ProviderRefused(NonRetryableError):
    """The provider refused the task (bad request, content policy, no such task)."""

    code = "provider_refused"


class ProviderUnavailable(RetryableError):
    """The provider is unreachable or failed; the step is retried with backoff."""

    code = "provider_unavailable"


@dataclass(frozen=True)
class TaskState:
    status: str  # "running" | "succeeded" | "failed"
    result_url: str | None = None
    error: str | None = None


class Kie:
    def __init__(self, settings: ApiSettings) -> None:
        self.base = settings.kie_api_base.rstrip("/")
        self.key = settings.kie_api_key.get_secret_value()
        self.model = settings.kie_model
        self.max_bytes = settings.generation_max_bytes
        self._timeout = aiohttp.ClientTimeout(total=settings.kie_timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if not self.key:
            raise ConfigError("generation is off: API_KIE_API_KEY")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}"}
        try:
            async with self._http().request(method, self.base + path, headers=headers, **kwargs) as response:
                body = await response.json(content_type=None) if response.status < 500 else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            details = {"error": type(exc).__name__}
            raise ProviderUnavailable("the generation provider is unreachable", details=details) from exc
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(body, dict) or code is None or status >= 500 or code == 429 or status == 429:
            raise ProviderUnavailable("the generation provider failed", details={"status": status, "code": code})
        if isinstance(code, int) and code >= 500:
            raise ProviderUnavailable("the generation provider failed", details={"status": status, "code": code})
        data = body.get("data")
        if code != 200 or not isinstance(data, dict):
            raise ProviderRefused("the generation provider refused the task", details={"code": code})
        return data

    async def create(self, prompt: str, aspect_ratio: str, image_url: str | None, callback_url: str) -> str:
        payload: dict[str, Any] = {
            "prompt": prompt,
            "model": self.model,
            "aspectRatio": aspect_ratio,
            "callBackUrl": callback_url,
        }
        if image_url:
            payload["imageUrls"] = [image_url]
        data = await self._call("POST", "/api/v1/veo/generate", json=payload)
        task_id = data.get("taskId")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderUnavailable("the generation provider answered no task id")
        return task_id

    async def state(self, task_id: str) -> TaskState:
        data = await self._call("GET", "/api/v1/veo/record-info", params={"taskId": task_id})
        flag = data.get("successFlag")
        if flag == 1:
            url = _result_url(data.get("response"))
            if url is None:
                return TaskState("failed", error="the provider reported success without a result")
            return TaskState("succeeded", result_url=url)
        if flag in (2, 3):
            return TaskState("failed", error=str(data.get("errorMessage") or "generation failed")[:500])
        return TaskState("running")

    async def download(self, url: str) -> tuple[bytes, str]:
        """The result's bytes (at most ``generation_max_bytes``, else ProviderRefused) and content type.

        A missing file, a body cut short of its Content-Length or an unreachable host is ProviderUnavailable
        (retried until the job's deadline); a body over the limit is refused as soon as it is known to be."""
        try:
            async with self._http().get(url) as response:
                if response.status >= 400:
                    raise ProviderUnavailable("the result could not be fetched", details={"status": response.status})
                announced = response.content_length or 0
                if announced > self.max_bytes:
                    raise ProviderRefused("the result is empty or too large", details={"bytes": announced})
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(1 << 20):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ProviderRefused("the result is empty or too large", details={"bytes": size})
                    chunks.append(chunk)
                kind = response.content_type or "video/mp4"
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderUnavailable("the result could not be fetched", details={"error": type(exc).__name__}) from exc
        if not size:
            raise ProviderRefused("the result is empty or too large", details={"bytes": 0})
        return b"".join(chunks), kind if kind.startswith("video/") else "video/mp4"


def _result_url(response: object) -> str | None:
    """The first result URL of a task record's ``response`` (``{"resultUrls": [url, ...]}``), if it is one."""
    urls = response.get("resultUrls") if isinstance(response, dict) else None
    first = urls[0] if isinstance(urls, list) and urls else None
    if isinstance(first, str) and first.startswith(("https://", "http://")) and len(first) <= 4000:
        return first
    return None
