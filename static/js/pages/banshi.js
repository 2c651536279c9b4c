// 办事 (线上审批): forms for everyday business — leave, trips, expenses, vehicles, seal use — approved
// along their routes. Screens live in pages/banshi/:
//
//   #/banshi                     发起: the agency's forms, grouped and searchable        list.js
//   #/banshi?box=todo|done|mine|cc  待我审批 / 我已审批 / 我发起的 / 抄送我的 (filters, pages) list.js
//   #/banshi/new/<template id>   fill a form, see who will approve, submit              form.js
//   #/banshi/r/<id>              one request: act on it, its values and route           request.js
//   #/banshi/r/<id>/print        A4 审批单 with the approvals and the QR code             print.js
//   #/banshi/verify?serial=&digest=  审批单验证                                           verify.js
//   #/banshi/admin[/<id>]        form designer (agency administrators)                  designer.js
//   #/banshi/leave[?user=<id>]   我的假期; the personnel office sees and adjusts everyone's leave.js
//   #/banshi/ledger?month=       台账 for the personnel and finance offices              ledger.js
//   #/banshi/travel              差旅费标准 (everyone reads; the finance office edits)     travel.js
//
// User data is only ever written with textContent; no inline scripts or style attributes (strict CSP).
import { el, replace, errorState, loadCss } from "../ui.js";
import { renderStart, renderBox, BOXES } from "./banshi/list.js";
import { renderNew } from "./banshi/form.js";
import { renderRequest } from "./banshi/request.js";
import { renderPrint } from "./banshi/print.js";
import { renderVerify } from "./banshi/verify.js";
import { renderAdmin } from "./banshi/designer.js";
import { renderLeave } from "./banshi/leave.js";
import { renderLedger } from "./banshi/ledger.js";
import { renderTravel } from "./banshi/travel.js";
import { isAbort } from "./banshi/common.js";

const num = (s) => (s && /^\d+$/.test(s) ? Number(s) : null);

export async function render(root, ctx) {
  loadCss("banshi");
  root.classList.add("banshi-page");
  const [first, second, third] = ctx.params.path;
  try {
    if (first === "new" && num(second)) await renderNew(root, ctx, num(second));
    else if (first === "r" && num(second) && third === "print") await renderPrint(root, ctx, num(second));
    else if (first === "r" && num(second)) await renderRequest(root, ctx, num(second));
    else if (first === "verify") await renderVerify(root, ctx);
    else if (first === "admin") await renderAdmin(root, ctx, num(second));
    else if (first === "leave") await renderLeave(root, ctx);
    else if (first === "ledger") await renderLedger(root, ctx);
    else if (first === "travel") await renderTravel(root, ctx);
    else {
      const box = ctx.params.query.box;
      if (box && box !== "start" && BOXES.some(([k]) => k === box)) await renderBox(root, ctx, box);
      else await renderStart(root, ctx);
    }
  } catch (err) {
    if (isAbort(err)) return;
    const title = err?.status === 404 ? "找不到这份申请或表单" : "办事";
    replace(root, el("a", { class: "back-link", href: "#/banshi" }, "‹ 返回办事"), el("h1", {}, title),
      errorState(err, () => ctx.navigate(location.hash, { replace: true })));
  }
}
