// The timeline: one row per antenna, the contacts in a window as bars coloured by the
// booking organisation, the caller's open requests that overlap the window, and a
// contact's details (sky plot, link along the pass, element set, outcome, and the frames and
// files that came home: frames.js) on click or Enter.  Each contact says how old the orbit it
// is flown on is (its satellite's orbit in force: age.js), in its label and in its details.

import { ageBadge, ageSentence, ageState, contactAge, refreshSatellites } from "./age.js";
import { ApiError, bytesText, get, getAll, iso, utcText } from "./api.js";
import { renderContactData } from "./frames.js";
import { t } from "./i18n.js";
import { esc, fillLegend } from "./ui.js";

const d3 = window.d3;

const WIDTH = 1160;
const RIGHT_PAD = 28; // room for the last tick's label
const LABEL_W = 190;
const ROW_H = 26;
const AXIS_H = 26;
const DAY_MS = 86_400_000;

function utcDay(date) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

function hhmm(date) {
  return date.toISOString().slice(11, 16);
}

/** The UTC day the view opens on: that of the next contact still to end after now, else now's. */
async function firstDay(ctx) {
  const now = ctx.clock.now();
  const next = await get("/contacts", { start: iso(now), limit: 1 });
  return utcDay(next.data.length ? new Date(next.data[0].start) : now);
}

export async function render(root, ctx, visit) {
  const day = await firstDay(ctx);
  if (!visit.live) return;
  root.innerHTML = `
    <h1>Contact timeline</h1>
    <section class="panel" aria-label="Window">
      <form class="controls" id="tl-form">
        <label>From (UTC day) <input type="date" id="tl-start" value="${day.toISOString().slice(0, 10)}" required></label>
        <label>Days <select id="tl-days">${[1, 2, 3, 7].map((n) =>
          `<option value="${n}"${n === 2 ? " selected" : ""}>${n}</option>`).join("")}</select></label>
        <button type="submit">Show</button>
        <span id="tl-summary" class="muted" role="status"></span>
      </form>
      <div class="gantt-wrap" id="tl-gantt"></div>
      <ul class="legend" id="tl-legend" aria-label="Booking organisations"></ul>
    </section>
    <section class="panel" id="tl-unserved" aria-labelledby="tl-unserved-title"></section>
    <section class="panel" id="contact-details" aria-live="polite" hidden></section>`;

  let latest = 0; // a window asked for later wins over an earlier answer still on its way
  async function show() {
    const ask = ++latest;
    const startDay = new Date(`${visit.el("tl-start").value}T00:00:00Z`);
    if (Number.isNaN(startDay.getTime())) return;
    const end = new Date(startDay.getTime() + Number(visit.el("tl-days").value) * DAY_MS);
    const [contacts, requests] = await Promise.all([
      getAll("/contacts", { start: iso(startDay), end: iso(end) }),
      getAll("/requests", { status: "open" }),
      refreshSatellites(ctx), // the orbits in force and their ages, as of now
    ]);
    if (!visit.live || ask !== latest) return;
    drawGantt(ctx, visit, startDay, end, contacts);
    drawUnserved(ctx, visit, startDay, end, contacts, requests);
  }

  visit.el("tl-form").addEventListener("submit", (event) => {
    event.preventDefault();
    visit.guard(show)();
  });
  await show();
}

function satelliteName(ctx, id) {
  const satellite = ctx.satellites.get(id);
  return satellite ? satellite.name : `satellite ${id}`;
}

function antennaName(ctx, id) {
  const antenna = ctx.antennas.get(id);
  return antenna ? `${antenna.station.name} / ${antenna.name}` : `antenna ${id}`;
}

