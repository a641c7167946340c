// The timeline: one row per antenna, the contacts in a window as bars coloured by the
// booking organisation, a live "now" line (the network's clock, moved each second), the
// caller's open requests that overlap the window, and a contact's details (sky plot, link
// along the pass, element set, outcome, and the frames and files that came home: frames.js)
// on click or Enter.  Each contact says how old the orbit it is flown on is (its satellite's
// orbit in force: age.js), in its label and in its details.
//
// The window scrolls sideways (at least MIN_PX_PER_HOUR); it follows now (keeps the now line
// a quarter of the way in) until the user scrolls or drags it away, then "Back to now" returns.
// Drawing is measured: performance.measure("timeline-draw") runs from the page's navigation
// to the first window drawn, "timeline-gantt" over each drawing of the chart alone.

import { ageBadge, ageSentence, ageState, contactAge, refreshSatellites } from "./age.js";
import { ApiError, bytesText, get, getAll, iso, utcText } from "./api.js";
import { renderContactData } from "./frames.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, fillLegend, readUtc, utcInputHtml } from "./ui.js";

const d3 = window.d3;

const RIGHT_PAD = 28; // room for the last tick's label
const LABEL_W = 190;
const PHONE_LABEL_W = 112;
const ROW_H = 26;
const AXIS_H = 26;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MIN_PX_PER_HOUR = 24;
const TICK_SPACING_PX = 64;
const NOW_AT = 0.25; // where the now line sits in the visible part while following
const STATUSES = ["scheduled", "in_progress", "completed", "failed", "cancelled"];

function utcDay(date) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

function hhmm(date) {
  return date.toISOString().slice(11, 16);
}

/** A contact's status in words (the API's word when it is one this page does not know). */
export function statusText(status) {
  return STATUSES.includes(status) ? t(`timeline.status.${status}`) : status;
}

/** The start typed in a time field: ISO UTC ("2025-11-07T00:00Z"), or a bare UTC day ("2025-11-07"). */
function readStart(text) {
  return readUtc(text) ?? readUtc(`${String(text ?? "").trim()}T00:00Z`);
}

const WINDOW_KEY = "groundshare.timeline"; // the window chosen last in this tab: {start (ISO), days}
const DAY_CHOICES = [1, 2, 3, 7];

/** The window chosen last in this tab ({start: Date, days}), or null. */
function savedWindow() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(WINDOW_KEY) || "null");
    const start = saved && readUtc(saved.start);
    return start && DAY_CHOICES.includes(saved.days) ? { start, days: saved.days } : null;
  } catch {
    return null;
  }
}

function saveWindow(start, days) {
  try {
    sessionStorage.setItem(WINDOW_KEY, JSON.stringify({ start: iso(start), days }));
  } catch { /* not kept: the next visit opens on now */ }
}

/** The UTC day the view opens on: that of the next contact still to end after now, else now's. */
async function firstDay(ctx) {
  const now = ctx.clock.now();
  const next = await get("/contacts", { start: iso(now), limit: 1 });
  return utcDay(next.data.length ? new Date(next.data[0].start) : now);
}

