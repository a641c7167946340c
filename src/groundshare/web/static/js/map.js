// The map: Natural Earth land drawn offline with d3-geo, stations with their visibility
// footprints, satellites' positions and ground tracks (GET /satellites/tracks) coloured by
// owner, and a time control (now, play/pause, next contact).

import { ageBadgeElement, contactAge } from "./age.js";
import { ApiError, get, iso, utcText } from "./api.js";
import { t, tHtml } from "./i18n.js";
import { esc, fillLegend } from "./ui.js";

const d3 = window.d3;
const topojson = window.topojson;

const EARTH_RADIUS_KM = 6378.137;
const WIDTH = 960;
const HEIGHT = 480;
const TICK_MS = 200;
const REFETCH_S = 1800; // fetch tracks again once the map's time is this far from the last fetch
const SPEEDS = [1, 60, 600];

let landPromise = null; // the land outline, loaded once per page load

function land() {
  landPromise ??= d3.json(new URL("vendor/world-atlas/land-110m.json", document.baseURI))
    .then((topology) => topojson.feature(topology, topology.objects.land));
  return landPromise;
}

/** Earth central angle (deg) of the circle where a satellite at `altKm` is `minElDeg` above the horizon. */
export function footprintRadiusDeg(altKm, minElDeg) {
  const el = (minElDeg * Math.PI) / 180;
  const lambda = Math.acos((EARTH_RADIUS_KM / (EARTH_RADIUS_KM + altKm)) * Math.cos(el)) - el;
  return (Math.max(lambda, 0) * 180) / Math.PI;
}

/** Split [[lon, lat], ...] into runs that do not cross the antimeridian. */
export function splitAtAntimeridian(points) {
  const runs = [];
  let run = [];
  for (const point of points) {
    if (run.length && Math.abs(point[0] - run[run.length - 1][0]) > 180) {
      if (run.length > 1) runs.push(run);
      run = [];
    }
    run.push(point);
  }
  if (run.length > 1) runs.push(run);
  return runs;
}

/** [lon, lat] of a track ([[offset_s, lat, lon], ...]) at `offsetS`, interpolated (null outside it). */
function positionAt(track, offsetS) {
  if (!track.length || offsetS < track[0][0] || offsetS > track[track.length - 1][0]) return null;
  const i = Math.max(1, d3.bisector((p) => p[0]).left(track, offsetS));
  const [t0, lat0, lon0] = track[i - 1];
  const [t1, lat1, lon1] = track[Math.min(i, track.length - 1)];
  const f = t1 > t0 ? (offsetS - t0) / (t1 - t0) : 0;
  let dLon = lon1 - lon0;
  if (dLon > 180) dLon -= 360;
  if (dLon < -180) dLon += 360;
  const lon = ((lon0 + f * dLon + 540) % 360) - 180;
  return [lon, lat0 + f * (lat1 - lat0)];
}

/** Whether two boxes {x, y, w, h} overlap. */
function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Place labels beside their points, trying six spots around each so that no two overlap
 * (nor any box of `taken`); a label with no free spot is dropped (`item.hidden`) when
 * `drop` is true, else kept at its first spot.  `measure(text)`: the label's drawn size
 * {w, h} (`textMeasure`), so that the boxes are those the browser draws.
 */
export function placeLabels(items, { taken = [], drop = false, measure }) {
  const placed = [...taken];
  for (const item of [...items].sort((a, b) => a.py - b.py || a.px - b.px)) {
    const size = measure(item.text);
    const w = size.w + 2;
    const h = size.h;
    const options = [[7, -h + 1], [7, 3], [-7 - w, -h + 1], [-7 - w, 3], [7, -2 * h], [7, h + 4]];
    let box = null;
    for (const [dx, dy] of options) {
      const candidate = { x: item.px + dx, y: item.py + dy, w, h };
      if (candidate.x < 0 || candidate.x + w > WIDTH) continue;
      if (!placed.some((b) => overlaps(b, candidate))) { box = candidate; break; }
    }
    item.hidden = !box && drop;
    box ??= { x: item.px + 7, y: item.py - h + 1, w, h };
    if (!item.hidden) placed.push(box);
    item.box = box;
    item.lx = box.x;
    item.ly = box.y + size.ascent;
  }
  return items;
}

