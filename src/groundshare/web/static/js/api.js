// The JSON API, called with relative URLs (so the dashboard works behind any host and port)
// and the signed-in organisation's bearer token, kept in sessionStorage for this tab only.

const TOKEN_KEY = "groundshare.token";
const API_ROOT = new URL("../", document.baseURI); // the dashboard lives at <root>/dashboard/
const PAGE_LIMIT = 500; // the API's largest page

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
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

async function fetchOk(path, params, bearer) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const response = await fetch(url, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
      if (detail) message = `${message}: ${detail}`;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(response.status, `GET ${url.pathname}${url.search} failed (${message})`);
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
