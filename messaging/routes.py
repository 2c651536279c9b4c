"""消息 HTTP API under ``/api/messages``: each endpoint parses, calls one service function, serialises.

Sends and read marks go through the group-commit batcher (``deferred_write``): the handler returns
the batcher's future and the response is sent only after the batch containing the message has
committed, with no thread held meanwhile; a full batcher refuses at once (503 ``overloaded``).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from starlette.responses import FileResponse, Response
from starlette.routing import Route

from messaging import attachments, department_groups, messages, paging, search, service
from messaging.batcher import GroupCommit
from messaging.presence import visible_to as presence_visible_to
from messaging.readbatch import ReadOp
from messaging.schemas import (
    DirectBody,
    EditBody,
    GroupCreate,
    GroupUpdate,
    MembersAdd,
    MuteBody,
    ReactionBody,
    ReadBody,
    RoleBody,
    SendBody,
)
from messaging.sendbatch import SendOp
from office.errors import NotFound, RateLimited, ValidationError
from office.jsonin import is_digits
from office.web import Ctx, api

P = "/api/messages"


def _rt(ctx: Ctx) -> Any:
    return ctx.app.state.chat


def _batcher(ctx: Ctx) -> GroupCommit:
    """Chat's group-commit writer (``messaging.startup``)."""
    batcher: GroupCommit = ctx.app.state.chat.batcher
    return batcher


def _conv(ctx: Ctx) -> int:
    return ctx.path_int("cid")


# Conversations ---------------------------------------------------------------------------------


@api(action="message.read")
def conversations(ctx: Ctx) -> dict[str, Any]:
    if department_groups.ensure_department_groups(ctx.app.state.db, ctx.user):
        ctx.session.rollback()  # end the read snapshot taken before the repair, to see it
    return service.list_conversations(ctx.session, ctx.user)


@api(action="message.read")
def unread(ctx: Ctx) -> dict[str, Any]:
    return service.unread_counts(ctx.session, ctx.user)


@api(action="message.read")
def conversation(ctx: Ctx) -> dict[str, Any]:
    return service.get_conversation(ctx.session, ctx.user, _conv(ctx))


@api(action="message.read")
def members(ctx: Ctx) -> dict[str, Any]:
    limit = ctx.query_int("limit", 5000, lo=1, hi=5000)
    return {"items": service.list_members(ctx.session, ctx.user, _conv(ctx), q=ctx.query("q"), limit=limit)}


@api(action="conversation.create", body=GroupCreate, write=True, status=201)
def create_group(ctx: Ctx) -> dict[str, Any]:
    conv = service.create_group(ctx.session, ctx.user, name=ctx.body.name, member_ids=ctx.body.member_ids)
    return service.get_conversation(ctx.session, ctx.user, conv.id)  # type: ignore[arg-type]


@api(action="conversation.create", body=DirectBody, write=True)
def open_direct(ctx: Ctx) -> dict[str, Any]:
    conv = service.open_direct(ctx.session, ctx.user, user_id=ctx.body.user_id)
    return service.get_conversation(ctx.session, ctx.user, conv.id)  # type: ignore[arg-type]


@api(action="message.send", body=GroupUpdate, write=True)
def update_group(ctx: Ctx) -> dict[str, Any]:
    b: GroupUpdate = ctx.body
    service.update_group(
        ctx.session,
        ctx.user,
        _conv(ctx),
        name=b.name,
        announcement=b.announcement,
        muted_all=b.muted_all,
        history_visible=b.history_visible,
    )
    return service.get_conversation(ctx.session, ctx.user, _conv(ctx))


@api(action="message.send", body=MembersAdd, write=True)
def add_members(ctx: Ctx) -> dict[str, Any]:
    return {"added": service.add_members(ctx.session, ctx.user, _conv(ctx), user_ids=ctx.body.user_ids)}


@api(action="message.send", write=True)
def remove_member(ctx: Ctx) -> None:
    service.remove_member(ctx.session, ctx.user, _conv(ctx), ctx.path_int("uid"))


@api(action="message.send", body=RoleBody, write=True)
def set_role(ctx: Ctx) -> None:
    service.set_member_role(ctx.session, ctx.user, _conv(ctx), ctx.path_int("uid"), role=ctx.body.role)


@api(action="message.send", write=True)
def leave(ctx: Ctx) -> None:
    service.leave(ctx.session, ctx.user, _conv(ctx))


@api(action="message.send", write=True)
def dissolve(ctx: Ctx) -> None:
    service.dissolve(ctx.session, ctx.user, _conv(ctx))


@api(action="message.read", body=MuteBody, write=True)
def mute(ctx: Ctx) -> dict[str, Any]:
    return {"muted": service.set_muted(ctx.session, ctx.user, _conv(ctx), muted=ctx.body.muted).muted}


# Messages --------------------------------------------------------------------------------------


@api(action="message.read")
def history(ctx: Ctx) -> dict[str, Any]:
    def opt(name: str) -> int | None:
        return ctx.query_int(name, -1, lo=0, hi=2**62) if ctx.query(name) else None

    return paging.history(
        ctx.session,
        ctx.user,
        conversation_id=_conv(ctx),
        before=opt("before"),
        after=opt("after"),
        around=opt("around"),
        limit=ctx.query_int("limit", 50, lo=1, hi=200),
    )


@api(action="message.send", body=SendBody, deferred_write=True, status=201)
def send(ctx: Ctx) -> Future[dict[str, Any]]:
    """Send a message; answered after it is durably stored (retries with the same client_id are safe)."""
    rt, actor, cid, fields = _rt(ctx), ctx.user, _conv(ctx), ctx.body.model_dump()
    _batcher(ctx).check_room()  # a refused send spends no rate-limit token (it changes nothing)
    if not rt.buckets.allow(actor.user_id, actor.ip):
        raise RateLimited("发送过于频繁，请稍后再试")
    return _batcher(ctx).submit(SendOp(actor, cid, fields))