/**
 * A function giving the drawn size {w, h} of a text in `svg` with CSS class `cls` (the
 * label's font) and its ascent above the baseline, measured once per text on a short-lived hidden element.
 */
function textMeasure(svg, cls) {
  const sizes = new Map();
  return (text) => {
    if (!sizes.has(text)) {
      const probe = svg.append("text").attr("class", cls).attr("visibility", "hidden").text(text);
      const box = probe.node().getBBox();
      probe.remove();
      sizes.set(text, { w: box.width, h: box.height, ascent: -box.y }); // the probe's baseline is at y = 0
    }
    return sizes.get(text);
  };
}

/** The satellites whose tracks the filter shows: "all", "mine" (the caller's own) or "none". */
export function tracksShown(filter, satellite, ctx) {
  if (filter === "none") return false;
  if (filter === "mine") return satellite.org_id === ctx.me.org.id;
  return true;
}

export async function render(root, ctx, visit) {
  root.innerHTML = `
    <h1>${esc(t("map.title"))}</h1>
    <section class="panel" aria-label="${esc(t("map.controls_label"))}">
      <div class="controls">
        <span class="readout" id="map-time" aria-live="off" translate="no"></span>
        <button type="button" id="map-now">${esc(t("map.now"))}</button>
        <button type="button" id="map-play" aria-pressed="false">${esc(t("map.play"))}</button>
        <label>${esc(t("map.speed"))} <select id="map-speed">${SPEEDS.map((s) =>
          `<option value="${s}"${s === 60 ? " selected" : ""}>${s}×</option>`).join("")}</select></label>
        <button type="button" id="map-next">${esc(t("map.next"))}</button>
        <span id="map-next-info" class="muted" role="status"></span>
      </div>
      <div class="controls">
        <label>${esc(t("map.tracks"))} <select id="map-tracks">
          <option value="all">${esc(t("map.tracks.all"))}</option>
          <option value="mine">${esc(t("map.tracks.mine"))}</option>
          <option value="none">${esc(t("map.tracks.none"))}</option></select></label>
        <label>${esc(t("map.fp_alt"))} <input type="number" id="fp-alt" min="100" max="40000" step="50" value="500"></label>
        <label>${esc(t("map.fp_el"))} <input type="number" id="fp-el" min="0" max="89" step="1" value="10"></label>
        <span class="muted">${esc(t("map.fp_note"))}</span>
      </div>
    </section>
    <section class="panel">
      <div class="map-wrap"><svg id="map-svg" class="map-svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="map-title map-desc">
        <title id="map-title">${esc(t("map.svg_title"))}</title>
        <desc id="map-desc"></desc>
      </svg></div>
      <ul class="legend" id="map-legend" aria-label="${esc(t("map.legend_label"))}"></ul>
      <p id="map-hover" class="muted" role="status" aria-live="off"></p>
      <p id="map-note" class="muted"></p>
    </section>`;

  const projection = d3.geoEquirectangular().fitExtent([[0, 0], [WIDTH, HEIGHT]], { type: "Sphere" });
  const path = d3.geoPath(projection);
  const svg = d3.select(visit.el("map-svg"));
  svg.append("path").attr("class", "graticule").attr("d", path(d3.geoGraticule10()));
  const landLayer = svg.append("g").attr("class", "land-layer");
  const footprintLayer = svg.append("g").attr("class", "footprints");
  const trackLayer = svg.append("g").attr("class", "tracks");
  const stationLayer = svg.append("g").attr("class", "stations"); // station names stay readable
  const satelliteLayer = svg.append("g").attr("class", "satellites");
  const satelliteLabelSize = textMeasure(satelliteLayer, "satellite-label");

  let tracks = null; // the last GET /satellites/tracks answer
  let tracksAt = null; // its `at` (ms)
  let fetching = null;
  let timer = null;
  let hovered = null; // the satellite id under the cursor (highlighted with its track)
  let stationBoxes = []; // the station labels' boxes: satellite labels keep clear of them

  const readout = visit.el("map-time");
  const note = visit.el("map-note");

  function drawFootprints() {
    const alt = Number(visit.el("fp-alt").value) || 500;
    const el = Number(visit.el("fp-el").value) || 0;
    const radius = footprintRadiusDeg(alt, el);
    footprintLayer.selectAll("path").data(ctx.stations, (s) => s.id).join("path")
      .attr("class", "footprint")
      .attr("d", (s) => path(d3.geoCircle().center([s.lon_deg, s.lat_deg]).radius(radius).precision(2)()));
  }

  function drawStations() {
    const items = placeLabels(ctx.stations.map((s) => {
      const [px, py] = projection([s.lon_deg, s.lat_deg]);
      return { station: s, px, py, text: s.name };
    }), { measure: textMeasure(stationLayer, "station-label") });
    stationBoxes = items.map((d) => d.box).concat(items.map((d) => ({ x: d.px - 5, y: d.py - 5, w: 10, h: 10 })));
    const g = stationLayer.selectAll("g.station").data(items, (d) => d.station.id).join("g").attr("class", "station")
      .attr("translate", "no");
    g.append("circle").attr("class", "station-marker").attr("r", 4.5)
      .attr("cx", (d) => d.px).attr("cy", (d) => d.py).attr("data-station-id", (d) => d.station.id)
      .append("title").text((d) => `${d.station.name} (${ctx.orgName(d.station.org_id)})`);
    g.append("text").attr("class", "station-label").attr("x", (d) => d.lx).attr("y", (d) => d.ly).text((d) => d.text);
  }

  function highlight(id) {
    hovered = id;
    trackLayer.selectAll("path").classed("highlight", (d) => d.id === id).classed("dimmed", (d) => id !== null && d.id !== id);
    satelliteLayer.selectAll("g.satellite").classed("highlight", (d) => d.sat.satellite_id === id);
    if (id !== null) satelliteLayer.selectAll("g.satellite").filter((d) => d.sat.satellite_id === id).raise();
    const sat = tracks?.data.find((s) => s.satellite_id === id);
    visit.el("map-hover").innerHTML = sat
      ? tHtml("map.hover", { name: sat.name, norad: sat.norad_id, org: ctx.orgName(sat.org_id) }) : "";
  }

  function drawSatellites() {
    const now = ctx.time.getTime();
    readout.textContent = utcText(ctx.time);
    const rows = tracks ? tracks.data : [];
    const offsetS = tracksAt === null ? 0 : (now - tracksAt) / 1000;
    const filter = visit.el("map-tracks").value;
    const lines = [];
    const markers = [];
    for (const sat of rows) {
      const colour = ctx.orgColour(sat.org_id);
      const past = [];
      const ahead = [];
      for (const [ts, lat, lon] of sat.track) {
        if (ts <= offsetS) past.push([lon, lat]);
        if (ts >= offsetS) ahead.push([lon, lat]);
      }
      const here = positionAt(sat.track, offsetS);
      if (here) { past.push(here); ahead.unshift(here); }
      if (tracksShown(filter, sat, ctx)) {
        const id = sat.satellite_id;
        lines.push({ key: `${id}-past`, id, cls: "track-past", colour, runs: splitAtAntimeridian(past) });
        lines.push({ key: `${id}-ahead`, id, cls: "track-ahead", colour, runs: splitAtAntimeridian(ahead) });
      }
      if (here) {
        const [px, py] = projection(here);
        markers.push({ sat, colour, xy: [px, py], px, py, text: sat.name });
      }
    }
    placeLabels(markers, { taken: stationBoxes, drop: true, measure: satelliteLabelSize });
    trackLayer.selectAll("path").data(lines, (d) => d.key).join("path")
      .attr("class", (d) => d.cls).attr("stroke", (d) => d.colour).attr("data-satellite-id", (d) => d.id)
      .attr("d", (d) => (d.runs.length ? path({ type: "MultiLineString", coordinates: d.runs }) : null));
    const g = satelliteLayer.selectAll("g.satellite").data(markers, (d) => d.sat.satellite_id)
      .join((enter) => {
        const e = enter.append("g").attr("class", "satellite").attr("translate", "no");
        e.append("circle").attr("class", "satellite-hit").attr("r", 9);
        e.append("circle").attr("class", "satellite-marker").attr("r", 3.5);
        e.append("text").attr("class", "satellite-label");
        e.append("title");
        e.on("pointerenter", (event, d) => highlight(d.sat.satellite_id))
          .on("pointerleave", () => highlight(null));
        return e;
      });
    g.attr("data-norad", (d) => d.sat.norad_id).attr("data-satellite-id", (d) => d.sat.satellite_id);
    g.selectAll("circle").attr("cx", (d) => d.xy[0]).attr("cy", (d) => d.xy[1]);
    g.select("circle.satellite-marker").attr("fill", (d) => d.colour);
    g.select("text").attr("x", (d) => d.lx).attr("y", (d) => d.ly).classed("dropped", (d) => d.hidden)
      .text((d) => d.sat.name);
    g.select("title").text((d) => `${d.sat.name} (NORAD ${d.sat.norad_id}), ${ctx.orgName(d.sat.org_id)}`);
    visit.el("map-desc").textContent = t("map.desc", { stations: ctx.stations.length, satellites: markers.length,
      time: utcText(ctx.time) });
    const owners = [...new Set(rows.map((s) => s.org_id))].sort((a, b) => a - b);
    fillLegend(visit.el("map-legend"), owners, ctx);
    if (hovered !== null) highlight(markers.some((d) => d.sat.satellite_id === hovered) ? hovered : null);
  }

  async function fetchTracks() {
    if (fetching) return fetching;
    const at = new Date(Math.round(ctx.time.getTime() / 1000) * 1000);
    fetching = (async () => {
      try {
        const body = await get("/satellites/tracks", { at: iso(at), step_s: 60 });
        if (!visit.live) return;
        tracks = body;
        tracksAt = new Date(body.at).getTime();
        note.innerHTML = body.warnings && body.warnings.length ? tHtml("map.warnings", { text: body.warnings.join(" ") }) : "";
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) note.textContent = t("map.no_tracks");
        else visit.report(error);
      } finally {
        fetching = null;
      }
      if (visit.live) drawSatellites();
    })();
    return fetching;
  }

  function onTime() {
    drawSatellites();
    if (tracksAt === null || Math.abs(ctx.time.getTime() - tracksAt) / 1000 > REFETCH_S) fetchTracks();
  }

  function setPlaying(playing) {
    const button = visit.el("map-play");
    button.setAttribute("aria-pressed", String(playing));
    button.textContent = playing ? t("map.pause") : t("map.play");
    clearInterval(timer);
    timer = null;
    if (playing) {
      timer = setInterval(() => {
        const speed = Number(visit.el("map-speed").value);
        ctx.setTime(new Date(ctx.time.getTime() + TICK_MS * speed));
      }, TICK_MS);
    }
  }

  visit.el("map-now").addEventListener("click", () => ctx.setTime(ctx.clock.now()));
  visit.el("map-play").addEventListener("click", () => setPlaying(timer === null));
  visit.el("map-tracks").addEventListener("change", () => drawSatellites());
  visit.el("map-next").addEventListener("click", visit.guard(async () => {
    const info = visit.el("map-next-info");
    const from = ctx.time.getTime();
    const page = await get("/contacts", { start: iso(ctx.time), limit: 200 });
    if (!visit.live) return;
    const next = page.data.find((c) => new Date(c.start).getTime() > from + 500 && c.status !== "cancelled");
    if (!next) {
      info.textContent = t("map.next_none");
      return;
    }
    setPlaying(false);
    const antenna = ctx.antennas.get(next.antenna_id);
    const satellite = ctx.satellites.get(next.satellite_id);
    info.innerHTML = `${tHtml("map.next_info", { id: next.id,
      satellite: satellite ? satellite.name : `#${next.satellite_id}`,
      station: antenna ? antenna.station.name : `#${next.antenna_id}` })} `;
    info.append(ageBadgeElement(contactAge(ctx, next))); // how old the orbit it is flown on is
    ctx.setTime(new Date(next.start));
  }));
  for (const id of ["fp-alt", "fp-el"]) visit.el(id).addEventListener("input", drawFootprints);

  const unsubscribe = ctx.onTime(onTime);
  visit.onLeave(() => {
    setPlaying(false);
    unsubscribe();
  });
  drawFootprints();
  drawStations();
  drawSatellites();
  const [outline] = await Promise.all([land(), fetchTracks()]);
  if (!visit.live) return;
  landLayer.append("path").attr("class", "land").attr("d", path(outline));
}
