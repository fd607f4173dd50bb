// Virtual Window — the caller page's current session: its number, its call token, and the
// server's events about it.
//
// Every session event carries the session's call_id; `on` hands a handler only the events of
// the current session, so no handler filters by id itself. The token is kept per tab, so a
// reload or a network blip resumes the session (connect with `auth: {resume: token}`).

const TOKEN_KEY = "vw.caller.call";

export class CallSession {
  constructor() {
    this.id = null;
    this.token = null;
    this.socket = null;
    try { this.token = sessionStorage.getItem(TOKEN_KEY); } catch (_) { /* storage disabled */ }
    this.resuming = !!this.token; // the server will say where the kept session stands
  }

  /** The socket's auth: resume the kept session, if any. */
  get auth() {
    return this.token ? { resume: this.token } : {};
  }

  /** The session is `id` now (call:request answered, or a transfer: new number, new token). */
  begin(id, token) {
    this.id = id;
    this._keep(token || null);
  }

  /** The session ended or cannot be resumed: reconnects start afresh (its number stays shown). */
  forget() {
    this.resuming = false;
    if (this.socket) this.socket.auth = {};
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* storage disabled */ }
  }

  /** A new call: no session at all. */
  reset() {
    this.forget();
    this.id = null;
    this.token = null;
  }

  _keep(token) {
    this.token = token;
    if (!token) return;
    if (this.socket) this.socket.auth = this.auth;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_) { /* storage disabled */ }
  }

  /** Call `handler(msg)` for the S→C `event`s of the current session (all of them before it has a number). */
  on(event, handler) {
    this.socket.on(event, (msg) => {
      if (msg && (!this.id || !msg.call_id || msg.call_id === this.id)) handler(msg);
    });
  }
}
