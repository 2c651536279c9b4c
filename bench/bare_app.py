"""The baseline: a bare Starlette JSON endpoint, served by uvicorn exactly like Tongban."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

PEOPLE = [{"id": i, "name": "张伟", "department": "综合处", "title": "科员"} for i in range(10)]


async def search(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"items": PEOPLE})


app = Starlette(routes=[Route("/api/directory/search", search)])
