"""HTTP for the proof of an approved request (its QR and the verification page) and the 用印申请's
seal picker. Thin: the rules are in ``banshi.proof``, ``banshi.seal_request`` and ``banshi.service``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from banshi import proof, seal_request, service
from office.errors import Conflict
from office.web import Ctx, api


@api(action="banshi.use")
def request_qr(ctx: Ctx) -> Response:
    """The QR of an approved request's verification address (readers of the request only)."""
    request = service.access_request(ctx.session, ctx.user, ctx.path_int("request_id"))
    if not request.proof:
        raise Conflict("申请尚未审批通过，还没有核验二维码", code="not_approved")
    svg = proof.qr_svg(proof.verify_url(str(ctx.request.base_url), request))
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "private, max-age=300"})


@api(action="banshi.use")
def verify(ctx: Ctx) -> dict[str, Any]:
    """``?serial=&digest=``: is this approval genuine (staff of the request's agency)."""
    return proof.verify(ctx.session, ctx.user, ctx.query("serial")[:40], ctx.query("digest")[:80])


@api(action="banshi.use")
def seals(ctx: Ctx) -> dict[str, Any]:
    """The seals a 用印申请 may name: the active seals of the caller's agency."""
    return {"items": seal_request.agency_seals(ctx.session, ctx.user)}


routes = [
    Route("/api/banshi/requests/{request_id:int}/qr.svg", request_qr, methods=["GET"]),
    Route("/api/banshi/verify", verify, methods=["GET"]),
    Route("/api/banshi/seals", seals, methods=["GET"]),
]
