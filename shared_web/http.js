// Virtual Window — HTTP for every page: one fetch that speaks the contract's error shape.
//
// The server answers errors as {"error": {"code", "message"}} with a 4xx/5xx status
// (docs/contract.md); request() throws them as an HttpError {code, message, status}, and
// turns a network failure or a time-out into the same shape, so a page handles one kind
// of failure and errors.js can show any of them.

export class HttpError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const TIMEOUT_MS = 20_000;

/**
 * fetch `path` and resolve its JSON body (or a Blob with `as: "blob"`).
 * `token`: sent as a Bearer token; `json`: sent as the JSON body (else `body` as it is);
 * `timeoutMs`: the request is abandoned after this long (uploads pass more).
 */
export async function request(path, { method = "GET", token, json, body, headers, timeoutMs = TIMEOUT_MS, as = "json" } = {}) {
  const head = { Accept: "application/json", ...headers };
  if (token) head.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    head["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let r;
  try {
    r = await fetch(path, { method, headers: head, body, signal: abort.signal });
    if (!r.ok) {
      const err = (await r.json().catch(() => ({}))).error || {};
      throw new HttpError(err.code || `http_${r.status}`, err.message || r.statusText, r.status);
    }
    return as === "blob" ? await r.blob() : await r.json().catch(() => ({}));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (abort.signal.aborted) throw new HttpError("timeout", `No answer from the server to ${method} ${path}`);
    throw new HttpError("network_error", err.message || String(err));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /api/config once per page ({} when it cannot be read: the pages work without ICE servers),
 * and again once its TURN credentials are about to expire (`ice_expires_at`, unix seconds).
 */
let config = null;
let configExpires = Infinity;
export function getConfig() {
  if (config && Date.now() / 1000 > configExpires - 300) config = null;
  if (!config) {
    config = request("/api/config").catch(() => ({}));
    config.then((c) => { configExpires = (c && c.ice_expires_at) || Infinity; });
  }
  return config;
}