export async function render(root, ctx, visit) {
  const opened = performance.now();
  const saved = savedWindow();
  const day = saved ? saved.start : await firstDay(ctx);
  const days = saved ? saved.days : 2;
  if (!visit.live) return;
  root.innerHTML = `
    <h1>${esc(t("timeline.title"))}</h1>
    <section class="panel" aria-label="${esc(t("timeline.window_label"))}">
      <form class="controls" id="tl-form" novalidate>
        <span class="field">${utcInputHtml("tl-start", t("timeline.from"), day)}</span>
        <label>${esc(t("timeline.days"))} <select id="tl-days">${DAY_CHOICES.map((n) =>
          `<option value="${n}"${n === days ? " selected" : ""}>${n}</option>`).join("")}</select></label>
        <button type="submit">${esc(t("timeline.show"))}</button>
        <button type="button" id="tl-now" hidden>${esc(t("timeline.back_to_now"))}</button>
        <span id="tl-follow" class="muted" hidden>${esc(t("timeline.following"))}</span>
        <p id="tl-error" role="alert" class="form-error" hidden></p>
      </form>
      <p id="tl-summary" class="muted" role="status"></p>
      <div class="gantt-frame" id="tl-gantt"></div>
      <ul class="legend" id="tl-legend" aria-label="${esc(t("timeline.legend_label"))}"></ul>
    </section>
    <section class="panel" id="tl-unserved" aria-labelledby="tl-unserved-title"></section>
    <section class="panel" id="contact-details" aria-live="polite" hidden></section>`;

  const view = { start: null, end: null, x: null, following: true, autoLeft: null, drawn: false };
  let latest = 0; // a window asked for later wins over an earlier answer still on its way
  async function show() {
    const ask = ++latest;
    const error = visit.el("tl-error");
    const startDay = readStart(visit.el("tl-start").value);
    if (!startDay) {
      error.textContent = t("timeline.bad_start");
      error.hidden = false;
      return;
    }
    error.hidden = true;
    const end = new Date(startDay.getTime() + Number(visit.el("tl-days").value) * DAY_MS);
    const [contacts, requests] = await Promise.all([
      getAll("/contacts", { start: iso(startDay), end: iso(end) }),
      getAll("/requests", { status: "open" }),
      refreshSatellites(ctx), // the orbits in force and their ages, as of now
    ]);
    if (!visit.live || ask !== latest) return;
    const drawing = performance.now();
    Object.assign(view, { start: startDay, end, x: drawGantt(ctx, visit, startDay, end, contacts), autoLeft: null });
    drawUnserved(ctx, visit, startDay, end, contacts, requests);
    const now = ctx.clock.now();
    view.following = now >= startDay && now < end;
    follow();
    performance.measure("timeline-gantt", { start: drawing, end: performance.now() });
    if (!view.drawn) {
      view.drawn = true;
      performance.measure("timeline-draw", { start: opened, end: performance.now() });
    }
  }

  /** Move the now line to the network's now, and keep it in view while following. */
  function follow() {
    const scroller = visit.root.querySelector(".gantt-scroll");
    if (!scroller || !view.x) return;
    const now = ctx.clock.now();
    const inside = now >= view.start && now < view.end;
    const line = d3.select(scroller).select(".now-line");
    line.attr("display", inside ? null : "none");
    if (inside) {
      line.attr("x1", view.x(now)).attr("x2", view.x(now));
      line.select("title").text(t("timeline.now_title", { time: utcText(now) }));
    }
    // The user scrolled since our last move and its scroll event is not dispatched yet: that is the user's
    // choice, not ours to undo (the event, when it comes, would then look like our own move).
    if (view.following && view.autoLeft !== null && Math.abs(scroller.scrollLeft - view.autoLeft) > 1) {
      view.following = false;
    }
    if (view.following && inside) {
      const left = Math.max(0, Math.round(view.x(now) - scroller.clientWidth * NOW_AT));
      view.autoLeft = Math.min(left, scroller.scrollWidth - scroller.clientWidth);
      scroller.scrollLeft = view.autoLeft;
    }
    visit.el("tl-now").hidden = view.following && inside;
    visit.el("tl-follow").hidden = !(view.following && inside);
  }

  function stopFollowing() {
    if (!view.following) return;
    view.following = false;
    follow();
  }

  const tick = setInterval(() => {
    if (!view.x) return;
    if (view.following && ctx.clock.now() >= view.end) { // now has left the window: the window moves on
      visit.el("tl-start").value = iso(utcDay(ctx.clock.now()));
      visit.guard(show)();
      return;
    }
    follow();
  }, 1000);
  visit.onLeave(() => clearInterval(tick));

  const frame = visit.el("tl-gantt");
  frame.addEventListener("scroll", (event) => {
    const scroller = event.target;
    if (!scroller.classList?.contains("gantt-scroll")) return;
    if (view.autoLeft !== null && Math.abs(scroller.scrollLeft - view.autoLeft) <= 1) return; // our own move
    view.autoLeft = null;
    stopFollowing();
  }, true);
  panByDragging(frame, stopFollowing);

  visit.el("tl-now").addEventListener("click", visit.guard(async () => {
    const now = ctx.clock.now();
    view.following = true;
    if (!(view.start && now >= view.start && now < view.end)) {
      visit.el("tl-start").value = iso(utcDay(now));
      await show();
    }
    follow();
  }));
  visit.el("tl-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const start = readStart(visit.el("tl-start").value);
    if (start) saveWindow(start, Number(visit.el("tl-days").value));
    visit.guard(show)();
  });
  await show();
}

