"""The ``office`` command: serve, migrate, demo, user, org, audit, backup, restore (and domain commands)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from office.config import ConfigError, Settings, load_settings
from office.errors import OfficeError

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    pass


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(
        data_dir=getattr(args, "data", None), database_url=getattr(args, "database_url", None), **extra
    )


def _db(args: argparse.Namespace, *, migrate: bool = False) -> Any:
    """The database for a command. Only ``office migrate`` (``migrate``) always upgrades the schema; the
    others do as a starting worker does: upgrade, or refuse with OFFICE_MIGRATE_ON_START=false."""
    from office.app import load_all_models
    from office.db import Database
    from office.migrate import prepare_schema, upgrade

    # The models and policy rules every command acts under: a database already at the newest schema
    # runs no migration, and the migrations' env.py was what loaded them (user create, org import and
    # export then found no rule for their action and were refused).
    load_all_models()
    settings = _settings(args)
    db = Database(settings)
    try:
        if migrate:
            upgrade(db)
        else:
            prepare_schema(db, settings.migrate_on_start)
    except BaseException:
        db.dispose()
        raise
    return db


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    if args.workers > 1 and not settings.hub_url.startswith("redis://"):
        raise CliError("多进程（--workers > 1）需要 Redis 事件中心：请设置 OFFICE_HUB_URL=redis://...")
    if args.workers > 1 and settings.sqlite:
        raise CliError("多进程部署请使用 PostgreSQL（OFFICE_DATABASE_URL=postgresql://...）")
    os.environ["OFFICE_DATA_DIR"] = str(settings.data_dir)
    os.environ["OFFICE_DATABASE_URL"] = settings.database_url
    from office.db import Database
    from office.migrate import prepare_schema

    db = Database(settings)
    try:
        prepare_schema(db, settings.migrate_on_start)  # refused here, before any worker starts
    finally:
        db.dispose()
    print(f"通办正在启动：http://{args.host}:{args.port}/  （数据目录 {settings.data_dir}）", flush=True)
    from office.serving import uvicorn_options

    uvicorn.run(
        "office.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        **uvicorn_options(settings),
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    db = _db(args, migrate=True)
    print(f"数据库已是最新结构：{db.url.split('@')[-1]}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import inspect

    from sqlmodel import func, select

    from office import demo
    from office.models import User

    db = _db(args)
    with db.write() as session:
        if session.exec(select(func.count()).select_from(User)).one():
            raise CliError("数据库中已有人员，演示数据只能写入空库（换一个 --data 目录）")
        accounts = demo.seed(session, password=args.password)
    pin = args.pin or demo.DEMO_PIN
    from office.app import domain_modules

    domain_accounts: list[demo.DemoAccount] = []
    for module in domain_modules("demo"):  # each domain adds its own demo data (e.g. meeting rooms)
        wants = inspect.signature(module.seed).parameters
        extra: dict[str, str] = {}
        if "pin" in wants:  # signing keys (esign): the demo PIN
            extra["pin"] = pin
        if "password" in wants:  # accounts of its own (数据填报's cities): the demo password
            extra["password"] = args.password
        with db.write() as session:
            more = module.seed(session, **extra)  # a domain's own accounts (数据填报's cities), if any
        domain_accounts.extend(more or [])
    if args.json:
        print(json.dumps(demo.as_json(accounts + domain_accounts), ensure_ascii=False, indent=2))
    else:
        print(demo.print_accounts(accounts, args.password, pin=pin, more=domain_accounts))
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from office.actor import SYSTEM
    from office.directory import service
    from office.directory.service import PostSpec
    from office.models import Role

    password = args.password or _ask_password()
    try:
        roles = [Role(r) for r in args.role] or [Role.staff]
    except ValueError as exc:
        raise CliError(f"未知角色：{exc}。可选：{', '.join(r.value for r in Role)}") from None
    db = _db(args)
    with db.write() as session:
        posts = [PostSpec(department_id=args.department, title=args.title or "")] if args.department else []
        user = service.create_user(
            session, SYSTEM, username=args.username, name=args.name, password=password, posts=posts, roles=roles
        )
    print(f"已创建用户 {user.username}（{user.name}），编号 {user.id}")
    return 0


def cmd_user_reset(args: argparse.Namespace) -> int:
    from office import accounts
    from office.actor import SYSTEM
    from office.directory import service

    password = args.password or _ask_password()
    db = _db(args)
    with db.write() as session:
        user = service.get_user_by_username(session, args.username)
        if user is None:
            raise CliError(f"用户 {args.username} 不存在")
        accounts.reset_password(session, SYSTEM, user.id, new=password)  # type: ignore[arg-type]
    print(f"已重置 {args.username} 的密码，并结束其全部会话")
    return 0


def _ask_password() -> str:
    if not sys.stdin.isatty():
        raise CliError("请用 --password 提供密码（非交互环境）")
    first = getpass.getpass("新密码：")
    if first != getpass.getpass("再次输入："):
        raise CliError("两次输入的密码不一致")
    return first


def cmd_org_import(args: argparse.Namespace) -> int:
    from office.actor import SYSTEM
    from office.directory import csvio

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"文件不存在：{path}")
    db = _db(args)
    with db.write() as session:
        report = csvio.import_csv(session, SYSTEM, path.read_bytes(), dry_run=args.dry_run)
        if report.errors:
            session.rollback()
    if report.errors:
        for e in report.errors:
            print(f"第 {e['line']} 行：{e['message']}", file=sys.stderr)
        raise CliError(f"有 {len(report.errors)} 行有误，未导入任何数据")
    print(
        f"新增人员 {report.created_users}，更新 {report.updated_users}，未变 {report.unchanged_users}，"
        f"新增部门 {report.created_departments}" + ("（试运行，未写入）" if args.dry_run else "")
    )
    return 0


def cmd_org_export(args: argparse.Namespace) -> int:
    from office.actor import SYSTEM
    from office.directory import csvio

    db = _db(args)
    with db.write() as session:
        data = csvio.export_csv(session, SYSTEM)
    if args.output and args.output != "-":
        Path(args.output).write_bytes(data)
        print(f"已导出到 {args.output}")
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from office import audit

    db = _db(args)
    with db.read() as session:
        report = audit.verify_chain(session)
    if report.ok:
        print(f"审计日志完整：共 {report.checked} 条，哈希链校验通过")
        return 0
    print(f"审计日志校验失败：{report.reason}（第一个异常条目：第 {report.first_bad_seq} 条）", file=sys.stderr)
    return 1


def cmd_backup(args: argparse.Namespace) -> int:
    from office import backup

    settings = _settings(args)
    try:
        if settings.sqlite:
            summary = backup.create(
                Path(settings.database_url.split("///", 1)[1]), Path(settings.data_dir), Path(args.dest)
            )
        else:  # pg_dump (custom format) in the same single archive, with a manifest
            summary = backup.create_pg(settings.database_url, Path(settings.data_dir), Path(args.dest))
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    print(f"已备份到 {args.dest}（数据库和 {summary.files - 1} 个文件，共 {summary.bytes / 1e6:.1f} MB）")
    print("备份包含密钥文件，请像保管密钥一样保管它（文件权限 0600）")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from office import backup

    settings = _settings(args)
    source = Path(args.source)
    if not source.is_file():
        raise CliError(f"备份文件不存在：{source}")
    if not args.yes:
        raise CliError("恢复会覆盖当前数据库和密钥文件：确认无误后加 --yes 再执行（请先停止服务）")
    try:
        if settings.sqlite:
            target = Path(settings.database_url.split("///", 1)[1])
            summary = backup.restore(source, target, Path(settings.data_dir))
        else:
            summary = backup.restore_pg(source, settings.database_url, Path(settings.data_dir), replace=args.replace)
    except backup.BackupError as exc:
        raise CliError(str(exc)) from None
    print(f"已从 {source} 恢复到 {settings.data_dir}（数据库和 {summary.files - 1} 个文件）")
    return 0


def cmd_migrate_to_postgres(args: argparse.Namespace) -> int:
    from office import pgmove

    data = Path(args.data or _settings(args).data_dir)
    try:
        summary = pgmove.move(data, args.to, batch=args.batch)
    except pgmove.MoveError as exc:
        raise CliError(str(exc)) from None
    print(
        f"已迁移到 PostgreSQL：{len(summary.rows)} 张表共 {sum(summary.rows.values())} 行，行数逐表核对一致；"
        f"检索索引重建 {sum(summary.index_rows.values())} 行；审计日志 {summary.audit_entries} 条，哈希链校验通过"
    )
    print(f"数据目录 {data} 中的文件和密钥照常使用：以 --data {data} 和 OFFICE_DATABASE_URL 指向新库启动服务")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="office", description="通办 Tongban 协同办公平台")
    sub = parser.add_subparsers(dest="command", metavar="命令")

    def add(name: str, handler: Handler, help_text: str, parent: Any = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--data", help="数据目录（默认 ./data 或 OFFICE_DATA_DIR）")
        p.add_argument("--database-url", help="数据库地址（默认数据目录中的 SQLite）")
        p.set_defaults(handler=handler)
        return p

    p = add("serve", cmd_serve, "启动 Web 服务")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="info")
    add("migrate", cmd_migrate, "升级数据库结构")
    p = add("demo", cmd_demo, "写入演示机关、部门和人员")
    p.add_argument("--password", default="tongban-demo-2026", help="演示账号的统一密码")
    p.add_argument("--pin", help="演示签名密钥和印章的统一 PIN 码（签发、用印时输入；默认 135246）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出账号列表")

    user = sub.add_parser("user", help="用户管理").add_subparsers(dest="user_command", metavar="子命令")
    p = add("create", cmd_user_create, "创建用户", user)
    p.add_argument("username")
    p.add_argument("--name", required=True)
    p.add_argument("--password")
    p.add_argument(
        "--role", action="append", default=[], help="角色（可多次）：staff dept_head leader clerk seal_keeper admin"
    )
    p.add_argument("--department", type=int, help="主要任职部门编号")
    p.add_argument("--title", help="职务")
    p = add("reset-password", cmd_user_reset, "重置用户密码", user)
    p.add_argument("username")
    p.add_argument("--password")

    org = sub.add_parser("org", help="组织机构").add_subparsers(dest="org_command", metavar="子命令")
    p = add("import", cmd_org_import, "从 CSV 导入组织机构（整体成功或整体不导入）", org)
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true")
    p = add("export", cmd_org_export, "导出组织机构为 CSV", org)
    p.add_argument("-o", "--output", default="-")

    aud = sub.add_parser("audit", help="审计日志").add_subparsers(dest="audit_command", metavar="子命令")
    add("verify", cmd_audit_verify, "校验审计日志哈希链", aud)

    p = add("backup", cmd_backup, "在线备份（数据库快照和数据目录中的文件、密钥，打包为一个 tar 文件）")
    p.add_argument("dest")
    p = add("restore", cmd_restore, "从备份恢复数据库和数据目录中的文件（需先停止服务）")
    p.add_argument("source")
    p.add_argument("--yes", action="store_true")
    p.add_argument("--replace", action="store_true", help="PostgreSQL：目标数据库已有数据时，确认整体替换")

    p = add(
        "migrate-to-postgres",
        cmd_migrate_to_postgres,
        "把数据目录中的 SQLite 数据库整体复制到一个空的 PostgreSQL 数据库",
    )
    p.add_argument("--to", required=True, help="目标数据库地址 postgresql://...（须为空库）")
    p.add_argument("--batch", type=int, default=1000, help="每批复制的行数")

    for module in _domain_cli_modules():
        module.register(sub, add)
    return parser


def _domain_cli_modules() -> list[Any]:
    from office.app import domain_modules

    return domain_modules("cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except (CliError, ConfigError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except OfficeError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
