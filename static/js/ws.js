// A reconnecting client for the server's event stream (/ws).
//
//   const ws = new EventStream({ userId: me.id });
//   const off = ws.subscribe("message", (frame) => …);   // "message" and "message.*" frames
//   ws.subscribe("*", fn);                                 // every frame
//   ws.subscribe("resync", () => reloadEverything());      // events were missed: reload state
//   ws.start();  …  off();  ws.stop();
//
// Server frames are JSON {"id", "type", ...}. The first frame of each connection is
// {"type": "hello", "last_event_id": N, "resync": bool}. The client remembers the id of the last
// event it delivered in sessionStorage (per user, per tab) and reconnects with
// /ws?last_event_id=N, so the server replays what was missed; frames whose id is not newer than
// that are dropped (replays can overlap live delivery). When the server can no longer replay
// ("resync": true, the events were pruned), subscribers of "resync" are told to reload.
//
// Subscription prefixes match whole dot-separated segments: "doc" matches "doc" and
// "doc.updated", not "document". "*" matches everything. Frames without an id (pong, typing,
// errors) are delivered without dedup. Reconnects back off exponentially (1 s … 30 s, with
// jitter); a ping every 25 s detects dead connections.
//
// Close codes that change that: 1008, the server refused the session (logged out, revoked, password
// changed), and 4401, the session expired (idle or absolute limit): no reconnect, the status
// listener gets {code} and the shell shows the login page. 4429, too many sockets open for this
// login or user: retry only at the longest interval. 4403, the account must set up two-step
// verification first: no reconnect until the page is loaded again after enrolment.

const STORAGE_PREFIX = "tb_ws_last:";
const PING_EVERY = 25_000;
const PONG_TIMEOUT = 10_000;
const MAX_BACKOFF = 30_000;
export const CLOSE_SESSION_EXPIRED = 4401;
export const CLOSE_TOO_MANY = 4429;
export const CLOSE_ENROL_2FA = 4403;

export class EventStream {
  constructor({ userId, url = "/ws", storage = window.sessionStorage } = {}) {
    this.key = STORAGE_PREFIX + (userId ?? "anon");
    this.url = url;
    this.storage = storage;
    this.subs = new Map(); // prefix -> Set<fn>
    this.statusSubs = new Set();
    this.socket = null;
    this.attempt = 0;
    this.running = false;
    this.state = "idle";
    this.timers = { retry: 0, ping: 0, pong: 0 };
    this.lastId = this.readLastId();
    this.onOnline = () => this.reconnectSoon();
  }

  readLastId() {
    try {
      const raw = this.storage.getItem(this.key);
      return raw && /^\d+$/.test(raw) ? Number(raw) : null;
    } catch {
      return null;
    }
  }

  remember(id) {
    if (this.lastId !== null && id <= this.lastId) return;
    this.lastId = id;
    try {
      this.storage.setItem(this.key, String(id));
    } catch {
      /* storage full or disabled: resume will fall back to a fresh start */
    }
  }

  /** Forget the position (on logout), so the next user of this tab starts fresh. */
  forget() {
    this.lastId = null;
    try {
      this.storage.removeItem(this.key);
    } catch {
      /* ignore */
    }
  }

  /** subscribe(prefix, fn, {signal}) -> unsubscribe(). An aborted signal unsubscribes too. */
  subscribe(prefix, fn, { signal } = {}) {
    if (!this.subs.has(prefix)) this.subs.set(prefix, new Set());
    this.subs.get(prefix).add(fn);
    const off = () => this.subs.get(prefix)?.delete(fn);
    if (signal) signal.addEventListener("abort", off, { once: true });
    return off;
  }

  /** onStatus(fn): fn("connecting" | "open" | "closed" | "stopped", detail) on every change. */
  onStatus(fn) {
    this.statusSubs.add(fn);
    return () => this.statusSubs.delete(fn);
  }

  setState(state, detail = {}) {
    this.state = state;
    for (const fn of this.statusSubs) {
      try {
        fn(state, detail);
      } catch (err) {
        console.error(err);
      }
    }
  }

  /** Send a frame (e.g. {"type": "typing", ...}); false when not connected. */
  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.running = false;
    window.removeEventListener("online", this.onOnline);
    this.clearTimers();
    if (this.socket) {
      const s = this.socket;
      this.socket = null;
      s.close(1000, "bye");
    }
    this.setState("stopped");
  }

  clearTimers() {
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
  }

  connect() {
    if (!this.running) return;
    this.clearTimers();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.lastId !== null ? `?last_event_id=${this.lastId}` : "";
    let socket;
    try {
      socket = new WebSocket(`${proto}//${location.host}${this.url}${query}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.setState("connecting");
    socket.addEventListener("message", (e) => this.onMessage(e.data));
    socket.addEventListener("close", (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.timers.ping);
      clearTimeout(this.timers.pong);
      this.setState("closed", { code: e.code, reason: e.reason });
      // The session is over: reconnecting would fail the same way (see the header).
      if (e.code === 1008 || e.code === CLOSE_SESSION_EXPIRED || e.code === CLOSE_ENROL_2FA) return;
      if (e.code === CLOSE_TOO_MANY) this.attempt = Math.max(this.attempt, 5);
      this.scheduleReconnect();
    });
  }

  reconnectSoon() {
    if (!this.running || (this.socket && this.socket.readyState <= WebSocket.OPEN)) return;
    this.attempt = 0;
    this.connect();
  }

  scheduleReconnect() {
    if (!this.running) return;
    const base = Math.min(MAX_BACKOFF, 1000 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  startPing() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.timers.pong);
      this.timers.pong = setTimeout(() => this.socket?.close(4000, "pong timeout"), PONG_TIMEOUT);
    }, PING_EVERY);
  }

  onMessage(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return;
    if (frame.type === "pong") {
      clearTimeout(this.timers.pong);
    }
    if (frame.type === "hello") {
      this.attempt = 0;
      this.startPing();
      this.setState("open", { resync: !!frame.resync });
      if (frame.resync) {
        // The missed events are gone; move to the server's position and let pages reload.
        this.lastId = null;
        if (Number.isInteger(frame.last_event_id)) this.remember(frame.last_event_id);
        this.dispatch({ type: "resync" });
      } else if (this.lastId === null && Number.isInteger(frame.last_event_id)) {
        this.remember(frame.last_event_id);
      }
      this.dispatch(frame);
      return;
    }
    if (Number.isInteger(frame.id)) {
      if (this.lastId !== null && frame.id <= this.lastId) return; // already delivered
      this.remember(frame.id);
    }
    this.dispatch(frame);
  }

  dispatch(frame) {
    for (const [prefix, fns] of this.subs) {
      if (!matches(prefix, frame.type)) continue;
      for (const fn of [...fns]) {
        try {
          fn(frame);
        } catch (err) {
          console.error(`事件处理出错（${frame.type}）`, err);
        }
      }
    }
  }
}

export function matches(prefix, type) {
  if (prefix === "*" || prefix === "") return true;
  if (prefix.endsWith(".")) return type.startsWith(prefix);
  return type === prefix || type.startsWith(prefix + ".");
}