/** Drag the chart sideways with a mouse (touch scrolls natively); `moved` is called once a drag moves it. */
function panByDragging(frame, moved) {
  let drag = null;
  frame.addEventListener("pointerdown", (event) => {
    const scroller = event.target.closest?.(".gantt-scroll");
    if (!scroller || event.pointerType !== "mouse" || event.button !== 0 || event.target.closest(".contact-bar")) return;
    drag = { scroller, x: event.clientX, left: scroller.scrollLeft, id: event.pointerId };
    scroller.setPointerCapture(event.pointerId);
    scroller.classList.add("panning");
  });
  frame.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const dx = event.clientX - drag.x;
    if (Math.abs(dx) < 2) return;
    moved();
    drag.scroller.scrollLeft = drag.left - dx;
  });
  const end = (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    drag.scroller.classList.remove("panning");
    drag = null;
  };
  frame.addEventListener("pointerup", end);
  frame.addEventListener("pointercancel", end);
}

function satelliteName(ctx, id) {
  const satellite = ctx.satellites.get(id);
  return satellite ? satellite.name : `#${id}`;
}

function antennaName(ctx, id) {
  const antenna = ctx.antennas.get(id);
  return antenna ? `${antenna.station.name} / ${antenna.name}` : `#${id}`;
}

/** The hours between ticks: the smallest of 1, 2, 3, 6, 12, 24 that leaves TICK_SPACING_PX between labels. */
function tickHours(pxPerHour) {
  return [1, 2, 3, 6, 12, 24].find((h) => h * pxPerHour >= TICK_SPACING_PX) ?? 24;
}

function axisFormat(d) {
  return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? d3.utcFormat("%m-%d")(d) : d3.utcFormat("%H:%M")(d);
}

/**
 * Draw the chart: the antennas' names in a column that stays put, the bars in a part that
 * scrolls sideways.  Returns the time scale (for the now line).
 */
