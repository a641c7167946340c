// The Stations and Satellites pages: parameters, antennas, sharing policies, upcoming
// contacts, and the age of each satellite's orbit in force (age.js: the API's state, fresh,
// stale or expired, at the network's clock) beside each satellite and each contact (each
// satellite's name opens its own page: satellite.js).  Each station says who runs it (the
// groundshare agent or a SatNOGS client); a SatNOGS station's job poll is its heartbeat, so its
// card shows whether it is online and when it was last seen (UTC, at the network's clock).

import { get, getAll, iso, utcText } from "./api.js";
import { ageBadge, contactAge, refreshSatellites, satelliteAge, STATES } from "./age.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, tableHtml } from "./ui.js";
import { statusText } from "./timeline.js";

const DAY_MS = 86_400_000;
const UPCOMING = 5;

const num = (v, digits = 1) => (v === null || v === undefined ? "—" : numberText(Number(v), digits));
const when = (v) => utcText(new Date(v), false);
const data = (text) => `<span translate="no">${esc(text)}</span>`;
/** The SatNOGS station software's name: a data value inside translated sentences. */
const CLIENT = "SatNOGS";

/** Who runs `station`, and for a SatNOGS station its online/offline badge and when it was last seen. */
function runnerHtml(station) {
  const runner = station.runner ?? "agent";
  if (runner !== "satnogs") {
    return `<span class="station-runner" data-runner="${esc(runner)}">${tHtml("pages.runner.agent", { program: "groundshare" })}</span>`;
  }
  const online = Boolean(station.online);
  const name = tHtml("pages.runner.satnogs", { client: CLIENT });
  const badge = `<span class="age-badge ${online ? "age-fresh" : "age-none"} station-online" data-online="${online}">${
    esc(t(online ? "pages.online" : "pages.offline"))}</span>`;
  const seen = station.last_seen_at
    ? tHtml("pages.last_seen", { time: utcText(new Date(station.last_seen_at)) })
    : esc(t("pages.never_seen"));
  return `<span class="station-runner" data-runner="satnogs">${name}</span> ${badge}
    <span class="muted station-last-seen">${seen}</span>`;
}

/** Bring the shared context's stations up to date (runner, last seen, online change while the dashboard is open). */
async function refreshStations(ctx) {
  const fresh = await getAll("/stations");
  for (const station of fresh) {
    const known = ctx.stations.find((s) => s.id === station.id);
    if (known) Object.assign(known, station);
  }
}

/** Whether the signed-in organisation may write (operators and administrators; viewers only read). */
export function mayWrite(ctx) {
  return ctx.me.role === "operator" || ctx.me.role === "admin";
}

