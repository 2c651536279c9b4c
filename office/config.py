"""Settings: every ``OFFICE_*`` environment variable, declared once, read at start (CLI flags override).

Each variable is one field of :class:`Settings`, declared with :func:`setting`: the variable's name,
its default and what it means. :data:`VARIABLES` is that table: :func:`load_settings` reads the
environment through it, and the README's settings table is generated from it
(``python -m office.config``; a test checks the two agree). Nothing else reads ``OFFICE_*`` from the
environment: a domain reads its values from the running app's settings (``office.db.settings_of``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from office.errors import ValidationError

_T = TypeVar("_T")
MiB = 1024 * 1024
CHAT_FILE_TYPES = (
    "png",
    "jpeg",
    "gif",
    "webp",
    "pdf",
    "docx",
    "xlsx",
    "pptx",
    "doc",
    "xls",
    "ppt",
    "zip",
    "ofd",
    "txt",
)


class ConfigError(ValidationError):
    code = "config_error"


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"环境变量 {name} 必须是整数，当前为 {raw!r}") from None


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"环境变量 {name} 必须是 true/false，当前为 {raw!r}")


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"环境变量 {name} 必须是数字，当前为 {raw!r}") from None


def _items(clean: Callable[[str], str] = str.strip) -> Callable[[str, str], tuple[str, ...]]:
    """A comma-separated list, each item cleaned; empty items dropped."""
    return lambda _name, raw: tuple(clean(x) for x in raw.split(",") if x.strip())


def setting(
    name: str,
    default: _T,
    meaning: str,
    *,
    shown: str | None = None,
    parse: Callable[[str, str], Any] | None = None,
    secret: bool = False,
) -> _T:
    """Declare a field of :class:`Settings` as the environment variable ``name``. ``shown`` is the
    default as the README says it, where the value alone would not ("SQLite in the data folder");
    ``parse`` turns the variable's text into the value (by default: by the default's type)."""
    meta = {"env": name, "meaning": meaning, "shown": shown, "parse": parse}
    return field(default=default, repr=not secret, metadata=meta)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = setting(
        "OFFICE_DATA_DIR",
        Path("data"),
        "data folder: SQLite database, secret key, attachments, CA keys",
        shown="`./data`",
    )
    database_url: str = setting(
        "OFFICE_DATABASE_URL",
        "",
        "or `postgresql://user@host/db` (install `.[scale]`)",
        shown="SQLite in the data folder",
    )
    hub_url: str = setting("OFFICE_HUB_URL", "memory://", "`redis://host:6379/0` to fan events out across processes")
    secret_key: str = setting(
        "OFFICE_SECRET_KEY",
        "",
        "signs cookies, encrypts TOTP seeds",
        shown="generated into `data/secret_key` (0600)",
        secret=True,
    )
    max_body_bytes: int = setting("OFFICE_MAX_BODY_BYTES", 2 * MiB, "JSON body limit (413 beyond)")
    max_upload_bytes: int = setting(
        "OFFICE_MAX_UPLOAD_BYTES",
        50 * MiB,
        "upload limit of a multipart request where an endpoint sets none of its own (413 beyond)",
    )
    session_idle_minutes: int = setting("OFFICE_SESSION_IDLE_MINUTES", 30, "a session ends after this long unused")
    session_absolute_hours: int = setting(
        "OFFICE_SESSION_ABSOLUTE_HOURS", 12, "a session ends this long after login, used or not"
    )
    cookie_secure: bool = setting(
        "OFFICE_COOKIE_SECURE", False, "set true behind HTTPS (Secure, `__Host-` cookies and HSTS)"
    )
    allowed_origins: tuple[str, ...] = setting(
        "OFFICE_ALLOWED_ORIGINS",
        (),
        "extra origins allowed for browser requests and `/ws` (comma-separated)",
        shown="the request's own host",
        parse=_items(lambda o: o.strip().rstrip("/")),
    )
    event_retention_hours: int = setting(
        "OFFICE_EVENT_RETENTION_HOURS", 72, "how long events are kept for clients that reconnect and resume"
    )
    # Login limits (office.login_limits): fixed, not read from the environment.
    login_max_failures_account: int = 5  # one account from one address; its wrong codes from anywhere
    login_max_failures_account_all: int = 20  # one account from every address (office.login_limits)
    login_max_failures_address: int = 30  # past it, failures answer 429; a correct login still passes
    login_lockout_minutes: int = 15
    upload_per_minute: int = setting("OFFICE_UPLOAD_PER_MINUTE", 30, "uploads per user per minute, every endpoint")
    upload_burst: int = setting("OFFICE_UPLOAD_BURST", 60, "uploads one user may make at once before the rate applies")
    upload_per_minute_address: int = setting(
        "OFFICE_UPLOAD_PER_MINUTE_ADDRESS", 300, "uploads per client address per minute (an office behind one NAT)"
    )
    upload_burst_address: int = setting(
        "OFFICE_UPLOAD_BURST_ADDRESS", 600, "uploads one address may make at once before the rate applies"
    )
    watermark: bool = setting(
        "OFFICE_WATERMARK",
        True,
        "the reader's name as a watermark over the workspace, until an administrator sets it in 管理",
    )
    admin_2fa: bool = setting(
        "OFFICE_ADMIN_2FA",
        True,
        "系统管理员 and 印章管理员 must use two-step verification (TOTP): until they set it up at their first "
        "login every other request answers 403 `2fa_setup_required`; `false` leaves it to 管理 → 两步验证策略",
    )
    directory_across_agencies: bool = setting(
        "OFFICE_DIRECTORY_ACROSS_AGENCIES",
        False,
        "staff of other agencies appear in directory search, department lists and presence; `false`: only their "
        "机关领导 and 收发员 (whom cross-agency 公文 needs), and in presence people you share a conversation with",
    )
    ws_max_per_session: int = setting(
        "OFFICE_WS_MAX_PER_SESSION",
        10,
        "open `/ws` sockets per login session (each process); more are closed with 4429",
    )
    ws_max_per_user: int = setting(
        "OFFICE_WS_MAX_PER_USER", 30, "open `/ws` sockets per user, over all their sessions (each process); 4429 beyond"
    )
    reminder_seconds: float = setting(
        "OFFICE_REMINDER_SECONDS",
        60.0,
        "how often the background loops send the due automatic reminders and escalations (督办 催办, 数据填报 催报)",
    )
    ws_session_check_seconds: float = setting(
        "OFFICE_WS_SESSION_CHECK_SECONDS",
        5.0,
        "how often open sockets are checked against their session's idle and absolute expiry (expired: closed "
        "with 4401)",
    )
    # Loopback by default: a proxy on the same host (docs/deploy.md) then passes each client's own
    # address and scheme, so login limits, the audit log and /metrics' loopback rule see the client
    # and not the proxy. Only a process on this host could forge the header, and it is on the host.
    trusted_proxies: tuple[str, ...] = setting(
        "OFFICE_TRUSTED_PROXIES",
        ("127.0.0.1", "::1"),
        "reverse proxies (addresses or networks, comma-separated: `10.0.0.5,10.1.0.0/16`) whose "
        "`X-Forwarded-For` / `-Proto` the app believes; from anyone else they are ignored. List a proxy on "
        "another host, or every user shares its address for login limits and the audit log; `none` believes "
        "no one",
        shown="loopback (`127.0.0.1,::1`)",
        parse=lambda name, raw: () if raw.strip().lower() == "none" else _items()(name, raw),
    )
    metrics_allow: tuple[str, ...] = setting(
        "OFFICE_METRICS_ALLOW",
        (),
        "addresses or networks besides loopback that may read `/metrics` (comma-separated); others get 403. "
        "Clients of a proxy count by their own address when the proxy is in `OFFICE_TRUSTED_PROXIES`",
        shown="loopback only",
        parse=_items(),
    )
    migrate_on_start: bool = setting(
        "OFFICE_MIGRATE_ON_START",
        True,
        "`office serve`, each worker and the other `office` commands bring the database to the newest schema as "
        "they start; `false`: they refuse a database that is not at the newest migration, which then changes only "
        "with `office migrate` ([docs/deploy.md](docs/deploy.md))",
    )
    metrics_token: str = setting(
        "OFFICE_METRICS_TOKEN",
        "",
        "a bearer token that lets a scraper from any address read `/metrics` (`Authorization: Bearer …`)",
        shown="none",
        secret=True,
    )
    header_timeout_seconds: float = setting(
        "OFFICE_HEADER_TIMEOUT_SECONDS",
        15.0,
        "a connection's request line and headers must arrive within this (after it opens, or after the previous "
        "response); slower ones are closed",
    )
    official_copy_workers: int = setting(
        "OFFICE_OFFICIAL_COPY_WORKERS",
        2,
        "warm LibreOffice processes that make the official copy (PDF) from the Word file; 0 turns official copies "
        "off ([docs/fonts.md](docs/fonts.md))",
    )
    official_copy_timeout: float = setting(
        "OFFICE_OFFICIAL_COPY_TIMEOUT",
        60.0,
        "seconds one conversion may take; a converter that hangs or dies is replaced and the request answered 503",
    )
    official_copy_fontconfig: str = setting(
        "OFFICE_OFFICIAL_COPY_FONTCONFIG",
        "",
        "fontconfig file for the converters (maps 仿宋_GB2312, 方正小标宋简体 … to installed fonts)",
        shown="`typeset/fonts/fonts.conf`",
    )
    # 会议 (meetings)
    meeting_backdate_hours: int = setting(
        "OFFICE_MEETING_BACKDATE_HOURS",
        0,
        "how long after its start a meeting may still be entered (补录 of a meeting held, for its minutes); "
        "0: none that began more than five minutes ago (its room and people could not have been booked then)",
    )
    # 电子印章 (esign.authority)
    esign_master_key: str = setting(
        "OFFICE_ESIGN_MASTER_KEY",
        "",
        "32-byte key (base64 or hex) that wraps the CA, TSA and log keys; back it up apart from the database",
        shown="generated into `data/esign_master.key` (0600)",
        secret=True,
    )
    esign_alg: str = setting(
        "OFFICE_ESIGN_ALG",
        "ECDSA-P256-SHA256",
        "algorithm of keys created from now on: `ECDSA-P256-SHA256` or `SM2-SM3`",
    )
    # 消息 (messaging)
    chat_max_text: int = setting("OFFICE_CHAT_MAX_TEXT", 10_000, "characters in one chat message")
    chat_group_limit: int = setting("OFFICE_CHAT_GROUP_LIMIT", 2_000, "members of one group")
    chat_recall_seconds: int = setting("OFFICE_CHAT_RECALL_SECONDS", 120, "how long the sender may recall a message")
    chat_ding_remind_seconds: int = setting(
        "OFFICE_CHAT_DING_REMIND_SECONDS", 300, "a DING is sent again this often until acknowledged"
    )
    chat_ding_max_reminders: int = setting(
        "OFFICE_CHAT_DING_MAX_REMINDERS", 12, "a DING is sent again at most this many times"
    )
    chat_upload_max_bytes: int = setting("OFFICE_CHAT_UPLOAD_MAX_BYTES", 50 * MiB, "one chat attachment (413 beyond)")
    chat_allowed_types: tuple[str, ...] = setting(
        "OFFICE_CHAT_ALLOWED_TYPES",
        CHAT_FILE_TYPES,
        "chat attachment types, as detected from the content (comma-separated)",
        parse=_items(lambda t: t.strip().lower()),
    )
    chat_rate_per_second: float = setting(
        "OFFICE_CHAT_RATE_PER_SECOND", 10.0, "chat sends per user per second (HTTP and websocket together)"
    )
    chat_rate_burst: int = setting("OFFICE_CHAT_RATE_BURST", 30, "chat sends one user may make at once")
    # Generous: a whole agency may sit behind one NAT address, but it stops one machine cycling
    # through stolen sessions.
    chat_address_rate_per_second: float = setting(
        "OFFICE_CHAT_ADDRESS_RATE_PER_SECOND", 200.0, "chat sends per client address per second"
    )
    chat_address_rate_burst: int = setting(
        "OFFICE_CHAT_ADDRESS_RATE_BURST", 1000, "chat sends one address may make at once"
    )
    chat_abuse_rejections: int = setting(
        "OFFICE_CHAT_ABUSE_REJECTIONS",
        50,
        "refused frames within `OFFICE_CHAT_ABUSE_WINDOW` seconds before the socket is closed with 1008",
    )
    chat_abuse_window: float = setting("OFFICE_CHAT_ABUSE_WINDOW", 10.0, "seconds over which refused frames count")
    chat_batch_max: int = setting("OFFICE_CHAT_BATCH_MAX", 500, "chat sends committed together at most")
    # About a second of the chat writer's work on a 2-core machine: what is accepted is answered within
    # a second or two, and past that new writes are refused at once instead of queueing (issue #20).
    write_queue_max: int = setting(
        "OFFICE_WRITE_QUEUE_MAX",
        2000,
        "writes (chat sends and read marks, 办事 submissions, 文号) one writer holds accepted and unanswered; "
        "beyond it new ones are refused at once with 503 `overloaded` and `Retry-After` (an `error` frame with "
        "`retry_after` on the websocket), 1–30 s, longer the more are refused for what the writer gets through",
    )
    # The event loop's smoothed lateness (office/looplag.py) past which new chat sends are refused as
    # on a full queue: the wait in the socket and the loop before a writer sees the work. Measured
    # (bench overload_bench --quick, 2 cores shared, load 7-8): at 1.5x capacity the smoothed lag
    # peaked at 220-270 ms with or without the queue bound, so 500 ms sheds only a starved process.
    loop_lag_max_ms: int = setting(
        "OFFICE_LOOP_LAG_MAX_MS",
        500,
        "milliseconds the event loop may run late (smoothed, measured every 50 ms, in /metrics) before new "
        "chat sends (and websocket read marks, attachments) are refused as on a full queue (503 `overloaded`, "
        "`Retry-After`); 0 turns it off",
    )
    # The threads that run blocking handlers (anyio's limiter for run_in_threadpool; anyio's own default
    # is 40). Each statement a request thread runs makes it wait to take the interpreter lock back, so
    # past a few threads per core more of them only queue. Capacity benchmark (#20, --quick, 2 cores,
    # quiet): 40 failed at 2,000 staff (delivery p95 1.06 s); 16 passed 2,000 (HTTP p95 95 ms, delivery
    # 244 ms) and failed 3,000; 8 passed 2,000 (86/118 ms) and 3,000 but failed 2,500 in the same ramp.
    # Not fewer: a thread waiting for a converter (official copies) or writing an export is held for
    # seconds, and a handful of those must not stop every read.
    request_threads: int = setting(
        "OFFICE_REQUEST_THREADS",
        16,
        "threads for blocking request handlers per worker (reads, plain writes, websocket handshakes); "
        "fewer queue requests on the event loop instead of in the interpreter lock",
    )
    testing: bool = False

    @property
    def sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **kw: Any) -> Settings:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


@dataclass(frozen=True)
class Variable:
    """One row of the settings table: an ``OFFICE_*`` variable and the field it fills."""

    name: str
    field: str
    default: Any
    meaning: str
    shown: str
    parse: Callable[[str, str], Any]


def _parser(default: Any) -> Callable[[str, str], Any]:
    if isinstance(default, bool):
        return _bool
    if isinstance(default, int):
        return _int
    if isinstance(default, float):
        return _float
    if isinstance(default, Path):
        return lambda _name, raw: Path(raw)
    if isinstance(default, tuple):
        return _items()
    return lambda _name, raw: raw


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, int) and default >= MiB and default % MiB == 0:
        return f"{default // MiB} MiB"
    if isinstance(default, int | float):
        return f"{default:g}"
    if isinstance(default, tuple):
        return ", ".join(default) if default else "none"
    return f"`{default}`"


VARIABLES: tuple[Variable, ...] = tuple(
    Variable(
        name=f.metadata["env"],
        field=f.name,
        default=f.default,
        meaning=f.metadata["meaning"],
        shown=f.metadata["shown"] or _shown(f.default),
        parse=f.metadata["parse"] or _parser(f.default),
    )
    for f in dataclasses.fields(Settings)
    if "env" in f.metadata
)


def _read(env: Mapping[str, str], var: Variable) -> Any:
    """The variable's value: unset is the default; so is empty, except for text and paths (taken as given)."""
    raw = env.get(var.name)
    if raw is None or (raw == "" and not isinstance(var.default, str | Path)):
        return var.default
    return var.parse(var.name, raw)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment, apply CLI overrides, then validate and fill defaults."""
    env = os.environ if env is None else env
    base = Settings(**{var.field: _read(env, var) for var in VARIABLES})
    return finalize(base.with_overrides(**overrides))


def readme_table() -> str:
    """The README's settings table (Markdown), generated from :data:`VARIABLES`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.shown} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows) + "\n"


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
    if not 1 <= s.reminder_seconds <= 86400:
        raise ConfigError("OFFICE_REMINDER_SECONDS 应在 1–86400 秒之间")
    if s.write_queue_max < 1:
        raise ConfigError("OFFICE_WRITE_QUEUE_MAX 必须为正数")
    if not 2 <= s.request_threads <= 1000:
        raise ConfigError("OFFICE_REQUEST_THREADS 应在 2–1000 之间")
    if not 0 <= s.loop_lag_max_ms <= 60000:
        raise ConfigError("OFFICE_LOOP_LAG_MAX_MS 应在 0–60000 毫秒之间")
    if not 0 < s.header_timeout_seconds <= 600:
        raise ConfigError("OFFICE_HEADER_TIMEOUT_SECONDS 应在 0–600 秒之间")
    if not 0 <= s.official_copy_workers <= 16 or not 1 <= s.official_copy_timeout <= 600:
        raise ConfigError("OFFICE_OFFICIAL_COPY_WORKERS 应在 0–16 之间，OFFICE_OFFICIAL_COPY_TIMEOUT 应在 1–600 秒之间")
    if s.official_copy_fontconfig and not Path(s.official_copy_fontconfig).is_file():
        raise ConfigError(f"OFFICE_OFFICIAL_COPY_FONTCONFIG 指向的文件不存在：{s.official_copy_fontconfig}")
    key = s.secret_key or _load_or_create_secret(data_dir)
    if len(key) < 32:
        raise ConfigError("OFFICE_SECRET_KEY 至少需要 32 个字符")
    if s.metrics_token and len(s.metrics_token) < 16:
        raise ConfigError("OFFICE_METRICS_TOKEN 至少需要 16 个字符")
    return replace(
        s,
        data_dir=data_dir,
        database_url=url,
        secret_key=key,
        trusted_proxies=_proxy_networks(s.trusted_proxies),
        metrics_allow=_proxy_networks(s.metrics_allow, "OFFICE_METRICS_ALLOW"),
    )


def _proxy_networks(entries: tuple[str, ...], name: str = "OFFICE_TRUSTED_PROXIES") -> tuple[str, ...]:
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/8``, ``::1``), normalised. "*" is refused: it would
    let any client write its own address into X-Forwarded-For and dodge the per-address limits."""
    out = []
    for entry in entries:
        try:
            out.append(str(ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry)))
        except ValueError:
            raise ConfigError(f"{name} 中的 {entry!r} 不是 IP 地址或网段（如 10.0.0.0/8）") from None
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


if __name__ == "__main__":
    print(readme_table(), end="")