function drawGantt(ctx, visit, start, end, contacts) {
  const antennaIds = [...new Set([...ctx.antennas.keys(), ...contacts.map((c) => c.antenna_id)])]
    .sort((a, b) => antennaName(ctx, a).localeCompare(antennaName(ctx, b)));
  const holder = visit.el("tl-gantt");
  const available = Math.max(240, holder.clientWidth || 960);
  const labelW = available < 600 ? PHONE_LABEL_W : LABEL_W;
  const hours = (end - start) / HOUR_MS;
  const visible = available - labelW - 2;
  const width = Math.max(visible, Math.ceil(hours * MIN_PX_PER_HOUR) + RIGHT_PAD);
  const height = AXIS_H + antennaIds.length * ROW_H + 6;
  const x = d3.scaleUtc().domain([start, end]).range([20, width - RIGHT_PAD]);
  const y = new Map(antennaIds.map((id, i) => [id, AXIS_H + i * ROW_H]));
  holder.replaceChildren();
  const frame = d3.select(holder);

  const labels = frame.append("svg").attr("class", "gantt-labels").attr("width", labelW).attr("height", height)
    .attr("viewBox", `0 0 ${labelW} ${height}`).attr("aria-hidden", "true");
  const maxChars = Math.floor((labelW - 8) / 6.6);
  labels.append("g").attr("translate", "no").selectAll("text").data(antennaIds).join("text").attr("class", "row-label")
    .attr("x", 4).attr("y", (id) => y.get(id) + ROW_H / 2 + 4).text((id) => clipped(antennaName(ctx, id), maxChars))
    .append("title").text((id) => antennaName(ctx, id));

  const scroller = frame.append("div").attr("class", "gantt-scroll");
  const svg = scroller.append("svg").attr("class", "gantt").attr("width", width).attr("height", height)
    .attr("viewBox", `0 0 ${width} ${height}`).attr("role", "group")
    .attr("aria-label", t("timeline.chart_label", { start: utcText(start, false), end: utcText(end, false) }));
  svg.append("g").selectAll("rect").data(antennaIds).join("rect").attr("class", "row-bg")
    .attr("x", 0).attr("width", width).attr("y", (id) => y.get(id) + 2).attr("height", ROW_H - 4);
  const axis = d3.axisTop(x).ticks(d3.utcHour.every(tickHours((width - RIGHT_PAD) / hours))).tickFormat(axisFormat);
  svg.append("g").attr("class", "axis").attr("translate", "no").attr("transform", `translate(0,${AXIS_H - 4})`).call(axis);
  svg.append("line").attr("class", "now-line").attr("y1", AXIS_H - 4).attr("y2", height).attr("display", "none")
    .append("title");
  const shown = contacts.filter((c) => y.has(c.antenna_id));
  const bars = svg.append("g").selectAll("rect").data(shown).join("rect")
    .attr("class", (c) => `contact-bar ${c.status}`)
    .attr("x", (c) => x(Math.max(new Date(c.start), start)))
    .attr("width", (c) => Math.max(2.5, x(Math.min(new Date(c.end), end)) - x(Math.max(new Date(c.start), start))))
    .attr("y", (c) => y.get(c.antenna_id) + 4).attr("height", ROW_H - 8)
    .attr("fill", (c) => ctx.orgColour(c.org_id))
    .attr("data-contact-id", (c) => c.id)
    .attr("data-element-state", (c) => ageState(contactAge(ctx, c)))
    .attr("tabindex", 0).attr("role", "button")
    .attr("aria-label", (c) => t("timeline.bar_label", { id: c.id, satellite: satelliteName(ctx, c.satellite_id),
      antenna: antennaName(ctx, c.antenna_id), start: utcText(new Date(c.start), false), end: hhmm(new Date(c.end)),
      status: statusText(c.status), age: ageSentence(contactAge(ctx, c)) }));
  bars.append("title").text((c) => `${satelliteName(ctx, c.satellite_id)} — ${ctx.orgName(c.org_id)}\n` +
    `${utcText(new Date(c.start))} – ${hhmm(new Date(c.end))} (${statusText(c.status)})\n${ageSentence(contactAge(ctx, c))}`);
  const open = (event, c) => {
    svg.selectAll(".contact-bar").classed("selected", (d) => d.id === c.id);
    showDetails(ctx, visit, c).catch((error) => visit.report(error));
  };
  bars.on("click", open).on("keydown", (event, c) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(event, c);
    }
  });
  const owners = [...new Set(contacts.map((c) => c.org_id))].sort((a, b) => a - b);
  fillLegend(visit.el("tl-legend"), owners, ctx);
  visit.el("tl-legend").setAttribute("translate", "no");
  visit.el("tl-summary").textContent = t("timeline.summary", { n: contacts.length, antennas: antennaIds.length,
    start: utcText(start, false), end: utcText(end, false) });
  return x;
}

