// Add or edit a ground station (workflow 5): its position, minimum elevation and horizon mask,
// then its antennas (band, setup and turnaround times, G/T, EIRP, slew rates).
//
// The horizon mask is edited on a polar plot of the sky: north up, azimuth clockwise,
// elevation 90° at the centre and 0° on the rim (down to -10° just outside it).  A click
// adds a point (azimuth, minimum elevation), a point can be dragged, and the table of points
// beside it stays in step both ways; the sky the mask hides is shaded.  The mask is saved
// with the station as [[azimuth_deg, elevation_deg], ...] in azimuth order (the API's
// StationCreate.horizon_mask).  Saving updates the dashboard's shared context (ctx.stations,
// ctx.antennas) so every other page sees the change at once.
//
// A station is run either by `groundshare agent` or by an unmodified SatNOGS client
// (satnogs-client), saved as the station's `runner`.  A SatNOGS station polls the network's
// /satnogs/api/ for its jobs with a station token (Tokens page); each poll is its heartbeat,
// so its editor shows when it was last seen (UTC, at the network's clock), whether it is
// online, and the client version it last reported.

import { ApiError, get, send, utcText } from "./api.js";
import { t } from "./i18n.js";
import { esc, showFormError } from "./ui.js";
import { BANDS, bandText, canWrite, confirmInline, data, formProblem, numberValue, readNumber, showStatus, tData }
  from "./sharing.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const R = 100; // plot radius of elevation 0° (SVG units)
const MIN_EL = -10; // lowest elevation a mask point may have (the API's bound)
const VIEW = 132; // half the viewBox

/** Plot radius of an elevation. */
const radius = (el) => ((90 - el) / 90) * R;

/** SVG position of (azimuth, elevation): north up, azimuth clockwise. */
function toXY(az, el) {
  const a = (az * Math.PI) / 180;
  const r = radius(el);
  return [r * Math.sin(a), -r * Math.cos(a)];
}

/** (azimuth, elevation) of an SVG position, rounded to 0.1°; null outside the plot. */
function fromXY(x, y) {
  const r = Math.hypot(x, y);
  const el = 90 - (r / R) * 90;
  if (el < MIN_EL) return null;
  const az = ((Math.atan2(x, -y) * 180) / Math.PI + 360) % 360;
  return { az: Math.round(az * 10) / 10 % 360, el: Math.round(el * 10) / 10 };
}

const round1 = (v) => Math.round(v * 10) / 10;

// ---------------------------------------------------------------------------------------------
// The horizon-mask editor

/** The editor of a horizon mask in `container`: a polar plot and a table of points kept in step. */
class MaskEditor {
  constructor(visit, container, mask) {
    this.visit = visit;
    this.points = (mask || []).map(([az, el]) => ({ az: Number(az), el: Number(el) }));
    this.sort();
    container.innerHTML = `<div class="mask-editor">
      <figure class="mask-figure">
        <svg id="mask-plot" class="mask-plot" viewBox="${-VIEW} ${-VIEW} ${2 * VIEW} ${2 * VIEW}" role="img"
          aria-labelledby="mask-plot-title"><title id="mask-plot-title">${esc(t("manage.mask.plot"))}</title></svg>
        <figcaption class="muted">${esc(t("manage.mask.help"))}</figcaption>
      </figure>
      <div class="mask-points">
        <div class="table-wrap"><table id="mask-table"><caption class="muted">${esc(t("manage.mask.points"))}</caption>
          <thead><tr><th scope="col">${esc(t("manage.mask.azimuth"))}</th><th scope="col">${esc(t("manage.mask.elevation"))}</th>
            <th scope="col"><span class="visually-hidden">${esc(t("manage.mask.actions"))}</span></th></tr></thead>
          <tbody></tbody></table></div>
        <p id="mask-empty" class="muted">${esc(t("manage.mask.empty"))}</p>
        <p><button type="button" id="mask-clear">${esc(t("manage.mask.clear"))}</button></p>
      </div></div>`;
    this.svg = visit.el("mask-plot");
    this.drawGrid();
    this.layer = this.make("g", { class: "mask-layer" });
    this.svg.append(this.layer);
    this.svg.addEventListener("click", (event) => this.onClick(event));
    visit.el("mask-clear").addEventListener("click", () => {
      this.points = [];
      this.draw();
    });
    this.draw();
  }

