// How old the orbit behind a pass or a contact is: a badge with the element set's age and its
// state, wherever the dashboard shows a pass or a contact.
//
// The state (fresh, stale, expired) is the API's, judged with the network's thresholds
// (settings `element_age_warning_s`, default 3 days, and `element_age_error_s`, default 14
// days): a pass carries `element_epoch`, `element_age_s` and `element_state`; a satellite its
// `elements_in_force` ({id, epoch, source, age_s, state}, or null without any set).  A contact
// is flown on its satellite's orbit in force (the agent follows it), so a contact's badge is
// its satellite's.  The state is written out in words, never told by colour alone.

import { getAll, utcText } from "./api.js";
import { t } from "./i18n.js";
import { esc } from "./ui.js";

export const STATES = ["fresh", "stale", "expired"];

const HOUR_S = 3600;
const DAY_S = 86_400;

/** "40 min", "5 h", "3.2 d" (in the language shown): an age in seconds, short. */
export function ageText(ageS) {
  const s = Math.max(0, Number(ageS) || 0);
  if (s < HOUR_S) return t("age.minutes", { n: Math.floor(s / 60) });
  if (s < 2 * DAY_S) return t("age.hours", { n: Math.floor(s / HOUR_S) });
  return t("age.days", { n: Math.round((10 * s) / DAY_S) / 10 }); // t() writes it with the language's decimal sign
}

/** The age of a pass (a row of GET .../passes), or null when the answer holds none. */
export function passAge(pass) {
  if (!pass || pass.element_epoch == null || pass.element_state == null) return null;
  return { id: pass.element_set_id ?? null, epoch: pass.element_epoch, age_s: pass.element_age_s,
    state: pass.element_state, source: null };
}

/** The age of a satellite's orbit in force, or null (no element set, or a satellite unknown here). */
export function satelliteAge(satellite) {
  return satellite?.elements_in_force ?? null;
}

/**
 * The age of the orbit a contact is flown on: its satellite's in force; undefined when the satellite is not one
 * the caller may see (another's private satellite on the caller's antenna): its orbit is not theirs to see.
 */
export function contactAge(ctx, contact) {
  const satellite = ctx.satellites.get(contact.satellite_id);
  return satellite ? satelliteAge(satellite) : undefined;
}

function sourceText(source) {
  if (source == null) return "";
  if (typeof source === "object") return String(source.kind ?? source.name ?? source.id ?? "");
  return String(source);
}

/** The state of an age: fresh, stale or expired; "none" without a set; "unknown" for a satellite not shown. */
export function ageState(age) {
  if (age === undefined) return "unknown";
  if (!age) return "none";
  return STATES.includes(age.state) ? age.state : "unknown";
}

/** One line saying it all (for titles, labels and plain-text places): "stale: elements 5.2 d old". */
export function ageSentence(age) {
  if (age === undefined) return t("age.state.unknown");
  if (!age) return t("age.none");
  const state = STATES.includes(age.state) ? age.state : "unknown";
  return t("age.sentence", { state: t(`age.state.${state}`), age: ageText(age.age_s) });
}

/** The badge's HTML (escaped): state and age in words, epoch and source in its title (null: no set; undefined: hidden). */
export function ageBadge(age) {
  if (age === undefined) {
    return `<span class="age-badge age-unknown" data-state="unknown" title="${esc(t("age.hidden_title"))}">${
      esc(t("age.state.unknown"))}</span>`;
  }
  if (!age) {
    return `<span class="age-badge age-none" data-state="none" title="${esc(t("age.none_title"))}">${
      esc(t("age.none"))}</span>`;
  }
  const state = STATES.includes(age.state) ? age.state : "unknown";
  const source = sourceText(age.source);
  const title = t(source ? "age.title_source" : "age.title", {
    epoch: utcText(new Date(age.epoch)), source, state: t(`age.state.${state}`) });
  return `<span class="age-badge age-${state}" data-state="${esc(state)}" data-age-s="${esc(Math.round(Number(age.age_s)))}"` +
    ` data-epoch="${esc(age.epoch)}" title="${esc(title)}">${esc(t(`age.state.${state}`))}` +
    ` <span class="age-value">${esc(ageText(age.age_s))}</span></span>`;
}

/** The badge as an element (for places drawn through the DOM). */
export function ageBadgeElement(age) {
  const holder = document.createElement("span");
  holder.innerHTML = ageBadge(age);
  return holder.firstElementChild;
}

/** Read the satellites again (their orbit in force and its age move on) into `ctx.satellites`. */
export async function refreshSatellites(ctx) {
  const satellites = await getAll("/satellites");
  for (const satellite of satellites) ctx.satellites.set(satellite.id, satellite);
  return ctx.satellites;
}
