// One satellite's page: what it is and how old its orbit in force is, its passes over the
// stations the caller may see in the next 24 hours (each with the age of the orbit it is
// computed from: age.js), a decoded telemetry field plotted over time (the field chosen among
// the numeric fields its frames in the window hold), and its latest frames.
//
// The window is whole UTC days (the week up to the dashboard clock's day by default).  The
// field list comes from the frames of the window (GET /satellites/{id}/frames, at most
// FIELD_SCAN_FRAMES of them); the plotted series from GET /satellites/{id}/telemetry.

import { ageBadge, passAge, satelliteAge } from "./age.js";
import { ApiError, get, iso, utcText } from "./api.js";
import { drawFramesTable, readFrames } from "./frames.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, readUtc, tableHtml, utcInputHtml } from "./ui.js";

const d3 = window.d3;

const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 7;
const FIELD_SCAN_FRAMES = 2000; // frames read for the field list (two pages)
const TELEMETRY_LIMIT = 1000; // points asked for per series
const RECENT_FRAMES = 20;
const TABLE_POINTS = 200; // values listed under the chart (the latest)
const PASS_HOURS = 24;
const PASS_ROWS = 50; // passes listed at most (the first, in AOS order)
const WIDTH = 760;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 16, bottom: 28, left: 64 };

