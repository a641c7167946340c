// The JSON API, called with relative URLs (so the dashboard works behind any host and port)
// and the signed-in organisation's bearer token, kept in sessionStorage for this tab only.

const TOKEN_KEY = "groundshare.token";
const API_ROOT = new URL("../", document.baseURI); // the dashboard lives at <root>/dashboard/
const PAGE_LIMIT = 500; // the API's largest page

export class ApiError extends Error {
  /** `details`: the API's error items [{loc, msg, type}] (empty when the body was not the API's). */
  constructor(status, message, details = []) {
    super(message);
    this.status = status;
    this.details = details;
  }

  /** The API's own words: each item's message, with the field it names ("body.window_end: ..."). */
  get reasons() {
    return this.details.map((d) => {
      const loc = (d.loc || []).filter((part) => part !== "body").join(".");
      return loc ? `${loc}: ${d.msg}` : d.msg;
    });
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** GET `path` (with `params`) and return its JSON; raise ApiError with the API's own message. */
export async function get(path, params = {}, bearer = token()) {
  return (await fetchOk(path, params, bearer)).json();
}

/** GET `path` and return its body as a Blob (a file to download); raise ApiError as `get` does. */
export async function getBlob(path, params = {}, bearer = token()) {
  return (await fetchOk(path, params, bearer)).blob();
}

/**
 * GET `path` as a file to download: {blob, name}, `name` being the file name of the answer's
 * Content-Disposition (null when it gives none); raise ApiError as `get` does.
 */
export async function getFile(path, params = {}, bearer = token()) {
  const response = await fetchOk(path, params, bearer);
  return { blob: await response.blob(), name: dispositionName(response.headers.get("Content-Disposition")) };
}

/** The file name of a Content-Disposition header (RFC 6266: `filename*=UTF-8''...` first, else `filename`). */
function dispositionName(header) {
  if (!header) return null;
  const encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (encoded) {
    try {
      return decodeURIComponent(encoded[1].trim());
    } catch { /* not percent-encoded as it should be: the plain name below */ }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  if (!plain) return null;
  return (plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : plain[2].trim()) || null;
}

/**
 * Send `body` (JSON; omitted when undefined) with `method` to `path` and return the answer's JSON
 * (null for 204); raise ApiError with the API's own message and items.
 * `bodyText`: send this text as-is instead (e.g. an element set), with its content type.
 */
export async function send(method, path, body = undefined, { params = {}, bodyText, contentType } = {}) {
  const headers = {};
  let payload;
  if (bodyText !== undefined) {
    payload = bodyText;
    headers["Content-Type"] = contentType || "text/plain";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetchOk(path, params, token(), { method, headers, body: payload });
  return response.status === 204 ? null : response.json();
}

async function fetchOk(path, params, bearer, init = {}) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { ...(init.headers || {}), ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) };
  const response = await fetch(url, { ...init, headers });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let details = [];
    try {
      const answer = await response.json();
      details = Array.isArray(answer.detail) ? answer.detail
        : answer.detail ? [{ loc: [], msg: String(answer.detail), type: "" }] : [];
      const detail = details.map((d) => d.msg).join("; ");
      if (detail) message = `${message}: ${detail}`;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, `${init.method || "GET"} ${url.pathname}${url.search} failed (${message})`,
      details);
  }
  return response;
}

/** Return every row of a paged listing ({data, count}), page by page. */
export async function getAll(path, params = {}) {
  const rows = [];
  for (;;) {
    const page = await get(path, { ...params, limit: PAGE_LIMIT, offset: rows.length });
    rows.push(...page.data);
    if (page.data.length === 0 || rows.length >= page.count) return rows;
  }
}

/** ISO 8601 UTC with Z, to the second, as the API takes it. */
export function iso(date) {
  return new Date(Math.round(date.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** "2025-11-07 04:12:30 UTC" */
export function utcText(date, seconds = true) {
  const text = date.toISOString().replace("T", " ");
  return `${text.slice(0, seconds ? 19 : 16)} UTC`;
}

export function bytesText(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}
