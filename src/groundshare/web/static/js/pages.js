// The Stations and Satellites pages: parameters, antennas, sharing policies, upcoming
// contacts, and the age of each satellite's orbit in force (age.js: the API's state, fresh,
// stale or expired, at the network's clock) beside each satellite and each contact (each
// satellite's name opens its own page: satellite.js).

import { get, getAll, iso, utcText } from "./api.js";
import { ageBadge, contactAge, refreshSatellites, satelliteAge, STATES } from "./age.js";
import { t } from "./i18n.js";
import { esc, tableHtml } from "./ui.js";

const DAY_MS = 86_400_000;
const UPCOMING = 5;

const num = (v, digits = 1) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
const when = (v) => utcText(new Date(v), false);

export async function renderStations(root, ctx, visit) {
  const now = ctx.clock.now();
  const [policies, upcoming] = await Promise.all([
    getAll("/policies"),
    Promise.all(ctx.stations.map((s) => get("/contacts", { station_id: s.id, start: iso(now), limit: UPCOMING }))),
    refreshSatellites(ctx),
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
        [{ label: "Start" }, { label: "End" }, { label: "Satellite" }, { label: "Booked by" }, { label: "Status" },
          { label: t("col.elements") }],
        contacts.map((c) => ({ attrs: ` class="contact-row" data-contact-id="${c.id}"`,
          cells: [esc(when(c.start)), esc(when(c.end)),
            esc(ctx.satellites.get(c.satellite_id)?.name ?? `satellite ${c.satellite_id}`), esc(ctx.orgName(c.org_id)),
            esc(c.status), ageBadge(contactAge(ctx, c))] })))
        : `<p class="muted">No upcoming contacts you can see.</p>`}
    </section>`;
  });
  root.innerHTML = `<h1>Stations</h1><p class="muted">${ctx.stations.length} stations you own or may use.</p>${sections.join("")}`;
}

export async function renderSatellites(root, ctx, visit) {
  const now = ctx.clock.now();
  const [, contacts] = await Promise.all([
    refreshSatellites(ctx), // the ages move on, and a sync may have brought a new orbit since sign-in
    getAll("/contacts", { start: iso(now), end: iso(new Date(now.getTime() + 2 * DAY_MS)) }),
  ]);
  if (!visit.live) return;
  const next = new Map();
  for (const c of contacts) {
    if (c.status !== "cancelled" && new Date(c.start) > now && !next.has(c.satellite_id)) next.set(c.satellite_id, c);
  }
  const satellites = [...ctx.satellites.values()].sort((a, b) => a.name.localeCompare(b.name));
  const counts = { fresh: 0, stale: 0, expired: 0, none: 0 };
  for (const s of satellites) {
    const state = satelliteAge(s)?.state;
    counts[STATES.includes(state) ? state : "none"] += 1;
  }
  const rows = satellites.map((s) => {
    const age = satelliteAge(s);
    const orbit = age ? `${ageBadge(age)} <span class="muted">${esc(t("age.epoch", { epoch: when(age.epoch) }))}</span>`
      : ageBadge(null);
    const c = next.get(s.id);
    const antenna = c && ctx.antennas.get(c.antenna_id);
    return {
      attrs: ` class="satellite-row" data-norad="${s.norad_id}" data-satellite-id="${s.id}"`,
      cells: [`<a href="#/satellites/${s.id}" title="${esc(t("sat.open", { name: s.name }))}">${esc(s.name)}</a>`,
        String(s.norad_id), esc(ctx.orgName(s.org_id)), s.is_public ? "public" : "private",
        esc(s.band ?? "—"), s.downlink_frequency_hz ? `${(s.downlink_frequency_hz / 1e6).toFixed(3)} MHz` : "—", orbit,
        c ? esc(`${when(c.start)}, ${antenna ? antenna.station.name : `antenna ${c.antenna_id}`}`) : '<span class="muted">none in 2 days</span>'],
    };
  });
  root.innerHTML = `<h1>Satellites</h1>
    <p class="muted">${satellites.length} satellites you own or that are public. Ages are at the network's clock
      (${esc(utcText(now, false))}).</p>
    <p id="age-counts" role="status">${esc(t("age.counts", counts))}</p>
    <section class="panel">${tableHtml("Satellites", [{ label: "Name" }, { label: "NORAD", num: true }, { label: "Owner" },
      { label: "Visibility" }, { label: "Band" }, { label: "Downlink" }, { label: t("age.column") },
      { label: "Next contact" }], rows, 'id="satellites-table"')}</section>`;
}
