// The GNSS page: GPS and Galileo DOPs over one station (the shipped element sets, GET
// /stations/{id}/gnss), drawn here: the DOPs over the window with UTC time and DOP axes and a
// legend, and a sky plot of the satellites' tracks with compass points and a legend per
// constellation, with a one-line summary.  The tracks' look angles come from the server's own
// SVG of the same series (its sky plot's polylines, each titled with its satellite's name).

import { get, utcText } from "./api.js";
import { numberText, t } from "./i18n.js";
import { esc } from "./ui.js";

const d3 = window.d3;

const DOPS = [["pdop", "PDOP", "#c00"], ["hdop", "HDOP", "#06c"], ["vdop", "VDOP", "#090"]];
const CONSTELLATIONS = [
  { key: "gps", name: "GPS", colour: "#06c", match: ["GPS", "NAVSTAR"] },
  { key: "galileo", name: "Galileo", colour: "#c60", match: ["GALILEO", "GSAT"] },
  { key: "other", name: null, colour: "#777", match: [] },
];
const MARGIN = { top: 14, right: 16, bottom: 44, left: 44 };

/** The constellation of a satellite, by its name (GPS, Galileo, else "other"). */
export function constellationOf(name) {
  const upper = String(name).toUpperCase();
  return CONSTELLATIONS.find((c) => c.match.some((m) => upper.includes(m))) ?? CONSTELLATIONS[2];
}

/**
 * The sky tracks of the server's SVG: [{name, points: [[x, y] in units of the plot's radius,
 * north up]}], read from its sky plot (the largest ring and the titled polylines).
 */
export function skyTracks(svgText) {
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const rings = [...doc.querySelectorAll("circle")].map((c) => ({
    cx: Number(c.getAttribute("cx")), cy: Number(c.getAttribute("cy")), r: Number(c.getAttribute("r")) }));
  if (!rings.length) return [];
  const outer = rings.reduce((a, b) => (b.r > a.r ? b : a));
  return [...doc.querySelectorAll("polyline")].filter((line) => line.querySelector("title")).map((line) => ({
    name: line.querySelector("title").textContent,
    points: line.getAttribute("points").trim().split(/\s+/).map((pair) => {
      const [px, py] = pair.split(",").map(Number);
      return [(px - outer.cx) / outer.r, (py - outer.cy) / outer.r];
    }),
  }));
}

export async function render(root, ctx, visit) {
  const stations = [...ctx.stations].sort((a, b) => a.name.localeCompare(b.name));
  const options = stations.map((s) => `<option value="${s.id}">${esc(s.name)} — ${esc(ctx.orgName(s.org_id))}</option>`);
  root.innerHTML = `<h1>${esc(t("gnss.title"))}</h1>
    <p class="muted">${esc(t("gnss.intro"))}</p>
    <section class="panel">
      <form id="gnss-form" class="controls gnss-form">
        <label for="gnss-station">${esc(t("gnss.station"))}</label>
        <select id="gnss-station" name="station" translate="no">${options.join("")}</select>
        <label for="gnss-pdop">${esc(t("gnss.threshold"))}</label>
        <input id="gnss-pdop" name="pdop_max" type="number" min="0.5" max="100" step="0.5" value="6">
        <button type="submit">${esc(t("gnss.show"))}</button>
      </form>
      <p id="gnss-summary" role="status" aria-live="polite"></p>
      <div id="gnss-chart" class="gnss-charts"></div>
    </section>`;
  if (!stations.length) {
    visit.el("gnss-summary").textContent = t("gnss.no_stations");
    return;
  }
  const select = visit.el("gnss-station");
  const threshold = visit.el("gnss-pdop");
  let latest = 0; // the station chosen last wins over an earlier answer still on its way
  const show = visit.guard(async () => {
    const ask = ++latest;
    const summary = visit.el("gnss-summary");
    summary.textContent = t("gnss.computing");
    const body = await get(`/stations/${select.value}/gnss`, { pdop_max: threshold.value || 6 });
    if (!visit.live || ask !== latest) return;
    const station = stations.find((s) => String(s.id) === String(body.station_id));
    const name = station ? station.name : `#${body.station_id}`;
    summary.innerHTML = "";
    const parts = t("gnss.summary", { station: "\u0000", n: body.n_satellites, pdop: body.pdop_max,
      share: numberText(100 * body.share_pdop_below, 1), samples: body.times.length, step: body.step_s,
      start: utcText(new Date(body.start)), mask: body.mask_deg }).split("\u0000");
    const named = document.createElement("span");
    named.setAttribute("translate", "no");
    named.textContent = name;
    summary.append(parts[0], named, ...parts.slice(1));
    const chart = visit.el("gnss-chart");
    chart.replaceChildren();
    drawDops(chart, body, name);
    drawSky(chart, body, name);
  });
  visit.el("gnss-form").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  select.addEventListener("change", () => show());
  await show();
}

