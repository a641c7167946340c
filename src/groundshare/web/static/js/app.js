// The dashboard's shell: sign-in, the shared context (who, what they may see, the clock),
// hash routes and the nav bar.  Each page module exports render(root, ctx, visit): it draws
// into `root` (its own element, detached when the user moves on), checks `visit.live` after
// each await and registers what to stop with `visit.onLeave` (ui.js).

import { ApiError, get, getAll, setToken, token, utcText } from "./api.js";
import * as gnss from "./gnss.js";
import * as book from "./book.js";
import { LANGUAGES, language, loadCatalogue, setLanguage, t, tHtml, translateDocument } from "./i18n.js";
import * as ledger from "./ledger.js";
import * as leop from "./leop.js";
import * as map from "./map.js";
import * as pages from "./pages.js";
import * as plan from "./plan.js";
import * as reports from "./reports.js";
import * as requests from "./requests.js";
import * as satelliteEditor from "./satellite_editor.js";
import * as satellite from "./satellite.js";
import * as sharing from "./sharing.js";
import * as stationEditor from "./station_editor.js";
import * as timeline from "./timeline.js";
import * as tokens from "./tokens.js";
import { esc, showError, Visit } from "./ui.js";

const d3 = window.d3;

const ROUTES = {
  "#/map": map.render,
  "#/timeline": timeline.render,
  "#/ledger": ledger.render,
  "#/reports": reports.render,
  "#/stations": pages.renderStations,
  "#/satellites": pages.renderSatellites,
  "#/gnss": gnss.render,
  "#/passes": book.render,
  "#/requests": requests.render,
  "#/plan": plan.render,
  "#/leop": leop.render,
  "#/sharing": sharing.render,
  "#/tokens": tokens.render,
  "#/stations/new": (root, context, visit) => stationEditor.render(root, context, visit, null),
  "#/satellites/new": (root, context, visit) => satelliteEditor.render(root, context, visit, null),
};
// Pages of one thing, by id: the pattern of their hash, and the nav entry they belong to.
const ITEM_ROUTES = [
  { pattern: /^#\/satellites\/(\d+)$/, nav: "#/satellites",
    render: (root, context, visit, match) => satellite.render(root, context, visit, Number(match[1])) },
  { pattern: /^#\/satellites\/(\d+)\/edit$/, nav: "#/satellites",
    render: (root, context, visit, match) => satelliteEditor.render(root, context, visit, Number(match[1])) },
  { pattern: /^#\/leop\/(\d+)$/, nav: "#/leop",
    render: (root, context, visit, match) => leop.render(root, context, visit, Number(match[1])) },
  { pattern: /^#\/stations\/(\d+)\/edit$/, nav: "#/stations",
    render: (root, context, visit, match) => stationEditor.render(root, context, visit, Number(match[1])) },
];

/** The page of `hash`: {hash, nav, render(root, ctx, visit)}, or null for a hash that names none. */
function resolve(hash) {
  if (ROUTES[hash]) return { hash, nav: hash.replace(/\/new$/, ""), render: ROUTES[hash] };
  for (const item of ITEM_ROUTES) {
    const match = item.pattern.exec(hash);
    if (match) return { hash, nav: item.nav, render: (root, context, visit) => item.render(root, context, visit, match) };
  }
  return null;
}

const main = document.getElementById("main");
let ctx = null; // the signed-in context; null when signed out
let visit = null; // the page shown now; null on the sign-in form

/**
 * The network's clock (GET /clock): the server's `now` when it was read, then running at the
 * wall clock's pace (a monotonic timer, so a change of this computer's clock moves nothing).
 * Mode "shifted": the network runs at an anchor away from the wall clock (the demo's data).
 */
class Clock {
  constructor(body) {
    this.mode = body.mode;
    this.message = body.message || "";
    this.offsetS = Number(body.offset_s) || 0;
    this.dataEpoch = body.data_epoch ? new Date(body.data_epoch) : null;
    this.base = new Date(body.now).getTime();
    this.readAt = performance.now();
  }

  now() {
    return new Date(this.base + (performance.now() - this.readAt));
  }
}

