"""Settings from ``OFFICE_*`` environment variables (CLI flags override), validated at start."""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from office.errors import ValidationError


class ConfigError(ValidationError):
    code = "config_error"


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"环境变量 {name} 必须是整数，当前为 {raw!r}") from None


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"环境变量 {name} 必须是 true/false，当前为 {raw!r}")


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"环境变量 {name} 必须是数字，当前为 {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    hub_url: str = "memory://"
    secret_key: str = field(default="", repr=False)
    max_body_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    cookie_secure: bool = False
    allowed_origins: tuple[str, ...] = ()
    event_retention_hours: int = 72
    login_max_failures_account: int = 5  # one account from one address; its wrong codes from anywhere
    login_max_failures_account_all: int = 20  # one account from every address (office.login_limits)
    login_max_failures_address: int = 30  # past it, failures answer 429; a correct login still passes
    login_lockout_minutes: int = 15
    upload_per_minute: int = 30  # per user, across every upload endpoint
    upload_burst: int = 60
    upload_per_minute_address: int = 300  # per client address (an office behind one NAT address)
    upload_burst_address: int = 600
    watermark: bool = True
    ws_max_per_session: int = 10  # open websockets per login session (tabs of one browser)
    ws_max_per_user: int = 30  # open websockets per user, over all their sessions (in each process)
    ws_session_check_seconds: float = 5.0  # how often idle sockets are checked against their session's expiry
    trusted_proxies: tuple[str, ...] = ()  # reverse proxies whose X-Forwarded-For/-Proto are believed
    header_timeout_seconds: float = 15.0  # a request's line and headers must arrive within this (office.serving)
    official_copy_workers: int = 2  # warm LibreOffice converters for the official copy (typeset.convert); 0 = off
    official_copy_timeout: float = 60.0  # seconds one Word -> PDF conversion may take before its converter is replaced
    official_copy_fontconfig: str = ""  # fontconfig file for the converters (default typeset/fonts/fonts.conf)
    testing: bool = False

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **kw: Any) -> Settings:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment, apply CLI overrides, then validate and fill defaults."""
    env = os.environ if env is None else env
    origins = tuple(o.strip().rstrip("/") for o in env.get("OFFICE_ALLOWED_ORIGINS", "").split(",") if o.strip())
    proxies = tuple(p.strip() for p in env.get("OFFICE_TRUSTED_PROXIES", "").split(",") if p.strip())
    base = Settings(
        data_dir=Path(env.get("OFFICE_DATA_DIR", "data")),
        database_url=env.get("OFFICE_DATABASE_URL", ""),
        hub_url=env.get("OFFICE_HUB_URL", "memory://"),
        secret_key=env.get("OFFICE_SECRET_KEY", ""),
        max_body_bytes=_env_int(env, "OFFICE_MAX_BODY_BYTES", 2 * 1024 * 1024),
        max_upload_bytes=_env_int(env, "OFFICE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024),
        session_idle_minutes=_env_int(env, "OFFICE_SESSION_IDLE_MINUTES", 30),
        session_absolute_hours=_env_int(env, "OFFICE_SESSION_ABSOLUTE_HOURS", 12),
        cookie_secure=_env_bool(env, "OFFICE_COOKIE_SECURE", False),
        allowed_origins=origins,
        event_retention_hours=_env_int(env, "OFFICE_EVENT_RETENTION_HOURS", 72),
        upload_per_minute=_env_int(env, "OFFICE_UPLOAD_PER_MINUTE", 30),
        upload_burst=_env_int(env, "OFFICE_UPLOAD_BURST", 60),
        upload_per_minute_address=_env_int(env, "OFFICE_UPLOAD_PER_MINUTE_ADDRESS", 300),
        upload_burst_address=_env_int(env, "OFFICE_UPLOAD_BURST_ADDRESS", 600),
        watermark=_env_bool(env, "OFFICE_WATERMARK", True),
        ws_max_per_session=_env_int(env, "OFFICE_WS_MAX_PER_SESSION", 10),
        ws_max_per_user=_env_int(env, "OFFICE_WS_MAX_PER_USER", 30),
        ws_session_check_seconds=_env_float(env, "OFFICE_WS_SESSION_CHECK_SECONDS", 5.0),
        official_copy_workers=_env_int(env, "OFFICE_OFFICIAL_COPY_WORKERS", 2),
        official_copy_timeout=_env_float(env, "OFFICE_OFFICIAL_COPY_TIMEOUT", 60.0),
        official_copy_fontconfig=env.get("OFFICE_OFFICIAL_COPY_FONTCONFIG", ""),
        trusted_proxies=proxies,
        header_timeout_seconds=_env_float(env, "OFFICE_HEADER_TIMEOUT_SECONDS", 15.0),
    )
    return finalize(base.with_overrides(**overrides))


def finalize(s: Settings) -> Settings:
    """Create the data folder, default the database URL, and load or create the secret key."""
    data_dir = Path(s.data_dir).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"无法创建数据目录 {data_dir}：{exc.strerror}") from None
    url = s.database_url or f"sqlite:///{data_dir / 'office.db'}"
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError("OFFICE_DATABASE_URL 只支持 sqlite:/// 或 postgresql:// 地址")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (s.hub_url.startswith("memory://") or s.hub_url.startswith("redis://")):
        raise ConfigError("OFFICE_HUB_URL 只支持 memory:// 或 redis:// 地址")
    if s.session_idle_minutes <= 0 or s.session_absolute_hours <= 0:
        raise ConfigError("会话有效期必须为正数")
    if s.ws_max_per_session <= 0 or s.ws_max_per_user <= 0 or not 0 < s.ws_session_check_seconds <= 3600:
        raise ConfigError(
            "OFFICE_WS_MAX_PER_SESSION / _PER_USER 必须为正数，OFFICE_WS_SESSION_CHECK_SECONDS 应在 0–3600 秒之间"
        )
    if not 0 < s.header_timeout_seconds <= 600:
        raise ConfigError("OFFICE_HEADER_TIMEOUT_SECONDS 应在 0–600 秒之间")
    if not 0 <= s.official_copy_workers <= 16 or not 1 <= s.official_copy_timeout <= 600:
        raise ConfigError("OFFICE_OFFICIAL_COPY_WORKERS 应在 0–16 之间，OFFICE_OFFICIAL_COPY_TIMEOUT 应在 1–600 秒之间")
    if s.official_copy_fontconfig and not Path(s.official_copy_fontconfig).is_file():
        raise ConfigError(f"OFFICE_OFFICIAL_COPY_FONTCONFIG 指向的文件不存在：{s.official_copy_fontconfig}")
    key = s.secret_key or _load_or_create_secret(data_dir)
    if len(key) < 32:
        raise ConfigError("OFFICE_SECRET_KEY 至少需要 32 个字符")
    return replace(
        s, data_dir=data_dir, database_url=url, secret_key=key, trusted_proxies=_proxy_networks(s.trusted_proxies)
    )


def _proxy_networks(entries: tuple[str, ...]) -> tuple[str, ...]:
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/8``, ``::1``), normalised. "*" is refused: it would
    let any client write its own address into X-Forwarded-For and dodge the per-address limits."""
    out = []
    for entry in entries:
        try:
            out.append(str(ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry)))
        except ValueError:
            raise ConfigError(f"OFFICE_TRUSTED_PROXIES 中的 {entry!r} 不是 IP 地址或网段（如 10.0.0.0/8）") from None
    return tuple(out)


def _load_or_create_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"密钥文件 {path} 权限过宽（{oct(mode)}），应为 0600")
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
