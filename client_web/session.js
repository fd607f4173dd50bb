// Virtual Window — the caller page's current session: its number (the short reference,
// `XH-20261202-0042`; the id for a session without one), its call token, and the server's
// events about it.
//
// Every session event carries the session's call_id; `on` hands a handler only the events of
// the current session, so no handler filters by id itself. The token is kept per tab, so a
// reload or a network blip resumes the session (connect with `auth: {resume: token}`).

const TOKEN_KEY = "vw.caller.call";
const REFERENCE_KEY = "vw.caller.reference";

export class CallSession {
  constructor() {
    this.id = null;
    this.token = null;
    this.reference = null;
    this.socket = null;
    try {
      this.token = sessionStorage.getItem(TOKEN_KEY);
      this.reference = sessionStorage.getItem(REFERENCE_KEY);
    } catch (_) { /* storage disabled */ }
    this.resuming = !!this.token; // the server will say where the kept session stands
  }

  /** The socket's auth: resume the kept session, if any. */
  get auth() {
    return this.token ? { resume: this.token } : {};
  }

  /** The session is `id` now (call:request answered, or a transfer: new number, new token). */
  begin(id, token, reference) {
    this.id = id;
    this.reference = reference || null;
    this._keep(token || null);
  }

  /** What the caller is shown and asked to keep: the reference, else the id. */
  get number() {
    return this.reference || this.id;
  }

  /** The session ended or cannot be resumed: reconnects start afresh (its number stays shown). */
  forget() {
    this.resuming = false;
    if (this.socket) this.socket.auth = {};
    try {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(REFERENCE_KEY);
    } catch (_) { /* storage disabled */ }
  }

  /** A new call: no session at all. */
  reset() {
    this.forget();
    this.id = null;
    this.token = null;
    this.reference = null;
  }

  _keep(token) {
    this.token = token;
    if (!token) return;
    if (this.socket) this.socket.auth = this.auth;
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
      if (this.reference) sessionStorage.setItem(REFERENCE_KEY, this.reference);
    } catch (_) { /* storage disabled */ }
  }

  /** Call `handler(msg)` for the S→C `event`s of the current session (all of them before it has a number). */
  on(event, handler) {
    this.socket.on(event, (msg) => {
      if (msg && (!this.id || !msg.call_id || msg.call_id === this.id)) handler(msg);
    });
  }
}