@api(action="message.send", body=EditBody, write=True)
def edit(ctx: Ctx) -> dict[str, Any]:
    return messages.edit_message(
        ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"), text=ctx.body.text
    )


@api(action="message.read")
def edits(ctx: Ctx) -> dict[str, Any]:
    return {"items": messages.edit_history(ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"))}


@api(action="message.send", write=True)
def recall(ctx: Ctx) -> dict[str, Any]:
    return messages.recall_message(ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"))


@api(action="message.send", body=ReactionBody, write=True)
def react(ctx: Ctx) -> dict[str, Any]:
    return messages.react(
        ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"), emoji=ctx.body.emoji, on=ctx.body.on
    )


@api(action="message.read", body=ReadBody, deferred_write=True)
def mark_read(ctx: Ctx) -> Future[dict[str, Any]]:
    actor, cid, seq = ctx.user, _conv(ctx), ctx.body.seq
    return _batcher(ctx).submit(ReadOp(actor, cid, seq))


@api(action="message.read")
def reads(ctx: Ctx) -> dict[str, Any]:
    return messages.read_list(ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"))


@api(action="message.read", write=True)
def ding_ack(ctx: Ctx) -> dict[str, Any]:
    return messages.ding_ack(ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"))


@api(action="message.read")
def ding_status(ctx: Ctx) -> dict[str, Any]:
    return messages.ding_status(ctx.session, ctx.user, conversation_id=_conv(ctx), seq=ctx.path_int("seq"))


@api(action="message.read")
def search_messages(ctx: Ctx) -> dict[str, Any]:
    cid = ctx.query_int("conversation_id", 0) or None
    before = ctx.query_int("before_id", 0, hi=2**62) or None
    return search.search(
        ctx.session,
        ctx.user,
        ctx.query("q"),
        conversation_id=cid,
        before_id=before,
        limit=ctx.query_int("limit", 30, lo=1, hi=100),
    )


@api(action="message.read")
def presence(ctx: Ctx) -> dict[str, Any]:
    raw = [p for p in ctx.query("user_ids").split(",") if p.strip()][:500]
    if not all(is_digits(p.strip()) for p in raw):
        raise ValidationError("user_ids 必须是逗号分隔的整数", code="bad_query")
    ids = presence_visible_to(ctx.session, ctx.user, [int(p) for p in raw])
    return {"statuses": _rt(ctx).presence.statuses(ids)}


# Attachments -----------------------------------------------------------------------------------


@api(action="attachment.upload", multipart=True, deferred_write=True, status=201)
def upload(ctx: Ctx) -> Future[dict[str, Any]]:
    file = ctx.form.get("file") if ctx.form is not None else None
    if file is None or not hasattr(file, "file"):
        raise ValidationError("缺少文件字段 file", code="missing_file")
    actor = ctx.user
    _batcher(ctx).check_room()  # before the file is stored: a refused upload leaves nothing behind
    got = attachments.receive_file(
        ctx.session,
        actor,
        conversation_id=_conv(ctx),
        filename=file.filename or "",
        stream=file.file,
        root=_rt(ctx).files,
    )
    return _batcher(ctx).submit(lambda s: attachments.record_upload(s, actor, got))


@api(action="message.read")
def download(ctx: Ctx) -> Response:
    path, media, name = attachments.open_attachment(
        ctx.session, ctx.user, ctx.path_int("aid"), _rt(ctx).files, thumb=ctx.query("thumb") == "1"
    )
    if not path.is_file():
        raise NotFound("附件文件缺失", code="attachment_missing")
    return FileResponse(
        path,
        media_type=media,
        headers={
            "content-disposition": attachments.content_disposition(name),
            "x-content-type-options": "nosniff",
            "cache-control": "private, max-age=3600",
        },
    )


C = P + "/conversations/{cid:int}"
M = C + "/messages/{seq:int}"
routes = [
    Route(P + "/conversations", conversations, methods=["GET"]),
    Route(P + "/conversations", create_group, methods=["POST"]),
    Route(P + "/direct", open_direct, methods=["POST"]),
    Route(P + "/unread", unread, methods=["GET"]),
    Route(P + "/search", search_messages, methods=["GET"]),
    Route(P + "/presence", presence, methods=["GET"]),
    Route(C, conversation, methods=["GET"]),
    Route(C, update_group, methods=["PUT"]),
    Route(C + "/members", members, methods=["GET"]),
    Route(C + "/members", add_members, methods=["POST"]),
    Route(C + "/members/{uid:int}", remove_member, methods=["DELETE"]),
    Route(C + "/members/{uid:int}", set_role, methods=["PUT"]),
    Route(C + "/leave", leave, methods=["POST"]),
    Route(C + "/dissolve", dissolve, methods=["POST"]),
    Route(C + "/mute", mute, methods=["PUT"]),
    Route(C + "/read", mark_read, methods=["POST"]),
    Route(C + "/messages", history, methods=["GET"]),
    Route(C + "/messages", send, methods=["POST"]),
    Route(C + "/attachments", upload, methods=["POST"]),
    Route(M, edit, methods=["PUT"]),
    Route(M + "/edits", edits, methods=["GET"]),
    Route(M + "/recall", recall, methods=["POST"]),
    Route(M + "/reactions", react, methods=["POST"]),
    Route(M + "/reads", reads, methods=["GET"]),
    Route(M + "/ding", ding_status, methods=["GET"]),
    Route(M + "/ding/ack", ding_ack, methods=["POST"]),
    Route(P + "/attachments/{aid:int}", download, methods=["GET"]),
]
