"""Commands: ``office verify FILE.docx|FILE.pdf|FILE.ofd``, ``office esign log verify|sth`` and
``office esign ca export``.

``office verify`` exits 0 when every signature is valid, 1 when the file is invalid (or has no
signature), 2 on usage errors (unreadable file, neither a Word document nor a PDF). Without ``--chain`` it
trusts the CA in the local database (``--data``) and checks the transparency log; with
``--chain tongban-esign-chain.pem`` (from ``GET /api/esign/ca/chain.pem``) it verifies offline,
optionally with ``--crl`` files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from office.cli import CliError, _db

MAX_FILE = 50 * 1024 * 1024


def _read(path: str, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{what}不存在：{path}")
    if p.stat().st_size > MAX_FILE:
        raise CliError(f"{what}过大（上限 {MAX_FILE // (1024 * 1024)} MB）：{path}")
    return p.read_bytes()


def cmd_verify(args: argparse.Namespace) -> int:
    from esign import verify
    from office.errors import OfficeError

    data = _read(args.file, "文件")
    try:
        if args.chain:
            trust = verify.offline_trust(_read(args.chain, "证书链文件"), [_read(c, "吊销列表文件") for c in args.crl])
            report = verify.verify_file(None, data, trust=trust)
        else:
            db = _db(args)
            with db.read() as session:
                report = verify.verify_file(session, data)
            db.dispose()
    except OfficeError as exc:
        if args.json:
            print(json.dumps({"valid": False, "error": exc.code, "message": exc.message}, ensure_ascii=False))
        raise CliError(exc.message) from None
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(verify.format_report(report))
    return 0 if report["valid"] else 1


def cmd_log_verify(args: argparse.Namespace) -> int:
    from esign import tlog

    db = _db(args)
    with db.read() as session:
        report = tlog.verify_log(session)
    db.dispose()
    if report.ok:
        print(f"公开日志完整：共 {report.checked} 条，叶子、子树哈希与签名树头全部重新计算并校验通过")
        return 0
    where = f"（第一个异常条目：第 {report.first_bad_index} 条）" if report.first_bad_index is not None else ""
    print(f"公开日志校验失败：{report.reason}{where}", file=sys.stderr)
    return 1


def cmd_log_sth(args: argparse.Namespace) -> int:
    from esign import tlog

    db = _db(args)
    with db.read() as session:
        print(json.dumps(tlog.signed_head(session), ensure_ascii=False, indent=2))
    db.dispose()
    return 0


def cmd_ca_export(args: argparse.Namespace) -> int:
    from esign import authority, ca

    db = _db(args)
    with db.write() as session:
        authority.ensure_base(session, authority.keys_for(session))
        pem = ca.chain_pem(authority.chain_certs(session))
    db.dispose()
    if args.output and args.output != "-":
        Path(args.output).write_bytes(pem)
        print(f"已导出证书链到 {args.output}")
    else:
        sys.stdout.buffer.write(pem)
    return 0


def register(sub: Any, add: Any) -> None:
    p = add("verify", cmd_verify, "验证 Word 文件或 PDF、OFD 版式文件中的电子印章和签名")
    p.add_argument("file", help=".docx、.pdf 或 .ofd 文件")
    p.add_argument("--json", action="store_true", help="以 JSON 输出验证报告")
    p.add_argument("--chain", help="离线验证：信任此 PEM 证书链（GET /api/esign/ca/chain.pem 导出）")
    p.add_argument("--crl", action="append", default=[], help="离线验证时使用的吊销列表（DER 或 PEM，可多次）")

    esign = sub.add_parser("esign", help="电子印章").add_subparsers(dest="esign_command", metavar="子命令")
    log = esign.add_parser("log", help="公开日志（透明日志）").add_subparsers(
        dest="esign_log_command", metavar="子命令"
    )
    add("verify", cmd_log_verify, "重新计算并校验整个公开日志", log)
    add("sth", cmd_log_sth, "显示最新的签名树头", log)
    ca = esign.add_parser("ca", help="证书").add_subparsers(dest="esign_ca_command", metavar="子命令")
    p = add("export", cmd_ca_export, "导出根证书、机关签发 CA 与时间戳证书（PEM）", ca)
    p.add_argument("-o", "--output", default="-")
