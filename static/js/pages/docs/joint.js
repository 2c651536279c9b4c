// 联合行文 on the document page: the co-issuing agencies chosen with the directory picker (drafting),
// their names on the 发文稿纸, and the seal each co-issuer's keeper applies in issuing order after the
// lead's (POST /api/docs/{id}/joint-seal; the server decides whose turn it is: docs_flow/joint_seal.py).

import { el, button, field, toast } from "../../ui.js";
import { picker } from "../../components/picker.js";

/** The picker of the other issuing agencies (the lead is the drafter's own), in issuing order. */
export function jointIssuersPicker(api, chosen = []) {
  return picker({
    api, label: "联合发文机关（主办机关为本机关，按发文机关顺序选择）", kind: "agencies", multiple: true,
    hint: "联合行文时选择其他发文机关，最多 5 个；各机关须分别用印。不联合行文不选。",
    value: chosen.map((j) => ({ type: "department", id: j.agency_id, name: j.name })),
  });
}

/** 发文稿纸 line: the lead and the others, as the 版头 stacks them. */
export function jointIssuersText(doc) {
  if (!doc.joint_issuers || !doc.joint_issuers.length) return "";
  return [doc.issuing_agency_name, ...doc.joint_issuers.map((j) => j.name)].join("、") + "（联合行文，第一个为主办机关）";
}

/** The seals applied and to come; the keeper whose agency's turn it is seals here with their PIN. */
export function jointSealPanel(api, doc, refresh) {
  const state = doc.joint_seal;
  if (!state || (!state.seals.length && !state.my_turn)) return null;
  const done = new Set(state.seals.map((s) => s.agency_id));
  const list = el("ol", { class: "joint-seals" }, state.issuers.map((i) => {
    const seal = state.seals.find((s) => s.agency_id === i.agency_id);
    return el("li", {}, i.name, " · ", seal ? `已用印（${seal.by}）` : done.size ? "待用印" : "");
  }));
  const panel = el("section", { class: "panel", "aria-labelledby": "joint-title" },
    el("h2", { class: "panel-title", id: "joint-title" }, "联合用印"), list);
  if (!state.my_turn) return panel;
  const pin = field({ label: "您的签名密码（PIN，用于加盖本机关电子公章）", name: "joint-pin", type: "password", autocomplete: "off" });
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const go = button("加盖本机关公章", async () => {
    status.hidden = true;
    go.disabled = true;
    try {
      await api.post(`/api/docs/${doc.id}/joint-seal`, { version: doc.version, pin: pin.input.value });
      toast("已加盖本机关公章", "success");
      await refresh();
    } catch (err) {
      status.textContent = err.message;
      status.className = "form-msg form-msg-error";
      status.hidden = false;
      go.disabled = false;
    }
  }, { kind: "primary" });
  panel.append(el("p", { class: "hint" }, "本公文为联合行文，请按发文机关顺序加盖本机关公章。"), pin.wrap, status,
    el("div", { class: "actions" }, go));
  return panel;
}
