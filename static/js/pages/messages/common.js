// What the 消息 modules share: the API prefix, page size, the reactions offered, times, errors and
// the small link-style button used in message bars.
import { el, toast } from "../../ui.js";
import { beijingDate, beijingHm, beijingParts } from "../../time.js";

export const P = "/api/messages";
export const PAGE = 40;
export const RECALL_MS = 120_000; // messaging.config recall_seconds
export const SOURCES = { docs_flow: "公文", meetings: "会议", esign: "签章" }; // who sent a 工作通知
// The reactions offered under a message (the server takes any short string; these are the set the
// page offers), drawn with the colour emoji font the setup installs (fonts-noto-color-emoji).
export const REACTIONS = [["👍", "赞"], ["✅", "收到"], ["🙏", "感谢"], ["👏", "鼓掌"], ["😄", "开心"], ["🌹", "鲜花"]];

export function reactionLabel(emoji) {
  return (REACTIONS.find(([e]) => e === emoji) || [emoji, emoji])[1];
}

/** "09:30" today, "3月1日 09:30" on other days, in 北京时间 (time.js). */
export function fmtTime(iso) {
  const p = beijingParts(iso);
  if (!p) return "";
  const hm = beijingHm(iso);
  return beijingDate(iso) === beijingDate() ? hm : `${p.month}月${p.day}日 ${hm}`;
}

export function showError(err) {
  if (err && err.name === "AbortError") return;
  toast((err && err.message) || "操作失败，请重试", "error");
}

/** A button that looks like a link (message bars, dialogs). */
export function linkButton(label, onclick, { class: extra, ...attrs } = {}) {
  return el("button", { type: "button", class: ["msg-link-btn", ...[extra].flat()], onclick, ...attrs }, label);
}

export function messageUrl(m) {
  return `${P}/conversations/${m.conversation_id}/messages/${m.seq}`;
}