async function loadClock() {
  try {
    return new Clock(await get("/clock"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {  // an API without /clock: live wall clock
      return new Clock({ now: new Date().toISOString(), mode: "live", message: "" });
    }
    throw error;
  }
}

/** Everything the pages share: the caller, organisations and their colours, stations, antennas, satellites. */
async function loadContext() {
  const [me, orgs, stations, satellites, clock] = await Promise.all([
    get("/orgs/me"), getAll("/orgs"), getAll("/stations"), getAll("/satellites"), loadClock()]);
  const antennaLists = await Promise.all(stations.map((s) => get(`/stations/${s.id}/antennas`)));
  const antennas = new Map();
  stations.forEach((station, i) => {
    for (const antenna of antennaLists[i].data) antennas.set(antenna.id, { ...antenna, station });
  });
  orgs.sort((a, b) => a.id - b.id);
  const palette = d3.schemeTableau10;
  const colours = new Map(orgs.map((org, i) => [org.id, palette[i % palette.length]]));
  const listeners = new Set();
  const context = {
    me, clock, stations, antennas,
    orgs: new Map(orgs.map((org) => [org.id, org])),
    satellites: new Map(satellites.map((s) => [s.id, s])),
    orgColour: (id) => colours.get(id) || "#777",
    orgName: (id) => context.orgs.get(id)?.name || `organisation ${id}`,
    time: clock.now(), // the time the map shows (play, pause, jump)
    setTime(date) {
      context.time = date;
      for (const fn of listeners) fn(date);
    },
    onTime(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return context;
}

const DAY_S = 86_400;

/** The banner of a shifted network clock (the demo's data): how far from the wall clock, in words. */
function showBanner() {
  const banner = document.getElementById("demo-banner");
  const shifted = Boolean(ctx) && ctx.clock.mode === "shifted";
  banner.hidden = !shifted;
  if (!shifted) {
    banner.replaceChildren();
    return;
  }
  const offset = Math.abs(ctx.clock.offsetS);
  const amount = offset >= DAY_S ? t("shell.banner.days", { n: Number((offset / DAY_S).toFixed(1)) })
    : t("shell.banner.seconds", { n: Math.round(offset) });
  banner.innerHTML = esc(t(ctx.clock.offsetS < 0 ? "shell.banner.behind" : "shell.banner.ahead", { amount }));
}

let clockTimer = null;

/** The header's clock: the network's time (ctx.clock), written each second. */
function runClock() {
  const shown = document.getElementById("net-clock");
  clearInterval(clockTimer);
  clockTimer = null;
  shown.hidden = !ctx;
  if (!ctx) return;
  const tick = () => {
    if (!ctx) return;
    const now = ctx.clock.now();
    shown.textContent = utcText(now);
    shown.dateTime = now.toISOString();
  };
  tick();
  clockTimer = setInterval(tick, 1000);
}

/** End the page shown (its pending renders then write nowhere) and stop its timers. */
function leavePage() {
  if (visit) visit.end();
  visit = null;
}

function showWho() {
  document.getElementById("org-name").innerHTML = ctx
    ? tHtml("shell.who", { org: ctx.me.org.name, role: { html: esc(t(`shell.role.${ctx.me.role}`)) } }) : "";
  document.getElementById("sign-out").hidden = !ctx;
  document.getElementById("nav-links").hidden = !ctx;
  // Entries for one role only (data-role): shown to that role; the API refuses the others anyway.
  for (const item of document.querySelectorAll("#nav-links [data-role]")) item.hidden = !ctx || ctx.me.role !== item.dataset.role;
}

function renderSignIn(message = "") {
  main.innerHTML = `
    <section class="panel signin" aria-labelledby="signin-title">
      <h1 id="signin-title">${esc(t("shell.signin.title"))}</h1>
      <p>${tHtml("shell.signin.intro", { create: { html: "<code>groundshare admin create-token</code>" },
        demo: { html: "<code>groundshare demo load</code>" } })}</p>
      <form id="signin-form">
        <p><label for="token-input">${esc(t("shell.signin.token"))}</label><br>
          <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required></p>
        <p><button type="submit" class="primary">${esc(t("shell.signin.submit"))}</button></p>
        <p id="signin-message" class="muted" role="status"></p>
      </form>
    </section>`;
  document.getElementById("signin-message").textContent = message;
  document.getElementById("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = document.getElementById("token-input").value.trim();
    const status = document.getElementById("signin-message");
    status.textContent = t("shell.signin.checking");
    try {
      await get("/orgs/me", {}, value);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) status.textContent = t("shell.signin.refused");
      else status.innerHTML = tHtml("shell.signin.failed", { reason: error.message });
      return;
    }
    setToken(value);
    await start("#/map");
  });
  document.getElementById("token-input").focus();
}

function signOut() {
  setToken(null);
  ctx = null;
  leavePage();
  showWho();
  showBanner();
  runClock();
  showError(null);
  if (location.hash !== "#/signin") history.replaceState(null, "", "#/signin");
  renderSignIn(t("shell.signin.signed_out"));
}

async function route() {
  leavePage();
  showError(null);
  if (!ctx) {
    renderSignIn();
    return;
  }
  const page = resolve(location.hash) || resolve("#/map");
  if (page.hash !== location.hash) history.replaceState(null, "", page.hash);
  for (const link of document.querySelectorAll("#nav-links a")) {
    if (link.getAttribute("href") === page.nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = document.createElement("div");
  root.className = "page";
  main.replaceChildren(root);
  const current = new Visit(root);
  visit = current;
  try {
    const cleanup = await page.render(root, ctx, current);
    if (typeof cleanup === "function") current.onLeave(cleanup);
  } catch (error) {
    if (!current.live) return; // the user has moved on: an old page's failure is not theirs to see
    if (error instanceof ApiError && error.status === 401) signOut();
    else showError(error);
  }
}

async function start(hash) {
  try {
    ctx = await loadContext();
  } catch (error) {
    ctx = null;
    setToken(null);
    showWho();
    renderSignIn(error instanceof ApiError && error.status === 401 ? t("shell.signin.expired") : error.message);
    return;
  }
  showWho();
  showBanner();
  runClock();
  if (location.hash !== hash) location.hash = hash; // the hashchange event routes
  else await route();
}

/** The header's language menu: the languages of i18n.js; a change redraws the page shown. */
function setUpLanguages() {
  const select = document.getElementById("lang-select");
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => new Option(name, code)));
  select.value = language();
  document.documentElement.lang = language();
  select.addEventListener("change", () => {
    setLanguage(select.value);
    showWho();
    showBanner();
    if (ctx) route();
    else renderSignIn();
  });
}

await loadCatalogue();
translateDocument();
setUpLanguages();
document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { if (ctx || location.hash !== "#/signin") route(); });

if (token()) start(resolve(location.hash) ? location.hash : "#/map");
else {
  history.replaceState(null, "", "#/signin");
  renderSignIn();
}