/** The DOPs over the window: UTC time across, DOP up, the threshold dashed, with a legend. */
function drawDops(holder, body, name) {
  const figure = d3.select(holder).append("figure").attr("class", "gnss-figure gnss-dops");
  const w = Math.max(280, Math.min(760, holder.clientWidth || 760));
  const h = w < 500 ? 240 : 300;
  const times = body.times.map((v) => new Date(v));
  const finite = DOPS.flatMap(([key]) => body[key].filter((v) => v !== null));
  const top = Math.max(body.pdop_max, d3.max(finite) ?? 1) * 1.1;
  const x = d3.scaleUtc().domain(d3.extent(times)).range([MARGIN.left, w - MARGIN.right]);
  const y = d3.scaleLinear().domain([0, top]).nice().range([h - MARGIN.bottom, MARGIN.top]);
  const svg = figure.append("svg").attr("width", w).attr("height", h).attr("viewBox", `0 0 ${w} ${h}`)
    .attr("role", "img").attr("aria-label", t("gnss.dops_label", { station: name }));
  const spanH = (times[times.length - 1] - times[0]) / 3_600_000;
  const everyH = [1, 2, 3, 6, 12, 24].find((n) => (spanH / n) * 70 <= w - MARGIN.left - MARGIN.right) ?? 24;
  const format = (d) => (d.getUTCHours() === 0 ? d3.utcFormat("%m-%d")(d) : d3.utcFormat("%H:%M")(d));
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${h - MARGIN.bottom})`)
    .call(d3.axisBottom(x).ticks(d3.utcHour.every(everyH)).tickFormat(format));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${MARGIN.left},0)`)
    .call(d3.axisLeft(y).ticks(5).tickFormat((v) => numberText(v, 1)));
  svg.append("text").attr("class", "axis-title").attr("x", (MARGIN.left + w - MARGIN.right) / 2).attr("y", h - 8)
    .attr("text-anchor", "middle").text(t("gnss.time_axis"));
  svg.append("text").attr("class", "axis-title").attr("x", 4).attr("y", MARGIN.top - 2).text("DOP");
  for (const [key, label, colour] of DOPS) {
    const values = body[key];
    svg.append("path").attr("class", `dop-line dop-${key}`).attr("fill", "none").attr("stroke", colour)
      .attr("stroke-width", key === "pdop" ? 2 : 1.3).attr("data-dop", label)
      .attr("d", d3.line().defined((v) => v !== null).x((_, i) => x(times[i])).y((v) => y(v))(values));
  }
  svg.append("line").attr("class", "dop-threshold").attr("x1", MARGIN.left).attr("x2", w - MARGIN.right)
    .attr("y1", y(body.pdop_max)).attr("y2", y(body.pdop_max)).attr("stroke", "#c00").attr("stroke-dasharray", "4 3");
  const legend = figure.append("ul").attr("class", "legend gnss-legend");
  for (const [, label, colour] of DOPS) legendItem(legend, colour, label, "line");
  legendItem(legend, "#c00", t("gnss.threshold_legend", { pdop: numberText(body.pdop_max, 1) }), "dashed");
  figure.append("figcaption").attr("class", "muted").text(t("gnss.dops_caption"));
}

function legendItem(list, colour, text, kind = "box") {
  const item = list.append("li");
  item.append("span").attr("class", `swatch swatch-${kind}`).attr("aria-hidden", "true")
    .each(function () { this.style.background = kind === "dashed" ? "transparent" : colour; this.style.borderColor = colour; });
  item.append("span").text(text);
}

/** The satellites' tracks across the sky: north up, azimuth clockwise, zenith at the centre. */
function drawSky(holder, body, name) {
  const tracks = skyTracks(body.svg || "");
  const figure = d3.select(holder).append("figure").attr("class", "gnss-figure gnss-sky");
  const size = Math.max(240, Math.min(360, holder.clientWidth || 360));
  const c = size / 2;
  const r = c - 26;
  const svg = figure.append("svg").attr("width", size).attr("height", size).attr("viewBox", `0 0 ${size} ${size}`)
    .attr("class", "gnss-skyplot").attr("role", "img").attr("aria-label", t("gnss.sky_label", { station: name }));
  for (const el of [0, 30, 60]) {
    svg.append("circle").attr("class", "ring").attr("cx", c).attr("cy", c).attr("r", (r * (90 - el)) / 90);
    if (el) svg.append("text").attr("class", "ring-label").attr("x", c + 3).attr("y", c - (r * (90 - el)) / 90 - 2).text(`${el}°`);
  }
  const compass = [[0, "shell.compass.n"], [90, "shell.compass.e"], [180, "shell.compass.s"], [270, "shell.compass.w"]];
  for (const [az, key] of compass) {
    const a = (az * Math.PI) / 180;
    svg.append("line").attr("class", "spoke").attr("x1", c).attr("y1", c)
      .attr("x2", c + r * Math.sin(a)).attr("y2", c - r * Math.cos(a));
    svg.append("text").attr("class", "compass").attr("text-anchor", "middle")
      .attr("x", c + (r + 14) * Math.sin(a)).attr("y", c - (r + 14) * Math.cos(a) + 5).text(t(key));
  }
  const counts = new Map();
  const seen = new Set();
  for (const track of tracks) {
    const constellation = constellationOf(track.name);
    if (!seen.has(track.name)) {
      seen.add(track.name);
      counts.set(constellation, (counts.get(constellation) || 0) + 1);
    }
    svg.append("polyline").attr("class", "sky-track").attr("fill", "none").attr("stroke", constellation.colour)
      .attr("data-constellation", constellation.key)
      .attr("points", track.points.map(([px, py]) => `${(c + px * r).toFixed(1)},${(c + py * r).toFixed(1)}`).join(" "))
      .append("title").text(track.name);
  }
  const legend = figure.append("ul").attr("class", "legend gnss-legend");
  for (const constellation of CONSTELLATIONS) {
    if (!counts.has(constellation)) continue;
    legendItem(legend, constellation.colour, t("gnss.constellation", {
      name: constellation.name ?? t("gnss.other"), n: counts.get(constellation) }));
  }
  figure.append("figcaption").attr("class", "muted").text(t("gnss.sky_caption", { mask: numberText(body.mask_deg, 1) }));
}
