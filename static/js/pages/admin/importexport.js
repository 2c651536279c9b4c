// 导入导出: CSV import is two steps — a dry run that reports every problem line by line, then the
// real import (all or nothing) — and an export of the whole organisation as CSV.

import { el, replace, button, busy, formMessage, uid, toast } from "../../ui.js";

const COLUMNS = ["机关", "部门", "姓名", "用户名", "职务", "角色", "电话", "办公室", "邮箱", "工号", "兼职", "初始密码"];

export async function render(root, ctx) {
  const { api } = ctx;
  const fileId = uid("csv");
  const input = el("input", { id: fileId, type: "file", accept: ".csv,text/csv", class: "visually-hidden" });
  const fileName = el("span", { class: "file-name", "aria-live": "polite" }, "尚未选择文件");
  const msg = formMessage();
  const report = el("div", { class: "import-report", "aria-live": "polite" });
  const check = button("检查文件", null, { kind: "primary", disabled: true });
  let file = null;

  input.addEventListener("change", () => {
    file = input.files[0] || null;
    fileName.textContent = file ? `已选择：${file.name}` : "尚未选择文件";
    check.disabled = !file;
    msg.clear();
    report.replaceChildren();
  });

  check.addEventListener("click", () => busy(check, "正在检查…", async () => {
    msg.clear();
    report.replaceChildren();
    try {
      const result = await api.post("/api/admin/org/import?dry_run=1", file, { raw: true });
      showPreview(result);
    } catch (err) {
      showErrors(err);
    }
  }));

  function summary(r, done) {
    const parts = [
      `新建人员 ${r.created_users} 人`, `更新人员 ${r.updated_users} 人`,
      `新建部门 ${r.created_departments} 个`, `无变化 ${r.unchanged_users} 人`,
    ];
    return el("p", { class: "status-line status-ok" }, (done ? "导入完成：" : "检查通过，将会：") + parts.join("，") + "。");
  }

  function showPreview(r) {
    const go = button("确认导入", () => busy(go, "正在导入…", async () => {
      try {
        const done = await api.post("/api/admin/org/import", file, { raw: true });
        replace(report, summary(done, true));
        toast("导入完成", "success");
        input.value = "";
        file = null;
        fileName.textContent = "尚未选择文件";
        check.disabled = true;
      } catch (err) {
        showErrors(err);
      }
    }), { kind: "primary" });
    replace(report, summary(r, false),
      el("div", { class: "actions" }, go, button("取消", () => report.replaceChildren(), { kind: "secondary" })));
    go.focus();
  }

  function showErrors(err) {
    const errors = err.body?.errors;
    msg.show(err.message);
    if (!Array.isArray(errors) || !errors.length) return;
    replace(report,
      el("div", { class: "table-wrap" },
        el("table", { class: "table" },
          el("caption", {}, "请修改以下行后重新选择文件（文件中没有任何数据被导入）"),
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "行号"), el("th", { scope: "col" }, "问题"))),
          el("tbody", {}, errors.map((e) => el("tr", {}, el("td", { class: "num" }, `第 ${e.line} 行`), el("td", {}, e.message)))))));
  }

  const template = new Blob(["\ufeff" + COLUMNS.join(",") + "\n"], { type: "text/csv;charset=utf-8" });
  const templateUrl = URL.createObjectURL(template);
  ctx.signal.addEventListener("abort", () => URL.revokeObjectURL(templateUrl));

  replace(root,
    el("section", { class: "panel" },
      el("h2", { class: "panel-title" }, "批量导入人员和部门"),
      el("ol", { class: "steps" },
        el("li", {}, el("p", {}, "准备 CSV 文件（可用 Excel “另存为 CSV”），第一行为列名："),
          el("p", { class: "mono" }, COLUMNS.join("，")),
          el("p", { class: "hint" }, "“部门”多级用 / 分隔；“角色”可填 科员、处室负责人 等，多个用 ; 分隔；“兼职”写作 部门:职务。"),
          el("p", {}, el("a", { href: templateUrl, download: "通办导入模板.csv", class: "btn btn-secondary" }, "下载空白模板"))),
        el("li", {},
          el("div", { class: "file-pick" }, input, el("label", { for: fileId, class: "btn btn-secondary" }, "选择 CSV 文件"), fileName),
          el("p", {}, "先点击“检查文件”，系统会逐行检查，不会改动任何数据。"),
          el("div", { class: "actions" }, check), msg, report))),
    el("section", { class: "panel" },
      el("h2", { class: "panel-title" }, "导出"),
      el("p", {}, "把当前的全部部门和人员导出为 CSV 文件，可用 Excel 打开，也可修改后再导入。"),
      el("a", { href: "/api/admin/org/export", class: "btn btn-secondary", download: "organisation.csv" }, "导出组织架构 CSV")));
}
