// 附件 on the document page: the 附件说明 in order, and the bound attachments (随文装订) laid out on pages of
// their own after the 正文 and before the 版记. A drafter (or an editor on the route) types one with the
// body's block editor, imports one from Word (the answer says what was taken), marks one bound or not,
// edits one, or moves one up: the 附件说明's order is the pages' order. The server checks everything
// (docs_flow/annexes.py) under the document's version, as for the body.

import { el, button, field, loading, toast } from "../../ui.js";
import { upload } from "../../api.js";
import { blockEditor } from "./blocks.js";

function blockText(b) {
  return b.kind === "table" ? b.rows.map((r) => r.join("　")).join("；") : b.text;
}

export function annexesPanel(ctx, doc, view, refresh) {
  const editable = doc.allowed_actions.includes("edit");
  if (!doc.attachments.length && !editable) return null;
  const section = el("section", { class: "panel", "aria-labelledby": `annexes-${doc.id}` },
    el("h2", { class: "panel-title", id: `annexes-${doc.id}` }, "附件",
      el("span", { class: "panel-count" }, doc.attachments.length ? `${doc.attachments.length} 个` : "")));
  const list = el("ol", { class: "plain annex-list" });
  const status = el("p", { class: "form-msg", role: "alert", hidden: true });
  const work = el("div", {});
  section.append(el("p", { class: "hint" },
    "随文装订的附件排在正文之后、版记之前，每个附件另起一页；附件的顺序即附件说明的顺序。"), list, status, work);
  const fail = (err) => {
    status.textContent = err.message || "操作失败";
    status.className = "form-msg form-msg-error";
    status.hidden = false;
  };
  const act = async (what, done) => {
    status.hidden = true;
    try {
      await what();
      if (done) toast(done, "success");
      await refresh();
    } catch (err) {
      fail(err);
    }
  };

  let bound = new Map();
  function draw() {
    list.replaceChildren();
    doc.attachments.forEach((a, i) => {
      const row = bound.get(a.file_id);
      const kind = row ? el("span", { class: "tag" }, "随文装订") : el("span", { class: "tag tag-off" }, "仅列入附件说明");
      const line = el("li", { class: "annex" }, el("span", {}, `${i + 1}. ${a.name} `), kind);
      if (a.file_id && !row) {
        line.append(" ", el("a", { href: `/api/docs/${doc.id}/attachments/${a.file_id}`, download: "" }, "下载"));
      }
      if (row) {
        line.append(el("details", { class: "disclosure" }, el("summary", {}, `查看内容（${row.blocks.length} 段）`),
          el("p", { class: "doc-preview-title" }, row.title), row.blocks.map((b) => el("p", {}, blockText(b)))));
      }
      if (editable) {
        const tools = el("div", { class: "actions" });
        if (i > 0) {
          tools.append(button("上移", () => {
            const order = doc.attachments.slice();
            [order[i - 1], order[i]] = [order[i], order[i - 1]];
            act(() => ctx.api.put(`/api/docs/${doc.id}`, { version: doc.version, attachments: order }), "附件顺序已调整");
          }, { kind: "secondary", class: "btn-small", "aria-label": `附件“${a.name}”上移` }));
        }
        if (a.file_id) {
          tools.append(button(row ? "改为不随文装订" : "随文装订", () => act(() => ctx.api.patch(
            `/api/docs/${doc.id}/attachments/${a.file_id}`, { version: doc.version, bound: !row }),
          row ? "已改为仅列入附件说明" : "已设为随文装订"), { kind: "secondary", class: "btn-small" }));
        }
        if (row) {
          tools.append(button("编辑内容", () => edit(row), { kind: "secondary", class: "btn-small" }));
        }
        line.append(tools);
      }
      list.append(line);
    });
    if (!doc.attachments.length) list.append(el("li", { class: "hint" }, "没有附件。"));
  }

  // The form of one bound attachment: its title and the body's block editor.
  function edit(row) {
    const blocks = (row ? row.blocks : [{ kind: "paragraph", text: "" }]).map((b) => ({ ...b }));
    const title = field({ label: "附件标题", name: "annex-title", maxlength: 200, value: row ? row.title : "" });
    const editor = blockEditor(blocks, "附件");
    const save = button(row ? "保存附件" : "添加附件", () => act(async () => {
      const body = { version: doc.version, title: title.input.value, blocks };
      if (row) await ctx.api.patch(`/api/docs/${doc.id}/attachments/${row.id}`, body);
      else await ctx.api.post(`/api/docs/${doc.id}/annexes`, body);
    }, row ? "附件已保存" : "附件已添加"), { kind: "primary" });
    const cancel = button("取消", () => work.replaceChildren(), { kind: "secondary" });
    work.replaceChildren(el("div", { class: "editor annex-editor" },
      el("h3", {}, row ? `编辑附件“${row.title}”` : "新增随文附件"), title.wrap, editor.list,
      el("div", { class: "actions" }, ...editor.tools), el("div", { class: "actions" }, save, cancel)));
    title.input.focus();
  }

  if (editable) {
    const fileId = `annex-import-${doc.id}`;
    const file = el("input", { type: "file", id: fileId, accept: ".docx", class: "visually-hidden" });
    file.addEventListener("change", async () => {
      if (!file.files.length) return;
      const form = new FormData();
      form.append("file", file.files[0], file.files[0].name);
      form.append("version", String(doc.version));
      file.value = "";
      await act(async () => {
        const data = await upload(`/api/docs/${doc.id}/annexes/import`, form);
        const t = data.taken;
        // Say what was taken from the Word file: the title (and from where) and how much content.
        toast(`已导入附件：标题“${t.title}”（${t.title_from === "word" ? "取自 Word 标题" : "取自文件名"}），`
          + `内容 ${t.blocks} 段${t.tables ? `（含表格 ${t.tables} 个）` : ""}，请检查`, "success");
      });
    });
    section.append(el("div", { class: "actions" },
      button("＋ 新增随文附件", () => edit(null), { kind: "secondary" }),
      el("span", { class: "file-pick" }, file, el("label", { for: fileId, class: "btn btn-secondary" }, "从 Word 导入附件"))));
  }
  if (doc.attachments.some((a) => a.file_id)) {
    // Which of them are bound is known once their contents are read: until then, say it is loading.
    list.replaceChildren(el("li", {}, loading()));
    ctx.api.get(`/api/docs/${doc.id}/annexes`, { signal: ctx.signal }).then((data) => {
      bound = new Map(data.items.map((r) => [r.id, r]));
      draw();
    }).catch((err) => err.name === "AbortError" || fail(err));
  } else {
    draw();
  }
  return section;
}
