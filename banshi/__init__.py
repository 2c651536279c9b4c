"""办事: online approvals (线上审批) on the route engine: form templates, requests, leave, travel and
expenses, 用印申请."""
