"""Errors every layer raises; one handler in ``office.app`` renders them as JSON.

Hierarchy::

    OfficeError (400 bad_request)
    ├── ValidationError (422 invalid)
    ├── Unauthenticated (401 unauthenticated)
    ├── PermissionDenied (403 forbidden)
    ├── NotFound (404 not_found)          -- also used for "exists but you may not see it"
    ├── Conflict (409 conflict)
    │   └── InvalidTransition (409 invalid_transition)
    ├── PayloadTooLarge (413 too_large)
    ├── UnsupportedMedia (415 unsupported_media)
    ├── Locked (423 locked)
    ├── RateLimited (429 rate_limited)
    └── Overloaded (503 overloaded, with Retry-After)
"""

from __future__ import annotations

from typing import Any


class OfficeError(Exception):
    """Base error: carries an HTTP status, a stable machine code and a Chinese message."""

    status_code = 400
    code = "bad_request"
    default_message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        body.update(self.extra)
        return body

    def headers(self) -> dict[str, str] | None:
        """HTTP headers the answer carries beside the JSON body (none, but for ``Overloaded``)."""
        return None


class ValidationError(OfficeError):
    status_code = 422
    code = "invalid"
    default_message = "输入不符合要求"


class Unauthenticated(OfficeError):
    status_code = 401
    code = "unauthenticated"
    default_message = "请先登录"


class PermissionDenied(OfficeError):
    status_code = 403
    code = "forbidden"
    default_message = "没有权限执行此操作"


class NotFound(OfficeError):
    status_code = 404
    code = "not_found"
    default_message = "对象不存在或无权查看"


class Conflict(OfficeError):
    status_code = 409
    code = "conflict"
    default_message = "数据已被他人修改，请刷新后重试"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = "当前状态下不能执行此操作"


class PayloadTooLarge(OfficeError):
    status_code = 413
    code = "too_large"
    default_message = "提交的内容过大"


class UnsupportedMedia(OfficeError):
    status_code = 415
    code = "unsupported_media"
    default_message = "不支持的文件或内容类型"


class Locked(OfficeError):
    status_code = 423
    code = "locked"
    default_message = "已被锁定"


class RateLimited(OfficeError):
    status_code = 429
    code = "rate_limited"
    default_message = "操作过于频繁，请稍后再试"


class Overloaded(OfficeError):
    """More work than the server can take on now (a writer's queue is full, ``office.groupcommit``):
    refused at once and nothing done, rather than queued for tens of seconds. The client may try
    the same request again after ``retry_after`` seconds: HTTP answers 503 with ``Retry-After``, a
    websocket an ``error`` frame whose ``retry_after`` says the same."""

    status_code = 503
    code = "overloaded"
    default_message = "系统繁忙，请稍后重试"

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(message, retry_after=retry_after, **extra)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}
