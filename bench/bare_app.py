"""The baseline: a bare Starlette JSON endpoint, served by uvicorn exactly like Tongban.

``/api/directory/search`` answers each query with the very bytes Tongban answered it with
(captured by the bench into the file named by ``BENCH_BARE_RESPONSES``), so that the ratio
measures what Tongban does per request (session, permission, search, security headers) and not
the size of a 20-card answer. ``/tiny/api/directory/search`` is the first baseline, ten small
fixed items whatever the query, kept for comparison.
"""

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PEOPLE = [{"id": i, "name": "张伟", "department": "综合处", "title": "科员"} for i in range(10)]
_FILE = os.environ.get("BENCH_BARE_RESPONSES")
RESPONSES: dict[str, bytes] = {k: v.encode() for k, v in json.loads(Path(_FILE).read_text()).items()} if _FILE else {}


async def search(request):
    body = RESPONSES.get(request.scope["query_string"].decode())
    if body is None:
        return JSONResponse({"items": PEOPLE})
    return Response(body, media_type="application/json")


async def tiny(request):
    return JSONResponse({"items": PEOPLE})


app = Starlette(routes=[Route("/api/directory/search", search), Route("/tiny/api/directory/search", tiny)])
