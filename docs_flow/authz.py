"""Expected authorization outcomes for 办文 routes (see ``office/authz.py`` for the format).

The document is hamlet's draft: nobody else in his agency, department or elsewhere can see it, and
the administrator cannot either. Templates and numbers belong to admins and clerks (gertrude).
"""

from __future__ import annotations

from typing import Any

from office.authz import REFUSED, admin_only, everyone, private

EXPECTATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/docs/meta"): everyone(),
    ("GET", "/api/docs"): everyone(),  # each caller's own boxes
    ("POST", "/api/docs"): everyone(REFUSED),
    ("GET", "/api/docs/templates"): admin_only(),
    ("PUT", "/api/docs/templates/{doc_type}"): admin_only(REFUSED),
    ("GET", "/api/docs/numbers"): admin_only(),
    ("POST", "/api/docs/numbers"): admin_only(REFUSED),
    ("POST", "/api/docs/numbers/{number_id:int}/void"): admin_only(REFUSED),
    ("GET", "/api/docs/delegations"): everyone(),
    ("POST", "/api/docs/delegations"): everyone(REFUSED),
    ("DELETE", "/api/docs/delegations/{delegation_id:int}"): private(),
    ("GET", "/api/docs/{doc_id:int}"): private(),
    ("PUT", "/api/docs/{doc_id:int}"): private(),
    ("POST", "/api/docs/{doc_id:int}/actions"): private(),
    ("POST", "/api/docs/{doc_id:int}/number"): private(403),  # a reader, but not at the 编号 step
    ("GET", "/api/docs/{doc_id:int}/versions"): private(),
    ("GET", "/api/docs/{doc_id:int}/versions/{no:int}"): private(),
    ("GET", "/api/docs/{doc_id:int}/diff"): private(),
    ("GET", "/api/docs/{doc_id:int}/comments"): private(),
    ("POST", "/api/docs/{doc_id:int}/comments"): private(),
    ("GET", "/api/docs/{doc_id:int}/docx"): private(REFUSED),  # a draft has no 发文字号 yet
    ("POST", "/api/docs/{doc_id:int}/import"): private(),
    ("POST", "/api/docs/{doc_id:int}/attachments"): private(),
    ("GET", "/api/docs/{doc_id:int}/attachments/{file_id:int}"): private(),
}


