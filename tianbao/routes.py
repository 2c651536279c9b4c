"""数据填报's routes under ``/api/tianbao``: the registry (``routes_items``), tasks and returns
(``routes_tasks``), xlsx, summaries and the burden report (``routes_reports``)."""

from __future__ import annotations

from tianbao import routes_items, routes_reports, routes_tasks

routes = [*routes_items.ROUTES, *routes_tasks.ROUTES, *routes_reports.ROUTES]
