// The block editor of a 公文's body (标题, 段落, 列表项, 表格), shared by the body and by bound attachments
// (随文装订的附件, ./annexes.js): it edits ``blocks`` in place, the server checks them (docs_flow/body.py).

import { el, button } from "../../ui.js";

export const BLOCK_LABELS = { heading: "标题", paragraph: "段落", list_item: "列表项", table: "表格" };

/** { list, tools, redraw }: the editable rows of ``blocks`` and the buttons that add one; ``what`` names
 * the text in the rows' labels ("第 2 段", "附件第 2 段"). */
export function blockEditor(blocks, what = "") {
  const list = el("ol", { class: "blocks" });
  function redraw() {
    list.replaceChildren();
    blocks.forEach((b, i) => {
      const name = `${what}第 ${i + 1} 段`;
      const kind = el("select", { "aria-label": `${name}的类型` },
        Object.entries(BLOCK_LABELS).map(([v, l]) => el("option", { value: v, selected: v === b.kind }, l)));
      const level = el("select", { "aria-label": `${name}的标题层级`, hidden: b.kind !== "heading" },
        [["1", "一级"], ["2", "二级"], ["3", "三级"], ["4", "四级"]].map(([v, l]) =>
          el("option", { value: v, selected: v === String(b.level || 1) }, l)));
      const text = el("textarea", { rows: b.kind === "paragraph" || b.kind === "table" ? 3 : 1, "aria-label": `${name}内容` });
      text.value = b.kind === "table" ? b.rows.map((r) => r.join("\t")).join("\n") : b.text;
      function sync() {
        if (b.kind === "table") {
          b.rows = text.value.split("\n").filter((l) => l.length).map((l) => l.split("\t"));
          delete b.text;
        } else {
          b.text = text.value;
          delete b.rows;
        }
        if (b.kind === "heading") b.level = Number(level.value);
        else delete b.level;
      }
      kind.addEventListener("change", () => { b.kind = kind.value; sync(); redraw(); });
      level.addEventListener("change", sync);
      text.addEventListener("input", sync);
      const up = button("上移", () => { if (i > 0) { [blocks[i - 1], blocks[i]] = [blocks[i], blocks[i - 1]]; redraw(); } },
        { kind: "secondary", class: "btn-small", "aria-label": `${name}上移`, disabled: i === 0 });
      const remove = button("删除", () => { blocks.splice(i, 1); redraw(); },
        { kind: "danger", class: "btn-small", "aria-label": `删除${name}` });
      list.append(el("li", { class: "block-row" }, el("div", { class: "block-kind" }, kind, level), text,
        el("div", { class: "block-tools" }, up, remove)));
    });
  }
  redraw();
  const add = (kind) => button(`＋ ${BLOCK_LABELS[kind]}`, () => {
    blocks.push(kind === "heading" ? { kind, level: 1, text: "" } : kind === "table" ? { kind, rows: [["", ""]] } : { kind, text: "" });
    redraw();
    list.lastElementChild?.querySelector("textarea")?.focus();
  }, { kind: "secondary", class: "btn-small" });
  return { list, tools: ["heading", "paragraph", "list_item", "table"].map(add), redraw };
}
