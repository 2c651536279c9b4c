"""Expected authorization outcomes for 数据填报 routes (see ``tests/authz_expect`` for the format).

The world (``tests/tianbao/authz_objects.py``): a third agency's 综合统计处 (``tbo``) owns the items;
agency A's 规划处 (``tbc``) collects ``tb_task`` from two units of A, where ``tbf1`` fills a return
(``tbh1`` reviews it) and ``tbh2`` reviews another. The fixed callers have no part in any of it: they
get 404, exactly as for a missing id. prospero, agency A's administrator, may manage A's tasks (and so
reads their boards and returns) but neither fills nor reviews a return (403). The calls one person
makes once go to agency B's tasks (collected by B's 统计办, ``tbd``), which prospero cannot see.
"""

from __future__ import annotations

from typing import Any

from tests.authz_expect import REFUSED, admin_only, everyone, expect

P = "/api/tianbao"
T = P + "/tasks/{task_id:int}"
R = P + "/returns/{return_id:int}"
I = P + "/items/{item_id:int}"  # noqa: E741  # as routes_items names it

# A's task (tbc collects): its department and A's administrator.
A_TASK = expect("2xx", same_dept=404, other_dept=404, other_agency=404, admin="2xx", owner_user="tbc")
# B's tasks (tbd collects): nobody else.
B_TASK = expect("2xx", same_dept=404, other_dept=404, other_agency=404, admin=404, owner_user="tbd")
# The items' owner department (tbo): its item is 内部 to its agency.
ITEM = expect("2xx", same_dept=404, other_dept=404, other_agency=404, admin=404, owner_user="tbo")


def on_return(owner_user: str, owner: Any = "2xx") -> dict[str, Any]:
    """A return of A's task: A's administrator reads it but neither fills nor reviews it."""
    return expect(owner, same_dept=404, other_dept=404, other_agency=404, admin=403, owner_user=owner_user)


EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    # Tasks and returns (tianbao.routes_tasks)
    ("GET", P + "/tasks"): everyone(),  # the caller's own departments' tasks
    ("POST", P + "/tasks"): expect(
        "2xx", same_dept=403, other_dept=403, other_agency=403, admin="2xx", owner_user="tbc"
    ),  # a draft for the caller's own department: its head, its clerk or the agency's administrator
    ("GET", T): A_TASK,
    ("PUT", T): B_TASK,  # a draft
    ("POST", T + "/issue"): B_TASK,
    ("POST", T + "/close"): B_TASK,  # after it was issued
    ("POST", T + "/withdraw"): B_TASK,
    ("GET", T + "/board"): A_TASK,
    ("POST", T + "/urge"): A_TASK,
    ("GET", P + "/returns"): everyone(),  # the caller's own returns
    ("GET", R): expect("2xx", same_dept=404, other_dept=404, other_agency=404, admin="2xx", owner_user="tbf1"),
    ("PUT", R): on_return("tbf1"),
    ("POST", R + "/to-review"): on_return("tbf1"),
    ("POST", R + "/send-back"): on_return("tbh1"),  # now waiting for tbh1's review
    ("POST", R + "/submit"): on_return("tbh2"),
    ("POST", R + "/accept"): B_TASK,  # a submitted return of B's task
    ("POST", R + "/return"): B_TASK,
    # The registry (tianbao.routes_items): only the owner department (数源部门, tbo) defines and changes
    # its items; the item is active already, so reviewing it is refused after the check.
    ("GET", P + "/items"): everyone(),  # what each caller may read
    ("POST", P + "/items"): expect("2xx", same_dept=403, other_dept=403, other_agency=403, admin=403, owner_user="tbo"),
    ("POST", P + "/items/propose"): expect(  # a head, a clerk or an administrator proposes (one code once)
        "2xx", same_dept=403, other_dept=403, other_agency=403, admin="2xx", owner_user="prospero"
    ),
    ("GET", I): ITEM,
    ("PUT", I): ITEM,
    ("POST", I + "/review"): expect(
        REFUSED, same_dept=404, other_dept=404, other_agency=404, admin=404, owner_user="tbo"
    ),
    # A unit's values are read by its own agency (the unit is agency A's 基层一所), whatever the item's level.
    ("GET", I + "/history"): expect(
        "2xx", same_dept="2xx", other_dept="2xx", other_agency=404, admin="2xx", owner_user="tbo"
    ),
    ("GET", P + "/sources"): everyone(),
    ("GET", P + "/units"): everyone(),  # the caller's own agency's collectable tree
    # the grants the caller's agency gives over its own units (and the scopes it holds): its administrator
    ("GET", P + "/scopes"): admin_only(),
    ("PUT", P + "/scopes"): admin_only(),
    # xlsx, summaries, the burden report (tianbao.routes_reports)
    ("GET", R + "/xlsx"): expect(
        "2xx", same_dept=404, other_dept=404, other_agency=404, admin="2xx", owner_user="tbf1"
    ),
    ("POST", R + "/xlsx"): on_return("tbf1", REFUSED),  # not a spreadsheet: refused after the checks
    ("GET", T + "/summary"): A_TASK,
    ("GET", T + "/summary.xlsx"): A_TASK,
    ("GET", P + "/burden"): everyone(),  # the caller's own units
    ("GET", P + "/burden/collectors"): expect(  # the leaders' view
        "2xx", same_dept=403, other_dept=403, other_agency=403, admin="2xx", owner_user="claudius"
    ),
}