  /** The mask as the API takes it: [[az, el], ...] in azimuth order, or null for none. */
  value() {
    this.sort();
    return this.points.length ? this.points.map((p) => [p.az, p.el]) : null;
  }

  sort() {
    this.points.sort((a, b) => a.az - b.az);
  }

  make(tag, attrs = {}) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    return el;
  }

  drawGrid() {
    const grid = this.make("g", { class: "mask-grid", "aria-hidden": "true" });
    grid.append(this.make("circle", { class: "mask-below", r: radius(MIN_EL), cx: 0, cy: 0 }));
    for (const el of [0, 30, 60]) {
      grid.append(this.make("circle", { class: el === 0 ? "mask-rim" : "mask-ring", r: radius(el), cx: 0, cy: 0 }));
      const label = this.make("text", { class: "mask-ring-label", x: 2, y: -radius(el) + 9 });
      label.textContent = `${el}°`;
      grid.append(label);
    }
    for (let az = 0; az < 360; az += 30) {
      const [x, y] = toXY(az, MIN_EL);
      grid.append(this.make("line", { class: "mask-spoke", x1: 0, y1: 0, x2: x, y2: y }));
    }
    const compass = [["n", 0], ["e", 90], ["s", 180], ["w", 270]];
    for (const [key, az] of compass) {
      const a = (az * Math.PI) / 180;
      const r = radius(MIN_EL) + 10;
      const text = this.make("text", { class: "mask-compass", x: r * Math.sin(a), y: -r * Math.cos(a) + 4,
        "text-anchor": "middle" });
      text.textContent = t(`manage.compass.${key}`);
      grid.append(text);
    }
    this.svg.append(grid);
  }

  /** SVG coordinates of a pointer event. */
  svgPoint(event) {
    const point = this.svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const inside = point.matrixTransform(this.svg.getScreenCTM().inverse());
    return [inside.x, inside.y];
  }

  onClick(event) {
    if (this.dragged) {
      this.dragged = false;
      return;
    }
    if (event.target.classList?.contains("mask-handle")) return;
    const point = fromXY(...this.svgPoint(event));
    if (!point) return;
    this.points.push(point);
    this.sort();
    this.draw();
  }

  /** Redraw the plot and the table. */
  draw() {
    this.drawPlot();
    this.drawTable();
  }

  drawPlot() {
    this.layer.replaceChildren();
    const pts = [...this.points].sort((a, b) => a.az - b.az);
    if (pts.length) {
      // The sky the mask hides: between the outer circle and the mask's outline (even-odd fill).
      const outer = radius(MIN_EL);
      const ring = `M ${-outer} 0 A ${outer} ${outer} 0 1 0 ${outer} 0 A ${outer} ${outer} 0 1 0 ${-outer} 0 Z`;
      const outline = pts.length === 1 ? this.circlePath(radius(pts[0].el))
        : `M ${pts.map((p) => toXY(p.az, p.el).map(round1).join(" ")).join(" L ")} Z`;
      this.layer.append(this.make("path", { class: "mask-area", d: `${ring} ${outline}`, "fill-rule": "evenodd" }));
      this.layer.append(this.make("path", { class: "mask-outline", d: outline }));
    }
    for (const point of pts) {
      const [x, y] = toXY(point.az, point.el);
      const handle = this.make("circle", { class: "mask-handle", cx: round1(x), cy: round1(y), r: 4.5, tabindex: -1 });
      const title = this.make("title");
      title.textContent = t("manage.mask.point", { az: point.az, el: point.el });
      handle.append(title);
      handle.addEventListener("pointerdown", (event) => this.startDrag(event, point, handle));
      this.layer.append(handle);
    }
  }

  circlePath(r) {
    return `M ${-r} 0 A ${r} ${r} 0 1 0 ${r} 0 A ${r} ${r} 0 1 0 ${-r} 0 Z`;
  }

  startDrag(event, point, handle) {
    event.preventDefault();
    event.stopPropagation();
    handle.setPointerCapture?.(event.pointerId);
    const move = (e) => {
      const moved = fromXY(...this.svgPoint(e));
      if (!moved) return;
      point.az = moved.az;
      point.el = moved.el;
      this.dragged = true;
      this.drawPlot();
      this.syncRow(point);
    };
    const end = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", end);
      this.sort();
      this.draw();
    };
    window.addEventListener("pointermove", move, { signal: this.visit.signal });
    window.addEventListener("pointerup", end, { signal: this.visit.signal });
  }

  /** Put a point's values in its table row (while it is dragged). */
  syncRow(point) {
    const row = this.rows?.get(point);
    if (!row) return;
    row.querySelector(".mask-az").value = String(point.az);
    row.querySelector(".mask-el").value = String(point.el);
  }

  drawTable() {
    const body = this.visit.el("mask-table").querySelector("tbody");
    this.rows = new Map();
    body.replaceChildren(...this.points.map((point, i) => {
      const row = document.createElement("tr");
      row.className = "mask-row";
      row.innerHTML = `<td><label class="visually-hidden" for="mask-az-${i}">${esc(t("manage.mask.azimuth_n", { n: i + 1 }))}</label>
          <input id="mask-az-${i}" class="mask-az" type="number" min="0" max="360" step="0.1" required value="${point.az}"></td>
        <td><label class="visually-hidden" for="mask-el-${i}">${esc(t("manage.mask.elevation_n", { n: i + 1 }))}</label>
          <input id="mask-el-${i}" class="mask-el" type="number" min="${MIN_EL}" max="90" step="0.1" required value="${point.el}"></td>
        <td><button type="button" class="mask-remove">${esc(t("manage.mask.remove"))}</button></td>`;
      const [azInput, elInput] = row.querySelectorAll("input");
      const update = () => {
        const az = readNumber(azInput);
        const el = readNumber(elInput);
        if (az !== null && !Number.isNaN(az) && az >= 0 && az <= 360) point.az = az;
        if (el !== null && !Number.isNaN(el) && el >= MIN_EL && el <= 90) point.el = el;
        this.drawPlot();
      };
      azInput.addEventListener("input", update);
      elInput.addEventListener("input", update);
      azInput.addEventListener("change", () => { this.sort(); this.drawTable(); });
      row.querySelector(".mask-remove").addEventListener("click", () => {
        this.points = this.points.filter((p) => p !== point);
        this.draw();
      });
      this.rows.set(point, row);
      return row;
    }));
    this.visit.el("mask-empty").hidden = this.points.length > 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The station form

/** Who runs a station (the API's StationCreate.runner): its own agent, or an unmodified SatNOGS client. */
export const RUNNERS = ["agent", "satnogs"];
/** The SatNOGS station software's name, a data value inside translated sentences. */
const CLIENT = "satnogs-client";

function runnerHtml(station) {
  const runner = station?.runner ?? "agent";
  const options = RUNNERS.map((r) => `<option value="${r}"${r === runner ? " selected" : ""}>${
    esc(t(`manage.runner.${r}`))}</option>`).join("");
  return `<div class="form-row"><p><label for="station-runner">${esc(t("manage.runner.label"))}</label>
      <select id="station-runner" aria-describedby="station-runner-hint">${options}</select></p></div>
    <p id="station-runner-hint" class="hint muted">${tData("manage.runner.hint", { client: CLIENT })}</p>`;
}

/**
 * What a SatNOGS station last told the network: last seen (UTC), online or offline, the client
 * version it reported, and what its last job poll served (the API's words, as data).
 */
function satnogsStateHtml(station) {
  if (station?.runner !== "satnogs") return "";
  const seen = station.last_seen_at ? data(utcText(new Date(station.last_seen_at))) : esc(t("manage.satnogs.never"));
  const online = Boolean(station.online);
  const badge = `<span class="age-badge ${online ? "age-fresh" : "age-none"} station-state" data-online="${online}">${
    esc(t(online ? "manage.satnogs.online" : "manage.satnogs.offline"))}</span>`;
  const version = station.satnogs_client_version ? data(station.satnogs_client_version) : esc(t("manage.satnogs.unknown"));
  return `<h3>${tData("manage.satnogs.title", { client: CLIENT })}</h3>
    <dl class="facts">
      <dt>${esc(t("manage.satnogs.state"))}</dt><dd>${badge}</dd>
      <dt>${esc(t("manage.satnogs.last_seen"))}</dt><dd id="station-last-seen">${seen}</dd>
      <dt>${esc(t("manage.satnogs.version"))}</dt><dd id="station-client-version">${version}</dd>
      ${station.satnogs_status ? `<dt>${esc(t("manage.satnogs.last_poll"))}</dt>
        <dd id="station-poll-status">${data(station.satnogs_status)}</dd>` : ""}
    </dl>
    <p class="muted">${tData("manage.satnogs.connect", { client: CLIENT })}
      <a href="#/tokens">${esc(t("manage.satnogs.tokens_link"))}</a></p>`;
}

function stationFormHtml(station) {
  const field = (id, key, value, attrs, unit = "") => `<p><label for="${id}">${esc(t(key))}${unit
    ? ` <span class="unit" translate="no">(${unit})</span>` : ""}</label>
      <input id="${id}" type="number" ${attrs} value="${esc(numberValue(value))}"></p>`;
  return `<form id="station-form" class="manage-form" novalidate>
      <div class="form-row"><p><label for="station-name">${esc(t("manage.station.name"))}</label>
        <input id="station-name" type="text" required maxlength="200" autocomplete="off" value="${esc(station?.name ?? "")}"></p></div>
      <div class="form-row">
        ${field("station-lat", "manage.station.lat", station?.lat_deg, 'min="-90" max="90" step="any" required', "°")}
        ${field("station-lon", "manage.station.lon", station?.lon_deg, 'min="-180" max="180" step="any" required', "°")}
        ${field("station-alt", "manage.station.alt", station?.alt_m ?? 0, 'min="-500" max="10000" step="any"', "m")}
        ${field("station-min-el", "manage.station.min_el", station?.min_elevation_deg ?? 0, 'min="-10" max="89" step="any"', "°")}
      </div>
      ${runnerHtml(station)}
      <div id="station-satnogs" class="satnogs-state">${satnogsStateHtml(station)}</div>
      <fieldset class="mask-fieldset"><legend>${esc(t("manage.mask.title"))}</legend>
        <div id="mask-editor-box"></div></fieldset>
      <p><button type="submit" class="primary" id="station-submit">${esc(t(station ? "manage.station.save" : "manage.station.create"))}</button></p>
      <p role="alert" class="form-error" id="station-error" hidden></p>
    </form>`;
}

/** The station typed in the form, or {problem} naming the field at fault (translated). */
function readStation(visit, mask) {
  const name = visit.el("station-name").value.trim();
  if (!name) return { problem: t("manage.error.required", { field: t("manage.station.name") }) };
  const body = { name };
  const numbers = [["station-lat", "lat_deg", "manage.station.lat", true], ["station-lon", "lon_deg", "manage.station.lon", true],
    ["station-alt", "alt_m", "manage.station.alt", false], ["station-min-el", "min_elevation_deg", "manage.station.min_el", false]];
  for (const [id, field, key, required] of numbers) {
    const value = readNumber(visit.el(id));
    if (Number.isNaN(value) || (required && value === null)) {
      visit.el(id).focus();
      return { problem: t("manage.error.number", { field: t(key) }) };
    }
    if (value !== null) body[field] = value;
  }
  body.horizon_mask = mask.value();
  body.runner = visit.el("station-runner").value;
  return { body };
}

// ---------------------------------------------------------------------------------------------
// Antennas

const ANTENNA_FIELDS = [
  // [input id, API field, label key, unit, attributes, nullable on PATCH]
  ["antenna-setup", "setup_s", "manage.antenna.setup", "s", 'min="0" max="86400" step="any"', false],
  ["antenna-turnaround", "turnaround_s", "manage.antenna.turnaround", "s", 'min="0" max="86400" step="any"', false],
  ["antenna-gt", "g_over_t_dbk", "manage.antenna.gt", "dB/K", 'min="-60" max="80" step="any"', true],
  ["antenna-eirp", "eirp_dbw", "manage.antenna.eirp", "dBW", 'min="-50" max="100" step="any"', true],
  ["antenna-az-slew", "az_slew_deg_s", "manage.antenna.az_slew", "°/s", 'min="0" max="90" step="any"', true],
  ["antenna-el-slew", "el_slew_deg_s", "manage.antenna.el_slew", "°/s", 'min="0" max="90" step="any"', true],
];

function antennaFormHtml() {
  const bands = BANDS.map((b) => `<option value="${b}"${b === "uhf" ? " selected" : ""}>${esc(bandText(b))}</option>`).join("");
  const numbers = ANTENNA_FIELDS.map(([id, , key, unit, attrs]) => `<p><label for="${id}">${esc(t(key))}
      <span class="unit" translate="no">(${esc(unit)})</span></label>
      <input id="${id}" type="number" ${attrs}></p>`).join("");
  return `<form id="antenna-form" class="manage-form" novalidate>
      <h3 id="antenna-form-title">${esc(t("manage.antenna.add_title"))}</h3>
      <div class="form-row">
        <p><label for="antenna-name">${esc(t("manage.antenna.name"))}</label>
          <input id="antenna-name" type="text" required maxlength="200" autocomplete="off"></p>
        <p><label for="antenna-band">${esc(t("manage.antenna.band"))}</label>
          <select id="antenna-band" required>${bands}</select></p>
      </div>
      <div class="form-row">${numbers}</div>
      <p><button type="submit" class="primary" id="antenna-submit">${esc(t("manage.antenna.add"))}</button>
        <button type="button" id="antenna-cancel" hidden>${esc(t("manage.antenna.cancel"))}</button></p>
      <p role="alert" class="form-error" id="antenna-error" hidden></p>
    </form>`;
}

function antennaTableHtml(antennas) {
  if (!antennas.length) return `<p class="muted" id="antennas-empty">${esc(t("manage.antenna.none"))}</p>`;
  const num = (v) => (v === null || v === undefined ? "—" : esc(String(v)));
  const head = [esc(t("manage.antenna.name")), esc(t("manage.antenna.band")), ...ANTENNA_FIELDS.map(([, , key, unit]) =>
    `${esc(t(key))} <span class="unit" translate="no">(${esc(unit)})</span>`), esc(t("manage.antenna.actions"))];
  const rows = antennas.map((a) => `<tr class="antenna-row" data-antenna-id="${a.id}">
      <td>${data(a.name)}</td><td>${data(bandText(a.band))}</td>
      ${ANTENNA_FIELDS.map(([, field]) => `<td class="num">${num(a[field])}</td>`).join("")}
      <td class="actions"><button type="button" class="edit-antenna">${esc(t("manage.antenna.edit"))}</button>
        <button type="button" class="delete-antenna">${esc(t("manage.antenna.delete"))}</button></td></tr>`);
  return `<div class="table-wrap"><table id="antennas-table"><caption class="muted">${esc(t("manage.antenna.caption"))}</caption>
    <thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
}

/** The antenna typed in the form: {body} or {problem}; blanks are left out (create) or cleared (edit). */
function readAntenna(visit, editing) {
  const name = visit.el("antenna-name").value.trim();
  if (!name) return { problem: t("manage.error.required", { field: t("manage.antenna.name") }) };
  const body = { name, band: visit.el("antenna-band").value };
  for (const [id, field, key, , , nullable] of ANTENNA_FIELDS) {
    const value = readNumber(visit.el(id));
    if (Number.isNaN(value)) {
      visit.el(id).focus();
      return { problem: t("manage.error.number", { field: t(key) }) };
    }
    if (value !== null) body[field] = value;
    else if (editing && nullable) body[field] = null;
  }
  return { body };
}

/** The antennas part of the page: the table, and the form that adds one or edits the one chosen. */
class AntennaSection {
  constructor(ctx, visit, station, antennas) {
    this.ctx = ctx;
    this.visit = visit;
    this.station = station;
    this.antennas = antennas;
    this.editing = null;
    visit.el("antennas-box").innerHTML = `<p role="alert" class="form-error" id="antennas-error" hidden></p>
      <div id="antennas-list"></div>${antennaFormHtml()}`;
    visit.el("antenna-form").addEventListener("submit", visit.guard((event) => this.submit(event)));
    visit.el("antenna-cancel").addEventListener("click", () => this.edit(null));
    this.drawList();
  }

  drawList() {
    const list = this.visit.el("antennas-list");
    list.innerHTML = antennaTableHtml(this.antennas);
    for (const row of list.querySelectorAll("tr.antenna-row")) {
      const antenna = this.antennas.find((a) => a.id === Number(row.dataset.antennaId));
      row.querySelector(".edit-antenna").addEventListener("click", () => this.edit(antenna));
      const del = row.querySelector(".delete-antenna");
      del.addEventListener("click", () => confirmInline(this.visit, del, t("manage.antenna.delete_confirm"),
        () => this.remove(antenna)));
    }
  }

  /** Fill the form with `antenna` to edit it (null: back to adding one). */
  edit(antenna) {
    this.editing = antenna;
    const v = this.visit;
    v.el("antenna-form-title").textContent = antenna ? t("manage.antenna.edit_title", { name: antenna.name })
      : t("manage.antenna.add_title");
    v.el("antenna-form-title").setAttribute("translate", antenna ? "no" : "yes");
    v.el("antenna-submit").textContent = t(antenna ? "manage.antenna.save" : "manage.antenna.add");
    v.el("antenna-cancel").hidden = !antenna;
    v.el("antenna-name").value = antenna?.name ?? "";
    v.el("antenna-band").value = antenna?.band ?? BANDS[1];
    for (const [id, field] of ANTENNA_FIELDS) v.el(id).value = numberValue(antenna?.[field]);
    showFormError(v.el("antenna-error"), null);
    if (antenna) v.el("antenna-name").focus();
  }

  async submit(event) {
    event.preventDefault();
    const box = this.visit.el("antenna-error");
    const read = readAntenna(this.visit, Boolean(this.editing));
    if (read.problem) return formProblem(box, read.problem);
    const base = `/stations/${this.station.id}/antennas`;
    let antenna;
    try {
      antenna = this.editing ? await send("PATCH", `${base}/${this.editing.id}`, read.body)
        : await send("POST", base, read.body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t(this.editing ? "manage.antenna.error_save" : "manage.antenna.error_add"), error);
    }
    if (!this.visit.live) return;
    const existed = this.antennas.findIndex((a) => a.id === antenna.id);
    if (existed >= 0) this.antennas[existed] = antenna;
    else this.antennas.push(antenna);
    this.ctx.antennas.set(antenna.id, { ...antenna, station: this.station });
    showStatus(this.visit.el("station-status"), existed >= 0 ? "manage.antenna.saved" : "manage.antenna.added",
      { name: antenna.name });
    this.edit(null);
    this.drawList();
  }

  async remove(antenna) {
    const box = this.visit.el("antennas-error");
    try {
      await send("DELETE", `/stations/${this.station.id}/antennas/${antenna.id}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t("manage.antenna.error_delete"), error);
    }
    if (!this.visit.live) return;
    showFormError(box, null);
    this.antennas = this.antennas.filter((a) => a.id !== antenna.id);
    this.ctx.antennas.delete(antenna.id);
    if (this.editing?.id === antenna.id) this.edit(null);
    showStatus(this.visit.el("station-status"), "manage.antenna.deleted", { name: antenna.name });
    this.drawList();
  }
}