function drawGantt(ctx, visit, start, end, contacts) {
  const antennaIds = [...new Set([...ctx.antennas.keys(), ...contacts.map((c) => c.antenna_id)])]
    .sort((a, b) => antennaName(ctx, a).localeCompare(antennaName(ctx, b)));
  const height = AXIS_H + antennaIds.length * ROW_H + 6;
  const x = d3.scaleUtc().domain([start, end]).range([LABEL_W, WIDTH - RIGHT_PAD]);
  const y = new Map(antennaIds.map((id, i) => [id, AXIS_H + i * ROW_H]));
  const holder = visit.el("tl-gantt");
  holder.innerHTML = "";
  const svg = d3.select(holder).append("svg").attr("class", "gantt").attr("viewBox", `0 0 ${WIDTH} ${height}`)
    .attr("role", "group").attr("aria-label", `Contacts per antenna from ${utcText(start, false)} to ${utcText(end, false)}`);
  svg.append("g").selectAll("rect").data(antennaIds).join("rect").attr("class", "row-bg")
    .attr("x", LABEL_W).attr("width", WIDTH - RIGHT_PAD - LABEL_W).attr("y", (id) => y.get(id) + 2).attr("height", ROW_H - 4);
  svg.append("g").selectAll("text").data(antennaIds).join("text").attr("class", "row-label")
    .attr("x", 4).attr("y", (id) => y.get(id) + ROW_H / 2 + 4).text((id) => antennaName(ctx, id));
  const hours = (end - start) / 3_600_000;
  const axis = d3.axisTop(x).ticks(d3.utcHour.every(hours <= 24 ? 3 : hours <= 72 ? 6 : 24))
    .tickFormat((d) => (d.getUTCHours() === 0 ? d3.utcFormat("%d %b")(d) : d3.utcFormat("%H:%M")(d)));
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${AXIS_H - 4})`).call(axis);
  const now = ctx.clock.now();
  if (now >= start && now < end) {
    svg.append("line").attr("class", "now-line").attr("x1", x(now)).attr("x2", x(now))
      .attr("y1", AXIS_H - 4).attr("y2", height).append("title").text(`Now: ${utcText(now)}`);
  }
  const bars = svg.append("g").selectAll("rect").data(contacts.filter((c) => y.has(c.antenna_id))).join("rect")
    .attr("class", (c) => `contact-bar ${c.status}`)
    .attr("x", (c) => x(Math.max(new Date(c.start), start)))
    .attr("width", (c) => Math.max(2.5, x(Math.min(new Date(c.end), end)) - x(Math.max(new Date(c.start), start))))
    .attr("y", (c) => y.get(c.antenna_id) + 4).attr("height", ROW_H - 8)
    .attr("fill", (c) => ctx.orgColour(c.org_id))
    .attr("data-contact-id", (c) => c.id)
    .attr("data-element-state", (c) => ageState(contactAge(ctx, c)))
    .attr("tabindex", 0).attr("role", "button")
    .attr("aria-label", (c) => `Contact ${c.id}: ${satelliteName(ctx, c.satellite_id)} on ${antennaName(ctx, c.antenna_id)}, ` +
      `${utcText(new Date(c.start), false)} to ${hhmm(new Date(c.end))}, ${c.status}, ${ageSentence(contactAge(ctx, c))}`);
  bars.append("title").text((c) => `${satelliteName(ctx, c.satellite_id)} — ${ctx.orgName(c.org_id)}\n` +
    `${utcText(new Date(c.start))} to ${hhmm(new Date(c.end))} (${c.status})\n${ageSentence(contactAge(ctx, c))}`);
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
  visit.el("tl-summary").textContent =
    `${contacts.length} contacts on ${antennaIds.length} antennas, ${utcText(start, false)} to ${utcText(end, false)}.`;
}

function drawUnserved(ctx, visit, start, end, contacts, requests) {
  const section = visit.el("tl-unserved");
  const booked = d3.rollup(contacts.filter((c) => c.status !== "cancelled"), (v) => v.length, (c) => c.satellite_id);
  const overlapping = requests.filter((r) => new Date(r.window_start) < end && new Date(r.window_end) > start)
    .sort((a, b) => (booked.get(a.satellite_id) || 0) - (booked.get(b.satellite_id) || 0)); // least served first
  if (!overlapping.length) {
    section.innerHTML = `<h2 id="tl-unserved-title">Unserved requests</h2><p class="muted">None of your open requests overlaps this window.</p>`;
    return;
  }
  const rowH = 20;
  const height = overlapping.length * rowH + 8;
  const x = d3.scaleUtc().domain([start, end]).range([LABEL_W, WIDTH - RIGHT_PAD]);
  section.innerHTML = `<h2 id="tl-unserved-title">Unserved requests</h2>
    <p class="muted">Your requests still open (not yet served in full) whose window overlaps this view, least
      served first; hatched over the part of the window in view.</p>`;
  const svg = d3.select(section).append("svg").attr("class", "gantt").attr("viewBox", `0 0 ${WIDTH} ${height}`)
    .attr("role", "img").attr("aria-labelledby", "tl-unserved-title");
  const pattern = svg.append("defs").append("pattern").attr("id", "hatch").attr("patternUnits", "userSpaceOnUse")
    .attr("width", 6).attr("height", 6).attr("patternTransform", "rotate(45)");
  pattern.append("rect").attr("width", 6).attr("height", 6).attr("fill", "#fff4d6");
  pattern.append("line").attr("x1", 0).attr("y1", 0).attr("x2", 0).attr("y2", 6).attr("stroke", "#a07800").attr("stroke-width", 2);
  const g = svg.selectAll("g").data(overlapping).join("g").attr("transform", (_, i) => `translate(0,${4 + i * rowH})`);
  g.append("text").attr("class", "row-label").attr("x", 4).attr("y", 13)
    .text((r) => clipped(satelliteName(ctx, r.satellite_id), 28))
    .append("title").text((r) => satelliteName(ctx, r.satellite_id));
  g.append("rect").attr("class", "unserved-mark").attr("data-request-id", (r) => r.id)
    .attr("x", (r) => x(Math.max(new Date(r.window_start), start)))
    .attr("width", (r) => x(Math.min(new Date(r.window_end), end)) - x(Math.max(new Date(r.window_start), start)))
    .attr("y", 2).attr("height", rowH - 5)
    .append("title").text((r) => `Request ${r.id}: ${utcText(new Date(r.window_start), false)} to ` +
      `${utcText(new Date(r.window_end), false)}, at least ${r.min_duration_s} s above ${r.min_elevation_deg}°`);
  g.append("text").attr("class", "unserved-count").attr("y", 13)
    .attr("x", (r) => x(Math.max(new Date(r.window_start), start)) + 6)
    .text((r) => `${booked.get(r.satellite_id) || 0} booked in view`);
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
  panel.innerHTML = `<h2>Contact ${contact.id}</h2><p class="muted">Loading…</p>`;
  let geometry = null;
  try {
    geometry = await get(`/contacts/${contact.id}/geometry`, { step_s: 5 });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  if (!visit.live || ask !== detailsAsked) return;
  const g = geometry || {};
  const when = (v) => (v ? utcText(new Date(v)) : "—");
  const facts = [
    ["Satellite", g.satellite_name ? `${g.satellite_name} (NORAD ${g.norad_id})` : satelliteName(ctx, contact.satellite_id)],
    ["Booked by", ctx.orgName(contact.org_id)],
    ["Station / antenna", g.station_name ? `${g.station_name} / ${g.antenna_name}` : antennaName(ctx, contact.antenna_id)],
    ["Window", `${when(contact.start)} to ${hhmm(new Date(contact.end))}`],
    ["Status", g.status || contact.status],
    ["Maximum elevation", g.max_elevation_deg != null ? `${g.max_elevation_deg.toFixed(1)}°` : "—"],
    ["Bytes received", bytesText(g.bytes_received ?? contact.bytes_received)],
    ["Started", when(g.started_at ?? contact.started_at)],
    ["Finished", when(g.finished_at ?? contact.finished_at)],
  ];
  const es = g.element_set;
  const age = contactAge(ctx, contact);
  const planned = es && age && new Date(es.epoch).getTime() !== new Date(age.epoch).getTime()
    ? ` <span class="muted">${esc(t("age.planned_differs", { epoch: utcText(new Date(es.epoch)) }))}</span>` : "";
  panel.innerHTML = `
    <h2 tabindex="-1">Contact ${contact.id}: ${esc(facts[0][1])} over ${esc(facts[2][1])}</h2>
    <div class="details-grid">
      <div id="sky-holder"></div>
      <div>
        <dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}
          <dt>${esc(t("age.contact_orbit"))}</dt><dd id="contact-orbit">${ageBadge(age)}${age
            ? ` <span class="muted">${esc(t("age.epoch", { epoch: utcText(new Date(age.epoch)) }))}</span>` : ""}${planned}</dd></dl>
        <div id="link-charts"></div>
      </div>
    </div>
    <div id="contact-data"></div>
    <h3>Element set it was planned with</h3>
    ${es ? `<p>Epoch ${esc(utcText(new Date(es.epoch)))}, ${esc(es.format)} from ${esc(es.source)}</p>
      <pre class="element-text" aria-label="Element set text">${esc(es.text)}</pre>`
    : `<p class="muted">No element set recorded for this contact.</p>`}
    <p><button type="button" id="details-close">Close details</button></p>`;
  visit.el("details-close").addEventListener("click", () => {
    panel.hidden = true;
    visit.root.querySelector(`.contact-bar[data-contact-id="${contact.id}"]`)?.focus();
  });
  panel.querySelector("h2").focus(); // brings the details into view; "Close details" returns to the bar
  const data = renderContactData(visit.el("contact-data"), ctx, visit, contact, () => ask === detailsAsked);
  if (!geometry) {
    visit.el("sky-holder").innerHTML = `<p class="muted">The pass geometry is not available from this server.</p>`;
  } else {
    skyPlot(visit.el("sky-holder"), geometry);
    linkCharts(visit.el("link-charts"), geometry);
  }
  await data;
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
  svg.append("title").attr("id", "sky-title").text("Sky plot of the pass");
  svg.append("desc").attr("id", "sky-desc").text(`Azimuth and elevation seen from ${geometry.station_name}: ` +
    `rises at azimuth ${s.az_deg[0]?.toFixed(0)}°, sets at ${s.az_deg[s.az_deg.length - 1]?.toFixed(0)}°, ` +
    `highest ${geometry.max_elevation_deg?.toFixed(1)}°.`);
  for (const el of [0, 30, 60]) svg.append("circle").attr("class", "ring").attr("cx", c).attr("cy", c).attr("r", (r * (90 - el)) / 90);
  for (const [az, label] of [[0, "N"], [90, "E"], [180, "S"], [270, "W"]]) {
    const [x2, y2] = xy(az, 0);
    svg.append("line").attr("class", "spoke").attr("x1", c).attr("y1", c).attr("x2", x2).attr("y2", y2);
    const [lx, ly] = xy(az, -14);
    svg.append("text").attr("x", lx).attr("y", ly + 4).attr("text-anchor", "middle").text(label);
  }
  for (const el of [30, 60]) svg.append("text").attr("x", c + 3).attr("y", c - (r * (90 - el)) / 90 - 2).text(`${el}°`);
  if (points.length) {
    svg.append("path").attr("class", "sky-path").attr("d", d3.line()(points));
    svg.append("circle").attr("cx", points[0][0]).attr("cy", points[0][1]).attr("r", 4).attr("fill", "#2e7d32")
      .append("title").text("Acquisition of signal");
    const last = points[points.length - 1];
    svg.append("circle").attr("cx", last[0]).attr("cy", last[1]).attr("r", 4).attr("fill", "#b3261e")
      .append("title").text("Loss of signal");
  }
}

function linkCharts(holder, geometry) {
  const s = geometry.samples;
  const series = [["margin_db", "Link margin", "dB", (v) => v.toFixed(1)],
    ["data_rate_bps", "Data rate", "bit/s", (v) => d3.format(".3~s")(v)]];
  let drawn = 0;
  for (const [key, label, unit, fmt] of series) {
    const values = s[key];
    if (!values || !values.some((v) => v !== null && v !== undefined)) continue;
    drawn += 1;
    const w = 520;
    const h = 110;
    const times = s.t.map((t) => new Date(t));
    const x = d3.scaleUtc().domain(d3.extent(times)).range([44, w - 8]);
    let [lo, hi] = d3.extent(values.filter((v) => v != null));
    if (lo === hi) [lo, hi] = [Math.min(0, lo), Math.max(0, hi) || 1]; // a constant: show it against zero
    const y = d3.scaleLinear().domain([lo, hi]).nice().range([h - 20, 14]);
    const id = `chart-${key}`;
    const svg = d3.select(holder).append("svg").attr("class", "spark").attr("viewBox", `0 0 ${w} ${h}`)
      .attr("role", "img").attr("aria-labelledby", `${id}-title ${id}-desc`);
    svg.append("title").attr("id", `${id}-title`).text(`${label} along the pass (${unit})`);
    const finite = values.filter((v) => v != null);
    svg.append("desc").attr("id", `${id}-desc`).text(`From ${fmt(d3.min(finite))} to ${fmt(d3.max(finite))} ${unit}.`);
    svg.append("text").attr("x", 44).attr("y", 10).text(`${label} (${unit})`);
    svg.append("g").attr("transform", `translate(0,${h - 20})`).call(d3.axisBottom(x).ticks(4).tickFormat(d3.utcFormat("%H:%M")));
    svg.append("g").attr("transform", "translate(44,0)").call(d3.axisLeft(y).ticks(3).tickFormat(fmt));
    svg.append("path").attr("class", "line")
      .attr("d", d3.line().defined((_, i) => values[i] != null).x((_, i) => x(times[i])).y((_, i) => y(values[i]))(values));
  }
  if (!drawn) {
    holder.innerHTML = `<p class="muted">Link margin and data rate are not known for this pass${
      geometry.link_note ? `: ${esc(geometry.link_note)}` : "."}</p>`;
  } else if (geometry.link_note) {
    d3.select(holder).append("p").attr("class", "muted").text(geometry.link_note);
  }
}