function utcDay(date) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** The fields whose values are numbers (or booleans) in some frame, sorted by name. */
export function numericFields(frames) {
  const names = new Set();
  for (const frame of frames) {
    for (const [name, value] of Object.entries(frame.decoded || {})) {
      if ((typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean") names.add(name);
    }
  }
  return [...names].sort();
}

async function loadSatellite(id) {
  try {
    return await get(`/satellites/${id}`); // fresh: its decoder may have changed since sign-in
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function render(root, ctx, visit, satelliteId) {
  const satellite = await loadSatellite(satelliteId);
  if (!visit.live) return;
  const back = `<p><a href="#/satellites">← ${esc(t("sat.back"))}</a></p>`;
  if (!satellite) {
    root.innerHTML = `${back}<h1>${tHtml("sat.not_found", { id: satelliteId })}</h1>`;
    return;
  }
  ctx.satellites.set(satellite.id, satellite); // its orbit in force as of now, for the other pages too
  const firstDay = new Date(utcDay(ctx.clock.now()).getTime() - (DEFAULT_DAYS - 1) * DAY_MS);
  root.innerHTML = `${back}
    <h1><span translate="no">${esc(satellite.name)}</span> <span class="muted">${esc(t("sat.norad"))} <span translate="no">${satellite.norad_id}</span></span></h1>
    <section class="panel">
      <dl class="facts">
        <dt>${esc(t("sat.operator"))}</dt><dd translate="no">${esc(ctx.orgName(satellite.org_id))}</dd>
        <dt>${esc(t("sat.visibility"))}</dt><dd>${esc(t(satellite.is_public ? "sat.public" : "sat.private"))}</dd>
        <dt>${esc(t("sat.decoder"))}</dt><dd>${satellite.decoder ? `<code>${esc(satellite.decoder)}</code>`
          : esc(t("sat.no_decoder"))}</dd>
        <dt>${esc(t("sat.in_force"))}</dt><dd id="sat-in-force">${ageBadge(satelliteAge(satellite))}${
          satelliteAge(satellite) ? ` <span class="muted">${tHtml("age.epoch", {
            epoch: utcText(new Date(satelliteAge(satellite).epoch)) })}</span>` : ""}</dd>
      </dl>
    </section>
    <section class="panel" aria-labelledby="passes-title">
      <h2 id="passes-title">${esc(t("passes.title"))}</h2>
      <p id="passes-summary" class="muted" role="status"></p>
      <div id="passes-holder"></div>
    </section>
    <section class="panel" aria-labelledby="tm-title">
      <h2 id="tm-title">${esc(t("tm.title"))}</h2>
      <form class="controls" id="tm-form" novalidate>
        <span class="field">${utcInputHtml("tm-start", t("tm.from"), firstDay)}</span>
        <label>${esc(t("tm.days"))} <select id="tm-days">${[1, 2, 7, 30].map((n) =>
          `<option value="${n}"${n === DEFAULT_DAYS ? " selected" : ""}>${n}</option>`).join("")}</select></label>
        <button type="submit">${esc(t("tm.show"))}</button>
        <label>${esc(t("tm.field"))} <select id="tm-field" translate="no" disabled></select></label>
      </form>
      <p id="tm-summary" class="muted" role="status"></p>
      <div id="tm-chart" class="telemetry-wrap"></div>
      <div id="tm-values"></div>
    </section>
    <section class="panel" aria-labelledby="tm-recent-title">
      <h2 id="tm-recent-title">${esc(t("tm.recent"))}</h2>
      <div id="tm-frames"></div>
    </section>`;

  let span = null; // the window shown: {start, end}
  let latest = 0; // a later request wins over an earlier answer still on its way

  async function show() {
    const ask = ++latest;
    const typed = visit.el("tm-start").value;
    const start = readUtc(typed) ?? readUtc(`${typed.trim()}T00:00Z`); // a bare UTC day: its midnight
    visit.el("tm-summary").textContent = start ? "" : t("tm.bad_start");
    if (!start) return;
    const end = new Date(start.getTime() + Number(visit.el("tm-days").value) * DAY_MS);
    const { frames, more } = await readFrames(`/satellites/${satellite.id}/frames`,
      { start: iso(start), end: iso(end) }, FIELD_SCAN_FRAMES);
    if (!visit.live || ask !== latest) return;
    span = { start, end };
    const fields = numericFields(frames);
    const select = visit.el("tm-field");
    const kept = select.value;
    select.innerHTML = fields.map((f) => `<option value="${esc(f)}">${esc(f)}</option>`).join("");
    select.disabled = !fields.length;
    if (fields.includes(kept)) select.value = kept;
    const n = frames.length;
    const counted = more ? t("tm.frames_more", { n }) : t("tm.frames", { n });
    visit.el("tm-summary").textContent = fields.length ? `${counted}.` : `${counted}. ${t("tm.no_fields")}`;
    const recent = frames.slice(-RECENT_FRAMES).reverse();
    drawFramesTable(visit.el("tm-frames"), recent, { caption: t("tm.recent"), id: "tm-frames-table" });
    if (fields.length) await plot(ask);
    else {
      visit.el("tm-chart").innerHTML = "";
      visit.el("tm-values").innerHTML = "";
    }
  }

  async function plot(ask = ++latest) {
    const field = visit.el("tm-field").value;
    if (!field || !span) return;
    const body = await get(`/satellites/${satellite.id}/telemetry`,
      { field, start: iso(span.start), end: iso(span.end), limit: TELEMETRY_LIMIT });
    if (!visit.live || ask !== latest) return;
    drawTelemetry(visit, field, body.points, span);
  }

  visit.el("tm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    visit.guard(show)();
  });
  visit.el("tm-field").addEventListener("change", visit.guard(() => plot()));
  await Promise.all([show(), showPasses(ctx, visit, satellite)]);
}

/** The satellite's passes over the stations the caller may see, from the network's now, each with its orbit's age. */
async function showPasses(ctx, visit, satellite) {
  const summary = visit.el("passes-summary");
  if (!satelliteAge(satellite)) { // nothing to predict from: say so without asking (the API would refuse)
    summary.textContent = t("passes.unavailable", { reason: t("age.none_title") });
    return;
  }
  const start = ctx.clock.now();
  const body = await get(`/satellites/${satellite.id}/passes`, { start: iso(start), hours: PASS_HOURS });
  if (!visit.live) return;
  const passes = body.data;
  summary.textContent = passes.length ? `${t("passes.count", { n: passes.length })}.` : t("passes.none");
  if (body.warnings?.length) {
    const note = document.createElement("span");
    note.setAttribute("translate", "no");
    note.textContent = ` ${body.warnings.join(" ")}`;
    summary.append(note);
  }
  if (!passes.length) return;
  const time = (v) => utcText(new Date(v));
  visit.el("passes-holder").innerHTML = tableHtml(t("passes.caption", { start: utcText(start, false) }),
    [{ label: t("col.station") }, { label: t("col.aos") }, { label: t("col.los") }, { label: t("col.max_el"), num: true },
      { label: t("col.duration"), num: true }, { label: t("col.elements") }],
    passes.slice(0, PASS_ROWS).map((p) => ({
      attrs: ` class="pass-row" data-station="${esc(p.station)}" data-aos="${esc(p.aos)}"`,
      cells: [`<span translate="no">${esc(p.station)}</span>`, esc(time(p.aos)), esc(time(p.los)), `${esc(numberText(p.max_elevation_deg, 1))}°`,
        `${esc(numberText(Math.round(p.duration_s), 0))} s`, ageBadge(passAge(p))],
    })), 'id="passes-table"');
}

function drawTelemetry(visit, field, points, span) {
  const chart = visit.el("tm-chart");
  const values = visit.el("tm-values");
  chart.innerHTML = "";
  values.innerHTML = "";
  if (!points.length) {
    chart.innerHTML = `<p class="muted">${tHtml("tm.no_points", { field })}</p>`;
    return;
  }
  const numeric = points.every((p) => typeof p.value === "number" || typeof p.value === "boolean");
  const listed = points.slice(-TABLE_POINTS).reverse();
  const table = `<details class="tm-table"${numeric ? "" : " open"}><summary>${esc(t("tm.table"))}</summary>
    <div class="table-wrap"><table id="tm-values-table"><caption class="muted">${tHtml("tm.summary", { n: points.length, field })}</caption>
      <thead><tr><th scope="col">${esc(t("col.time"))}</th><th scope="col" class="num">${esc(t("col.value"))}</th></tr></thead>
      <tbody>${listed.map((p) => `<tr><td translate="no">${esc(utcText(new Date(p.t)))}</td><td class="num">${
        esc(typeof p.value === "number" ? numberText(p.value, 6) : String(p.value))}</td></tr>`).join("")}</tbody>
    </table></div></details>`;
  values.innerHTML = table;
  if (!numeric) {
    chart.innerHTML = `<p class="muted">${tHtml("tm.not_numbers", { field })}</p>`;
    return;
  }
  const times = points.map((p) => new Date(p.t));
  const ys = points.map((p) => Number(p.value));
  let [t0, t1] = d3.extent(times);
  if (t0.getTime() === t1.getTime()) [t0, t1] = [span.start, span.end]; // one instant: show the window
  const x = d3.scaleUtc().domain([t0, t1]).range([MARGIN.left, WIDTH - MARGIN.right]);
  let [lo, hi] = d3.extent(ys);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1]; // a constant: a band around it
  const y = d3.scaleLinear().domain([lo, hi]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const svg = d3.select(chart).append("svg").attr("class", "telemetry").attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`)
    .attr("role", "img").attr("aria-labelledby", "tm-chart-title tm-chart-desc").attr("data-field", field);
  svg.append("title").attr("id", "tm-chart-title").text(t("tm.chart_title", { field }));
  svg.append("desc").attr("id", "tm-chart-desc").text(t("tm.chart_desc", {
    n: points.length, min: d3.min(ys), max: d3.max(ys), start: utcText(times[0]), end: utcText(times[times.length - 1]) }));
  const spanS = (t1 - t0) / 1000;
  const format = spanS > 2 * 86_400 ? "%m-%d" : spanS > 600 ? "%H:%M" : "%H:%M:%S";
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`)
    .call(d3.axisBottom(x).ticks(6).tickFormat(d3.utcFormat(format)));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${MARGIN.left},0)`)
    .call(d3.axisLeft(y).ticks(5).tickFormat((v) => numberText(v, 3)));
  svg.append("path").attr("class", "line").attr("d", d3.line().x((_, i) => x(times[i])).y((v) => y(v))(ys));
  svg.append("g").selectAll("circle").data(points).join("circle").attr("class", "point")
    .attr("cx", (_, i) => x(times[i])).attr("cy", (_, i) => y(ys[i])).attr("r", points.length > 300 ? 1.5 : 3)
    .append("title").text((p, i) => `${utcText(times[i])}: ${numberText(ys[i], 6)}`);
}
