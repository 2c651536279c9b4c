"""Messaging limits, read from ``OFFICE_CHAT_*`` environment variables (defaults from the issue).

One module-level ``CONFIG`` object: the service reads it at call time, so tests and the benchmark
can adjust a limit for a run (``CONFIG.recall_seconds = 1``) without threading settings through
every call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

DEFAULT_TYPES = ("png", "jpeg", "gif", "webp", "pdf", "docx", "xlsx", "pptx", "doc", "xls", "ppt", "zip", "ofd", "txt")


@dataclass
class ChatConfig:
    max_text: int = 10_000
    group_limit: int = 2_000
    recall_seconds: int = 120
    ding_remind_seconds: int = 300
    ding_max_reminders: int = 12
    upload_max_bytes: int = 50 * 1024 * 1024
    allowed_types: tuple[str, ...] = DEFAULT_TYPES
    # Per-user token bucket for sends (HTTP and websocket together).
    rate_per_second: float = 10.0
    rate_burst: int = 30
    # Per-address bucket on top: generous, because a whole agency may sit behind one NAT address,
    # but it stops one machine cycling through stolen sessions.
    address_rate_per_second: float = 200.0
    address_rate_burst: int = 1000
    # Rejected frames within ``abuse_window`` seconds before the socket is closed with 1008.
    abuse_rejections: int = 50
    abuse_window: float = 10.0
    batch_max: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChatConfig:
        env = os.environ if env is None else env
        cfg = cls()
        for f in fields(cls):
            raw = env.get(f"OFFICE_CHAT_{f.name.upper()}")
            if raw in (None, ""):
                continue
            if f.name == "allowed_types":
                cfg.allowed_types = tuple(t.strip().lower() for t in raw.split(",") if t.strip())
            else:
                kind = float if isinstance(getattr(cfg, f.name), float) else int
                try:
                    setattr(cfg, f.name, kind(raw))
                except ValueError:
                    raise ValueError(f"OFFICE_CHAT_{f.name.upper()} must be a number, got {raw!r}") from None
        return cfg

    def reload(self, env: Mapping[str, str] | None = None) -> None:
        fresh = ChatConfig.from_env(env)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))


CONFIG = ChatConfig.from_env()
