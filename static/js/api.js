// The one way pages talk to the server.
//
//   import { api, ApiError } from "./api.js";
//   const tree = await api.get("/api/directory/tree");
//   await api.post("/api/admin/departments", { name: "综合处", parent_id: 1 });
//   await api.post("/api/admin/org/import?dry_run=1", file, { raw: true });   // a File/Blob as-is
//   await upload(`/api/incoming/${id}/files`, form, { onProgress: (f) => (bar.value = f) }); // multipart
//
// Every non-GET request carries the X-CSRF-Token header. Errors come back from the server as
// {"error", "message"} with a Chinese message; they are thrown as ApiError, whose .message is that
// Chinese text (show it as it is), .code the machine code, .status the HTTP status, .body the
// whole JSON body (e.g. the per-line `errors` of a CSV import), .retryAfter the seconds an
// overloaded server (503 `overloaded`) asks us to wait before trying again (`Retry-After`), else
// null: retryDelay() says when to retry. A 401 outside /api/auth/ sends the user back to the login page.

export class ApiError extends Error {
  constructor(status, code, message, body = null, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

/**
 * How a refused create or send is tried again: the one description of the policy. retryDelay below
 * applies it, and bench/overload_bench.py reads these numbers for its simulated clients (a test runs
 * both and compares), so the benchmark's crowd retries exactly as this client does.
 *   tries      retries after a network failure or a server error: waits of 1 s, 2 s, ...
 *   busyTries  retries while the server answers 503 `overloaded`
 *   base, cap  an overloaded server is asked again after `base` ms, doubled after each further
 *              refusal, at most `cap` ms; its Retry-After is the floor (it grows while it stays full)
 *   jitter     each of those waits is stretched by up to this fraction at random, so the refused do
 *              not all come back in the same instant
 * With a fixed one-second wait, a crowd refused for half a minute came back every second: the
 * refusals grew with the backlog into a storm that took the server's time from accepted work.
 */
export const RETRY_POLICY = Object.freeze({ tries: 3, busyTries: 8, base: 1000, cap: 30000, jitter: 0.5 });

/**
 * When to send a refused create or send again, with the same client id (so it is stored once): the
 * milliseconds to wait before try number `attempt + 1` (`attempt` counts from 0), or null when it
 * must not be retried: after an overloaded refusal, exponential backoff with jitter from the
 * server's `Retry-After`; after a network failure or a server error (the answer may have been lost)
 * 1 s, 2 s, 3 s; never after any other refusal (4xx), nor once `tries` retries were made (RETRY_POLICY's).
 */
export function retryDelay(err, attempt, { tries, random = Math.random } = {}) {
  const p = RETRY_POLICY;
  const busy = Boolean(err && err.retryAfter);
  if (attempt >= (tries ?? (busy ? p.busyTries : p.tries))) return null;
  if (busy) {
    const backoff = Math.min(p.cap, p.base * 2 ** attempt);
    return Math.round(Math.max(err.retryAfter * 1000, backoff) * (1 + random() * p.jitter));
  }
  if (err && err.status && err.status < 500) return null;
  return 1000 * (attempt + 1);
}

/** The seconds a Retry-After header asks for (a number of seconds; a date is not used here), else null. */
function retryAfterHeader(value) {
  const seconds = Number.parseInt(value || "", 10);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 300) : null;
}

let csrfToken = "";
let onUnauthorized = null;

export function setCsrfToken(token) {
  csrfToken = token || "";
}

/** Called (once per burst) when a request answers 401: the shell shows the login page. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

/**
 * The CSRF token for a state-changing request: the cookie of the newest session (named with the
 * __Host- prefix over HTTPS), else the value /api/me gave (browsers that hide cookies from scripts).
 */
export function csrfHeader() {
  return cookie("__Host-tb_csrf") || cookie("tb_csrf") || csrfToken;
}

/**
 * A fresh idempotency key for one create or send: a retry of the same request carries the same key,
 * so the server stores it once. randomUUID needs a secure context; plain-HTTP deployments fall back.
 */
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether a session cookie pair is present (no CSRF cookie means no session). */
export function hasSessionCookie() {
  return Boolean(cookie("__Host-tb_csrf") || cookie("tb_csrf"));
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

const STATUS_MESSAGES = {
  401: "登录已过期，请重新登录",
  403: "没有权限执行此操作",
  404: "请求的内容不存在",
  413: "提交的内容过大",
  429: "操作过于频繁，请稍后再试",
  500: "服务器内部错误，请联系管理员",
  502: "服务器暂时无法访问，请稍后再试",
  503: "服务器正在维护，请稍后再试",
};

/**
 * request(method, path, {body, query, raw, signal}) -> parsed JSON (or null for 204, or text for
 * non-JSON answers). `raw: true` sends `body` (File, Blob, string) unchanged.
 */
export async function request(method, path, { body, query, raw = false, signal, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers }, signal };
  if (method !== "GET" && method !== "HEAD") {
    // The cookie always belongs to the newest session (a new login replaces it); the value from
    // /api/me is the fallback for browsers that hide the cookie from scripts.
    init.headers["X-CSRF-Token"] = csrfHeader();
  }
  if (body !== undefined) {
    if (raw) {
      init.body = body;
      if (body && body.type) init.headers["Content-Type"] = body.type;
      else if (!init.headers["Content-Type"]) init.headers["Content-Type"] = "application/octet-stream";
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError(0, "network", "网络连接失败，请检查网络后重试");
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (response.status !== 204) {
    data = type.includes("application/json") ? await response.json().catch(() => null) : await response.text();
  }
  if (response.ok) return data;
  throw failure(response.status, data && typeof data === "object" ? data : null, path,
    response.headers.get("retry-after"));
}

/** The ApiError for a refused request; a 401 outside /api/auth/ also tells the shell. */
function failure(status, json, path, retryAfter = null) {
  const error = new ApiError(
    status,
    (json && json.error) || `http_${status}`,
    (json && json.message) || STATUS_MESSAGES[status] || `请求失败（状态 ${status}）`,
    json,
    status === 503 ? retryAfterHeader(retryAfter) : null,
  );
  if (status === 401 && !path.startsWith("/api/auth/") && onUnauthorized) onUnauthorized(error);
  return error;
}

/**
 * upload(path, form, {onProgress, signal}) -> the JSON answer, or a Blob when the server answers
 * with a file. ``form`` is a FormData, or a File sent as its "file" field. XMLHttpRequest rather than
 * fetch because only it reports upload progress: onProgress(fraction) from 0 to 1. Refusals are
 * thrown as ApiError, exactly as request() does; an abort through ``signal`` as an AbortError.
 */
export function upload(path, form, { onProgress, signal } = {}) {
  let body = form;
  if (!(form instanceof FormData)) {
    body = new FormData();
    body.append("file", form, form.name);
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.responseType = "blob";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrfHeader());
    if (onProgress) {
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
    }
    xhr.addEventListener("load", async () => {
      const isJson = (xhr.getResponseHeader("content-type") || "").includes("application/json");
      const json = isJson ? await xhr.response.text().then(JSON.parse).catch(() => null) : null;
      if (xhr.status >= 200 && xhr.status < 300) resolve(isJson ? json : xhr.response);
      else reject(failure(xhr.status, json, path, xhr.getResponseHeader("retry-after")));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "网络连接失败，请检查网络后重试")));
    xhr.addEventListener("abort", () => reject(new DOMException("上传已取消", "AbortError")));
    if (signal) {
      if (signal.aborted) { reject(new DOMException("上传已取消", "AbortError")); return; }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
}

export const api = {
  request,
  get: (path, opts = {}) => request("GET", path, opts),
  post: (path, body, opts = {}) => request("POST", path, { ...opts, body }),
  put: (path, body, opts = {}) => request("PUT", path, { ...opts, body }),
  patch: (path, body, opts = {}) => request("PATCH", path, { ...opts, body }),
  del: (path, opts = {}) => request("DELETE", path, opts),
  upload,
};