export async function renderStations(root, ctx, visit) {
  const now = ctx.clock.now();
  const [policies, upcoming] = await Promise.all([
    getAll("/policies"),
    Promise.all(ctx.stations.map((s) => get("/contacts", { station_id: s.id, start: iso(now), limit: UPCOMING }))),
    refreshSatellites(ctx),
    refreshStations(ctx),
  ]);
  if (!visit.live) return;
  const writer = mayWrite(ctx);
  const antennasOf = (station) => [...ctx.antennas.values()].filter((a) => a.station.id === station.id);
  const sections = ctx.stations.map((station, i) => {
    const antennas = antennasOf(station);
    const antennaIds = new Set(antennas.map((a) => a.id));
    const grants = policies.filter((p) => antennaIds.has(p.antenna_id));
    const contacts = upcoming[i].data;
    const mask = station.horizon_mask ? t("pages.mask_points", { n: station.horizon_mask.length }) : t("pages.mask_none");
    const edit = writer && station.org_id === ctx.me.org.id
      ? `<a class="button-link edit-station" href="#/stations/${station.id}/edit"
          aria-label="${esc(t("pages.edit_station", { name: station.name }))}">${esc(t("pages.edit"))}</a>` : "";
    return `<section class="panel station-card" data-station-id="${station.id}" aria-labelledby="station-${station.id}">
      <div class="card-head"><h2 id="station-${station.id}"><span translate="no">${esc(station.name)}</span>
        <span class="muted">— <span translate="no">${esc(ctx.orgName(station.org_id))}</span></span></h2>${edit}</div>
      <dl class="facts">
        <dt>${esc(t("pages.position"))}</dt><dd translate="no">${num(station.lat_deg, 4)}°, ${num(station.lon_deg, 4)}°, ${num(station.alt_m, 0)} m</dd>
        <dt>${esc(t("pages.min_el"))}</dt><dd translate="no">${num(station.min_elevation_deg)}°</dd>
        <dt>${esc(t("pages.mask"))}</dt><dd>${esc(mask)}</dd>
        <dt>${esc(t("pages.runner"))}</dt><dd>${runnerHtml(station)}</dd>
      </dl>
      ${tableHtml(t("pages.antennas"), [{ label: t("pages.col.antenna") }, { label: t("pages.col.band") },
        { label: t("pages.col.setup"), num: true }, { label: t("pages.col.turnaround"), num: true },
        { label: t("pages.col.gt"), num: true }, { label: t("pages.col.eirp"), num: true }],
        antennas.map((a) => ({ cells: [data(a.name), data(a.band), num(a.setup_s, 0), num(a.turnaround_s, 0),
          num(a.g_over_t_dbk), num(a.eirp_dbw)] })))}
      ${grants.length ? tableHtml(t("pages.policies"),
        [{ label: t("pages.col.antenna") }, { label: t("pages.col.owner") }, { label: t("pages.col.grantee") },
          { label: t("pages.col.hours"), num: true }, { label: t("pages.col.priority"), num: true }, { label: t("pages.col.bands") }],
        grants.map((p) => ({ cells: [data(ctx.antennas.get(p.antenna_id)?.name ?? p.antenna_id), data(ctx.orgName(p.owner_org_id)),
          data(ctx.orgName(p.grantee_org_id)), p.hours_per_week === null ? esc(t("pages.no_cap")) : num(p.hours_per_week),
          String(p.priority), p.bands.length ? data(p.bands.join(", ")) : esc(t("pages.all_bands"))] })))
        : `<p class="muted">${esc(t("pages.no_policies"))}</p>`}
      ${contacts.length ? tableHtml(t("pages.next_contacts", { n: contacts.length, time: when(now) }),
        [{ label: t("pages.col.start") }, { label: t("pages.col.end") }, { label: t("pages.col.satellite") },
          { label: t("pages.col.booked_by") }, { label: t("pages.col.status") }, { label: t("col.elements") }],
        contacts.map((c) => ({ attrs: ` class="contact-row" data-contact-id="${c.id}"`,
          cells: [data(when(c.start)), data(when(c.end)),
            data(ctx.satellites.get(c.satellite_id)?.name ?? `#${c.satellite_id}`), data(ctx.orgName(c.org_id)),
            esc(statusText(c.status)), ageBadge(contactAge(ctx, c))] })))
        : `<p class="muted">${esc(t("pages.no_contacts"))}</p>`}
    </section>`;
  });
  const add = writer ? `<p><a class="button-link primary" id="add-station" href="#/stations/new">${esc(t("pages.add_station"))}</a></p>` : "";
  root.innerHTML = `<h1>${esc(t("pages.stations_title"))}</h1>
    <p class="muted">${esc(t("pages.stations_count", { n: ctx.stations.length }))}</p>${add}${sections.join("")}`;
}

export async function renderSatellites(root, ctx, visit) {
  const now = ctx.clock.now();
  const [, contacts] = await Promise.all([
    refreshSatellites(ctx), // the ages move on, and a sync may have brought a new orbit since sign-in
    getAll("/contacts", { start: iso(now), end: iso(new Date(now.getTime() + 2 * DAY_MS)) }),
  ]);
  if (!visit.live) return;
  const writer = mayWrite(ctx);
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
    const orbit = age ? `${ageBadge(age)} <span class="muted">${tHtml("age.epoch", { epoch: when(age.epoch) })}</span>`
      : ageBadge(null);
    const c = next.get(s.id);
    const antenna = c && ctx.antennas.get(c.antenna_id);
    const own = writer && s.org_id === ctx.me.org.id;
    const name = `<a href="#/satellites/${s.id}" translate="no" title="${esc(t("sat.open", { name: s.name }))}">${esc(s.name)}</a>`;
    const edit = own ? ` <a class="button-link small edit-satellite" href="#/satellites/${s.id}/edit"
      aria-label="${esc(t("pages.edit_satellite", { name: s.name }))}">${esc(t("pages.edit"))}</a>` : "";
    return {
      attrs: ` class="satellite-row" data-norad="${s.norad_id}" data-satellite-id="${s.id}"`,
      cells: [`${name}${edit}`, String(s.norad_id), data(ctx.orgName(s.org_id)),
        esc(t(s.is_public ? "pages.public" : "pages.private")),
        data(s.band ?? "—"), s.downlink_frequency_hz ? data(`${numberText(s.downlink_frequency_hz / 1e6, 3)} MHz`) : "—", orbit,
        c ? data(`${when(c.start)}, ${antenna ? antenna.station.name : `#${c.antenna_id}`}`)
          : `<span class="muted">${esc(t("pages.none_in_2_days"))}</span>`],
    };
  });
  const add = writer ? `<p><a class="button-link primary" id="add-satellite" href="#/satellites/new">${esc(t("pages.add_satellite"))}</a></p>` : "";
  root.innerHTML = `<h1>${esc(t("pages.satellites_title"))}</h1>
    <p class="muted">${tHtml("pages.satellites_count", { n: satellites.length, time: utcText(now, false) })}</p>
    <p id="age-counts" role="status">${esc(t("age.counts", counts))}</p>${add}
    <section class="panel">${tableHtml(t("pages.satellites_caption"), [{ label: t("pages.col.name") },
      { label: t("sat.norad"), num: true }, { label: t("pages.col.owner") }, { label: t("sat.visibility") },
      { label: t("pages.col.band") }, { label: t("pages.col.downlink") }, { label: t("age.column") },
      { label: t("pages.col.next_contact") }], rows, 'id="satellites-table"')}</section>`;
}