function drawUnserved(ctx, visit, start, end, contacts, requests) {
  const section = visit.el("tl-unserved");
  const title = `<h2 id="tl-unserved-title">${esc(t("timeline.unserved.title"))}</h2>`;
  const booked = d3.rollup(contacts.filter((c) => c.status !== "cancelled"), (v) => v.length, (c) => c.satellite_id);
  const overlapping = requests.filter((r) => new Date(r.window_start) < end && new Date(r.window_end) > start)
    .sort((a, b) => (booked.get(a.satellite_id) || 0) - (booked.get(b.satellite_id) || 0)); // least served first
  if (!overlapping.length) {
    section.innerHTML = `${title}<p class="muted">${esc(t("timeline.unserved.none"))}</p>`;
    return;
  }
  section.innerHTML = `${title}<p class="muted">${esc(t("timeline.unserved.note"))}</p>`;
  const width = Math.max(280, section.clientWidth - 32 || 960);
  const labelW = width < 600 ? PHONE_LABEL_W : LABEL_W;
  const rowH = 22;
  const height = overlapping.length * rowH + 8;
  const x = d3.scaleUtc().domain([start, end]).range([labelW, width - 8]);
  const svg = d3.select(section).append("svg").attr("class", "unserved-chart").attr("width", width)
    .attr("height", height).attr("viewBox", `0 0 ${width} ${height}`)
    .attr("role", "img").attr("aria-labelledby", "tl-unserved-title");
  const pattern = svg.append("defs").append("pattern").attr("id", "hatch").attr("patternUnits", "userSpaceOnUse")
    .attr("width", 6).attr("height", 6).attr("patternTransform", "rotate(45)");
  pattern.append("rect").attr("width", 6).attr("height", 6).attr("fill", "#fff4d6");
  pattern.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 6).attr("stroke", "#a07800").attr("stroke-width", 2);
  const g = svg.selectAll("g").data(overlapping).join("g").attr("transform", (_, i) => `translate(0,${4 + i * rowH})`);
  const maxChars = Math.floor((labelW - 8) / 6.6);
  g.append("text").attr("class", "row-label").attr("translate", "no").attr("x", 4).attr("y", 14)
    .text((r) => clipped(satelliteName(ctx, r.satellite_id), maxChars))
    .append("title").text((r) => satelliteName(ctx, r.satellite_id));
  const from = (r) => x(Math.max(new Date(r.window_start), start));
  const to = (r) => x(Math.min(new Date(r.window_end), end));
  g.append("rect").attr("class", "unserved-mark").attr("data-request-id", (r) => r.id)
    .attr("x", from).attr("width", (r) => Math.max(2, to(r) - from(r)))
    .attr("y", 2).attr("height", rowH - 5)
    .append("title").text((r) => t("timeline.unserved.request_title", { id: r.id,
      start: utcText(new Date(r.window_start), false), end: utcText(new Date(r.window_end), false),
      duration: r.min_duration_s, elevation: r.min_elevation_deg }));
  const countText = (r) => t("timeline.unserved.count", { n: booked.get(r.satellite_id) || 0 });
  const nearEnd = (r) => from(r) > width - 150;
  g.append("text").attr("class", "unserved-count").attr("y", 15)
    .attr("x", (r) => (nearEnd(r) ? width - 6 : from(r) + 6)).attr("text-anchor", (r) => (nearEnd(r) ? "end" : "start"))
    .text(countText);
}