// ---------------------------------------------------------------------------------------------
// The page

/** Keep the shared context in step with a saved station (the same object, so antennas' `.station` follows). */
function rememberStation(ctx, saved) {
  const known = ctx.stations.find((s) => s.id === saved.id);
  if (known) {
    Object.assign(known, saved);
    return known;
  }
  ctx.stations.push(saved);
  return saved;
}

export async function render(root, ctx, visit, id = null) {
  const title = id === null ? t("manage.station.new_title") : t("manage.station.edit_title");
  if (!canWrite(ctx)) {
    root.innerHTML = `<h1>${esc(title)}</h1><p class="note" id="station-readonly">${esc(t("manage.viewer_note"))}</p>
      <p><a href="#/stations">${esc(t("manage.station.back"))}</a></p>`;
    return;
  }
  let station = null;
  let antennas = [];
  if (id !== null) {
    const [body, list] = await Promise.all([get(`/stations/${id}`), get(`/stations/${id}/antennas`)]);
    if (!visit.live) return;
    station = body;
    antennas = list.data;
    if (station.org_id !== ctx.me.org.id) {
      root.innerHTML = `<h1>${esc(title)}</h1><p class="note" id="station-not-owner">${
        esc(t("manage.station.not_owner", { owner: ctx.orgName(station.org_id) }))}</p>
        <p><a href="#/stations">${esc(t("manage.station.back"))}</a></p>`;
      return;
    }
  }
  root.innerHTML = `<h1 id="station-title">${esc(title)}${station ? ` ${data(station.name)}` : ""}</h1>
    <p><a href="#/stations">${esc(t("manage.station.back"))}</a></p>
    <p role="status" id="station-status" class="form-status" hidden></p>
    <section class="panel" aria-labelledby="station-form-title">
      <h2 id="station-form-title">${esc(t("manage.station.section"))}</h2>${stationFormHtml(station)}</section>
    <section class="panel" aria-labelledby="antennas-title">
      <h2 id="antennas-title">${esc(t("manage.antenna.section"))}</h2>
      <div id="antennas-box">${station ? "" : `<p class="muted" id="antennas-later">${esc(t("manage.antenna.after_station"))}</p>`}</div>
    </section>`;
  const mask = new MaskEditor(visit, visit.el("mask-editor-box"), station?.horizon_mask);
  let section = station ? new AntennaSection(ctx, visit, rememberStation(ctx, station), antennas) : null;
  visit.el("station-form").addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el("station-error");
    const read = readStation(visit, mask);
    if (read.problem) return formProblem(box, read.problem);
    let saved;
    try {
      saved = station ? await send("PATCH", `/stations/${station.id}`, read.body) : await send("POST", "/stations", read.body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t(station ? "manage.station.error_save" : "manage.station.error_create"), error);
    }
    if (!visit.live) return;
    showFormError(box, null);
    const created = !station;
    station = rememberStation(ctx, saved);
    showStatus(visit.el("station-status"), created ? "manage.station.created" : "manage.station.saved", { name: saved.name });
    visit.el("station-title").innerHTML = `${esc(t("manage.station.edit_title"))} ${data(saved.name)}`;
    visit.el("station-submit").textContent = t("manage.station.save");
    visit.el("station-satnogs").innerHTML = satnogsStateHtml(saved);
    if (created) {
      history.replaceState(null, "", `#/stations/${saved.id}/edit`); // the address of what is now edited (no reroute)
      section = new AntennaSection(ctx, visit, station, []);
    } else if (section) section.station = station;
  }));
}
