// The Stations and Satellites pages: parameters, antennas, sharing policies, upcoming
// contacts, and the age of each satellite's element set against the dashboard clock (each
// satellite's name opens its own page: satellite.js).

import { ApiError, get, getAll, iso, utcText } from "./api.js";
import { t } from "./i18n.js";
import { esc, tableHtml } from "./ui.js";

const DAY_MS = 86_400_000;
const STALE_DAYS = 7; // an element set older than this (at the dashboard clock) is flagged
const UPCOMING = 5;

const num = (v, digits = 1) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
const when = (v) => utcText(new Date(v), false);

export async function renderStations(root, ctx, visit) {
  const now = ctx.clock.now();
  const [policies, upcoming] = await Promise.all([
    getAll("/policies"),
    Promise.all(ctx.stations.map((s) => get("/contacts", { station_id: s.id, start: iso(now), limit: UPCOMING }))),
  ]);
  if (!visit.live) return;
  const antennasOf = (station) => [...ctx.antennas.values()].filter((a) => a.station.id === station.id);
  const sections = ctx.stations.map((station, i) => {
    const antennas = antennasOf(station);
    const antennaIds = new Set(antennas.map((a) => a.id));
    const grants = policies.filter((p) => antennaIds.has(p.antenna_id));
    const contacts = upcoming[i].data;
    const mask = station.horizon_mask ? `${station.horizon_mask.length} points` : "none";
    return `<section class="panel station-card" data-station-id="${station.id}" aria-labelledby="station-${station.id}">
      <h2 id="station-${station.id}">${esc(station.name)} <span class="muted">— ${esc(ctx.orgName(station.org_id))}</span></h2>
      <dl class="facts">
        <dt>Position</dt><dd>${num(station.lat_deg, 4)}°, ${num(station.lon_deg, 4)}°, ${num(station.alt_m, 0)} m</dd>
        <dt>Minimum elevation</dt><dd>${num(station.min_elevation_deg)}°</dd>
        <dt>Horizon mask</dt><dd>${esc(mask)}</dd>
      </dl>
      ${tableHtml("Antennas", [{ label: "Antenna" }, { label: "Band" }, { label: "Setup s", num: true },
        { label: "Turnaround s", num: true }, { label: "G/T dB/K", num: true }, { label: "EIRP dBW", num: true }],
        antennas.map((a) => ({ cells: [esc(a.name), esc(a.band), num(a.setup_s, 0), num(a.turnaround_s, 0),
          num(a.g_over_t_dbk), num(a.eirp_dbw)] })))}
      ${grants.length ? tableHtml("Sharing policies you granted or received on these antennas",
        [{ label: "Antenna" }, { label: "Owner" }, { label: "Granted to" }, { label: "Hours per week", num: true },
          { label: "Priority", num: true }, { label: "Bands" }],
        grants.map((p) => ({ cells: [esc(ctx.antennas.get(p.antenna_id)?.name ?? p.antenna_id), esc(ctx.orgName(p.owner_org_id)),
          esc(ctx.orgName(p.grantee_org_id)), p.hours_per_week === null ? "no cap" : num(p.hours_per_week),
          String(p.priority), esc(p.bands.length ? p.bands.join(", ") : "all")] })))
        : `<p class="muted">No sharing policy you granted or received covers these antennas.</p>`}
      ${contacts.length ? tableHtml(`Next ${contacts.length} contacts from ${when(now)}`,
        [{ label: "Start" }, { label: "End" }, { label: "Satellite" }, { label: "Booked by" }, { label: "Status" }],
        contacts.map((c) => ({ cells: [esc(when(c.start)), esc(when(c.end)),
          esc(ctx.satellites.get(c.satellite_id)?.name ?? `satellite ${c.satellite_id}`), esc(ctx.orgName(c.org_id)),
          esc(c.status)] })))
        : `<p class="muted">No upcoming contacts you can see.</p>`}
    </section>`;
  });
  root.innerHTML = `<h1>Stations</h1><p class="muted">${ctx.stations.length} stations you own or may use.</p>${sections.join("")}`;
}

async function elementAges(ctx, now) {
  try {
    const body = await get("/satellites/tracks", { at: iso(now), step_s: 600, before_s: 0, after_s: 0 });
    return new Map(body.data.map((t) => [t.satellite_id, t]));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) return new Map();
    throw error;
  }
}

export async function renderSatellites(root, ctx, visit) {
  const now = ctx.clock.now();
  const [ages, contacts] = await Promise.all([
    elementAges(ctx, now),
    getAll("/contacts", { start: iso(now), end: iso(new Date(now.getTime() + 2 * DAY_MS)) }),
  ]);
  if (!visit.live) return;
  const next = new Map();
  for (const c of contacts) {
    if (c.status !== "cancelled" && new Date(c.start) > now && !next.has(c.satellite_id)) next.set(c.satellite_id, c);
  }
  const satellites = [...ctx.satellites.values()].sort((a, b) => a.name.localeCompare(b.name));
  const stale = satellites.filter((s) => ages.get(s.id)?.element_age_days > STALE_DAYS).length;
  const rows = satellites.map((s) => {
    const track = ages.get(s.id);
    let age = '<span class="muted">no elements</span>';
    if (track) {
      const days = track.element_age_days;
      const text = `${when(track.element_epoch)} (${days.toFixed(1)} d)`;
      age = days > STALE_DAYS ? `<span class="warn" role="note">${esc(text)}: older than ${STALE_DAYS} days, upload a fresh set</span>`
        : esc(text);
    }
    const c = next.get(s.id);
    const antenna = c && ctx.antennas.get(c.antenna_id);
    return {
      attrs: ` class="satellite-row" data-norad="${s.norad_id}" data-satellite-id="${s.id}"`,
      cells: [`<a href="#/satellites/${s.id}" title="${esc(t("sat.open", { name: s.name }))}">${esc(s.name)}</a>`,
        String(s.norad_id), esc(ctx.orgName(s.org_id)), s.is_public ? "public" : "private",
        esc(s.band ?? "—"), s.downlink_frequency_hz ? `${(s.downlink_frequency_hz / 1e6).toFixed(3)} MHz` : "—", age,
        c ? esc(`${when(c.start)}, ${antenna ? antenna.station.name : `antenna ${c.antenna_id}`}`) : '<span class="muted">none in 2 days</span>'],
    };
  });
  root.innerHTML = `<h1>Satellites</h1>
    <p class="muted">${satellites.length} satellites you own or that are public. Element-set ages are at the dashboard
      clock (${esc(utcText(now, false))})${stale ? `; <strong>${stale}</strong> older than ${STALE_DAYS} days` : ""}.</p>
    <section class="panel">${tableHtml("Satellites", [{ label: "Name" }, { label: "NORAD", num: true }, { label: "Owner" },
      { label: "Visibility" }, { label: "Band" }, { label: "Downlink" }, { label: "Element set epoch (age)" },
      { label: "Next contact" }], rows, 'id="satellites-table"')}</section>`;
}