/** `text` cut to `n` characters with an ellipsis. */
function clipped(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

let detailsAsked = 0; // the contact opened last wins over an earlier one's geometry still on its way

async function showDetails(ctx, visit, contact) {
  const ask = ++detailsAsked;
  const panel = visit.el("contact-details");
  panel.hidden = false;
  panel.dataset.contactId = String(contact.id); // which contact the panel shows (or is loading)
  panel.innerHTML = `<h2>${tHtml("timeline.details.loading_title", { id: contact.id })}</h2>
    <p class="muted">${esc(t("timeline.details.loading"))}</p>`;
  let geometry = null;
  try {
    geometry = await get(`/contacts/${contact.id}/geometry`, { step_s: 5 });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  if (!visit.live || ask !== detailsAsked) return;
  const g = geometry || {};
  const when = (v) => (v ? utcText(new Date(v)) : "—");
  const satellite = g.satellite_name ? `${g.satellite_name} (NORAD ${g.norad_id})` : satelliteName(ctx, contact.satellite_id);
  const place = g.station_name ? `${g.station_name} / ${g.antenna_name}` : antennaName(ctx, contact.antenna_id);
  const data = (text) => `<span translate="no">${esc(text)}</span>`;
  const facts = [
    ["timeline.details.satellite", data(satellite)],
    ["timeline.details.booked_by", data(ctx.orgName(contact.org_id))],
    ["timeline.details.where", data(place)],
    ["timeline.details.window", data(`${when(contact.start)} – ${hhmm(new Date(contact.end))}`)],
    ["timeline.details.status", esc(statusText(g.status || contact.status))],
    ["timeline.details.max_el", g.max_elevation_deg != null ? data(`${numberText(g.max_elevation_deg, 1)}°`) : "—"],
    ["timeline.details.bytes", data(bytesText(g.bytes_received ?? contact.bytes_received))],
    ["timeline.details.started", data(when(g.started_at ?? contact.started_at))],
    ["timeline.details.finished", data(when(g.finished_at ?? contact.finished_at))],
  ];
  const es = g.element_set;
  const age = contactAge(ctx, contact);
  const planned = es && age && new Date(es.epoch).getTime() !== new Date(age.epoch).getTime()
    ? ` <span class="muted">${tHtml("age.planned_differs", { epoch: utcText(new Date(es.epoch)) })}</span>` : "";
  panel.innerHTML = `
    <h2 tabindex="-1">${tHtml("timeline.details.title", { id: contact.id, satellite, place })}</h2>
    <div class="details-grid">
      <div id="sky-holder"></div>
      <div>
        <dl class="facts">${facts.map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${v}</dd>`).join("")}
          <dt>${esc(t("age.contact_orbit"))}</dt><dd id="contact-orbit">${ageBadge(age)}${age
            ? ` <span class="muted">${tHtml("age.epoch", { epoch: utcText(new Date(age.epoch)) })}</span>` : ""}${planned}</dd></dl>
        <div id="link-charts"></div>
      </div>
    </div>
    <div id="contact-data"></div>
    <h3>${esc(t("timeline.details.elements_title"))}</h3>
    ${es ? `<p>${tHtml("timeline.details.elements", { epoch: utcText(new Date(es.epoch)), format: es.format, source: es.source })}</p>
      <pre class="element-text" translate="no" aria-label="${esc(t("timeline.details.elements_text"))}">${esc(es.text)}</pre>`
    : `<p class="muted">${esc(t("timeline.details.no_elements"))}</p>`}
    <p><button type="button" id="details-close">${esc(t("timeline.details.close"))}</button></p>`;
  visit.el("details-close").addEventListener("click", () => {
    panel.hidden = true;
    visit.root.querySelector(`.contact-bar[data-contact-id="${contact.id}"]`)?.focus();
  });
  panel.querySelector("h2").focus(); // brings the details into view; "Close details" returns to the bar
  const loaded = renderContactData(visit.el("contact-data"), ctx, visit, contact, () => ask === detailsAsked);
  if (!geometry) {
    visit.el("sky-holder").innerHTML = `<p class="muted">${esc(t("timeline.details.no_geometry"))}</p>`;
  } else {
    skyPlot(visit.el("sky-holder"), geometry);
    linkCharts(visit.el("link-charts"), geometry);
  }
  await loaded;
}

/** The compass points (N, E, S, W) in the language shown, at their azimuths. */
export function compassPoints() {
  return [[0, t("shell.compass.n")], [90, t("shell.compass.e")], [180, t("shell.compass.s")], [270, t("shell.compass.w")]];
}

/** Polar plot of the pass: north up, azimuth clockwise, 90° elevation at the centre. */
function skyPlot(holder, geometry) {
  const size = 260;
  const c = size / 2;
  const r = c - 22;
  const s = geometry.samples;
  const xy = (az, el) => {
    const rho = (r * (90 - Math.max(el, 0))) / 90;
    const a = (az * Math.PI) / 180;
    return [c + rho * Math.sin(a), c - rho * Math.cos(a)];
  };
  const points = s.t.map((_, i) => xy(s.az_deg[i], s.el_deg[i]));
  const svg = d3.select(holder).append("svg").attr("class", "sky").attr("viewBox", `0 0 ${size} ${size}`)
    .attr("role", "img").attr("aria-labelledby", "sky-title sky-desc");
  svg.append("title").attr("id", "sky-title").text(t("timeline.sky.title"));
  svg.append("desc").attr("id", "sky-desc").text(t("timeline.sky.desc", { station: geometry.station_name,
    rise: numberText(s.az_deg[0] ?? 0, 0), set: numberText(s.az_deg[s.az_deg.length - 1] ?? 0, 0),
    max: numberText(geometry.max_elevation_deg ?? 0, 1) }));
  for (const el of [0, 30, 60]) svg.append("circle").attr("class", "ring").attr("cx", c).attr("cy", c).attr("r", (r * (90 - el)) / 90);
  for (const [az, label] of compassPoints()) {
    const [x2, y2] = xy(az, 0);
    svg.append("line").attr("class", "spoke").attr("x1", c).attr("y1", c).attr("x2", x2).attr("y2", y2);
    const [lx, ly] = xy(az, -14);
    svg.append("text").attr("x", lx).attr("y", ly + 4).attr("text-anchor", "middle").text(label);
  }
  for (const el of [30, 60]) svg.append("text").attr("x", c + 3).attr("y", c - (r * (90 - el)) / 90 - 2).text(`${el}°`);
  if (points.length) {
    svg.append("path").attr("class", "sky-path").attr("d", d3.line()(points));
    svg.append("circle").attr("cx", points[0][0]).attr("cy", points[0][1]).attr("r", 4).attr("fill", "#2e7d32")
      .append("title").text(t("timeline.sky.aos"));
    const last = points[points.length - 1];
    svg.append("circle").attr("cx", last[0]).attr("cy", last[1]).attr("r", 4).attr("fill", "#b3261e")
      .append("title").text(t("timeline.sky.los"));
  }
}

function linkCharts(holder, geometry) {
  const s = geometry.samples;
  const series = [["margin_db", t("timeline.link.margin"), "dB", (v) => numberText(v, 1)],
    ["data_rate_bps", t("timeline.link.rate"), "bit/s", (v) => d3.format(".3~s")(v)]];
  let drawn = 0;
  for (const [key, label, unit, fmt] of series) {
    const values = s[key];
    if (!values || !values.some((v) => v !== null && v !== undefined)) continue;
    drawn += 1;
    const w = 520;
    const h = 110;
    const times = s.t.map((v) => new Date(v));
    const x = d3.scaleUtc().domain(d3.extent(times)).range([44, w - 8]);
    let [lo, hi] = d3.extent(values.filter((v) => v != null));
    if (lo === hi) [lo, hi] = [Math.min(0, lo), Math.max(0, hi) || 1]; // a constant: show it against zero
    const y = d3.scaleLinear().domain([lo, hi]).nice().range([h - 20, 14]);
    const id = `chart-${key}`;
    const svg = d3.select(holder).append("svg").attr("class", "spark").attr("viewBox", `0 0 ${w} ${h}`)
      .attr("role", "img").attr("aria-labelledby", `${id}-title ${id}-desc`);
    svg.append("title").attr("id", `${id}-title`).text(t("timeline.link.title", { label, unit }));
    const finite = values.filter((v) => v != null);
    svg.append("desc").attr("id", `${id}-desc`).text(t("timeline.link.desc", { min: fmt(d3.min(finite)),
      max: fmt(d3.max(finite)), unit }));
    svg.append("text").attr("x", 44).attr("y", 10).text(label).append("tspan").attr("translate", "no").text(` (${unit})`);
    svg.append("g").attr("transform", `translate(0,${h - 20})`).call(d3.axisBottom(x).ticks(4).tickFormat(d3.utcFormat("%H:%M")));
    svg.append("g").attr("transform", "translate(44,0)").call(d3.axisLeft(y).ticks(3).tickFormat(fmt));
    svg.append("path").attr("class", "line")
      .attr("d", d3.line().defined((_, i) => values[i] != null).x((_, i) => x(times[i])).y((_, i) => y(values[i]))(values));
  }
  if (!drawn) {
    holder.innerHTML = `<p class="muted">${geometry.link_note
      ? tHtml("timeline.link.unknown_because", { note: geometry.link_note }) : esc(t("timeline.link.unknown"))}</p>`;
  } else if (geometry.link_note) {
    d3.select(holder).append("p").attr("class", "muted").attr("translate", "no").text(geometry.link_note);
  }
}
