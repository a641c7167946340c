// Sharing (workflow 4): an antenna's owner grants it to a partner organisation on its own terms
// (bands, hours per week, priority, blackout windows), changes and revokes those grants; the
// partner sees what it has been granted and how much of this week's quota its contacts use.
// Viewers read both lists; only operators and admins see the forms and buttons (the API
// refuses their writes anyway).  Also exports the small form helpers the other management
// pages (station_editor.js, satellite_editor.js, tokens.js) share.

import { ApiError, getAll, iso, send, utcText } from "./api.js";
import { numberText, t } from "./i18n.js";
import { esc, readUtc, showFormError, utcInputHtml } from "./ui.js";

/** The radio bands of the API (store.Band), in frequency order. */
export const BANDS = ["vhf", "uhf", "l", "s", "c", "x", "ku", "k", "ka"];

/** A band as operators write it ("UHF", "Ku"). */
export function bandText(band) {
  return band === "ku" ? "Ku" : band === "ka" ? "Ka" : String(band).toUpperCase();
}

/** A data value (a name, an id) that no translation may touch. */
export function data(text) {
  return `<span translate="no">${esc(text)}</span>`;
}

/** Whether the caller's token may write (operators and admins). */
export function canWrite(ctx) {
  return ctx.me.role === "admin" || ctx.me.role === "operator";
}

/** The number typed in `input`: null when blank, NaN when not a number. */
export function readNumber(input) {
  const text = String(input.value ?? "").trim().replace(",", ".");
  if (text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : NaN;
}

/** The text of a number field's value (blank for null). */
export function numberValue(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** Show a translated message (no API reasons) in a form's alert box. */
export function formProblem(box, message) {
  showFormError(box, message);
  box.scrollIntoView?.({ block: "nearest" });
}

/**
 * The HTML of the string of `key` with `vars` filled in, each text value wrapped as a data
 * value (translate="no"): names from the database inside a translated sentence.
 */
export function tData(key, vars = {}) {
  const marks = {};
  const values = [];
  for (const [name, value] of Object.entries(vars)) {
    if (typeof value === "string") {
      marks[name] = `\u0001${values.length}\u0001`;
      values.push(value);
    } else marks[name] = value;
  }
  return esc(t(key, marks)).replace(/\u0001(\d+)\u0001/g, (whole, i) => data(values[Number(i)]));
}

/** Show the string of `key` (data values marked, see tData) in a `role="status"` element; null hides it. */
export function showStatus(box, key, vars = {}) {
  if (!box) return;
  box.innerHTML = key ? tData(key, vars) : "";
  box.hidden = !key;
}

/**
 * An inline confirmation before a destructive action: `button` turns into "Confirm" and
 * "Keep" buttons; "Confirm" runs `action` (guarded by the visit), "Keep" puts `button` back.
 */
export function confirmInline(visit, button, confirmLabel, action) {
  const confirm = document.createElement("button");
  confirm.type = "button";
  confirm.className = "danger confirm";
  confirm.textContent = confirmLabel;
  const keep = document.createElement("button");
  keep.type = "button";
  keep.className = "keep";
  keep.textContent = t("sharing.keep");
  const box = document.createElement("span");
  box.className = "confirm-step";
  box.append(confirm, keep);
  button.replaceWith(box);
  keep.addEventListener("click", () => box.replaceWith(button));
  confirm.addEventListener("click", visit.guard(async () => {
    confirm.disabled = true;
    keep.disabled = true;
    try {
      await action();
    } finally {
      if (confirm.isConnected) box.replaceWith(button);
    }
  }));
  confirm.focus();
}

// ---------------------------------------------------------------------------------------------
// The terms of a grant: bands, hours per week, priority, blackout windows

let blackoutSerial = 0;

function termsHtml(prefix, policy) {
  const bands = new Set(policy?.bands || []);
  const boxes = BANDS.map((b) => `<label class="check" for="${prefix}-band-${b}">
      <input type="checkbox" id="${prefix}-band-${b}" name="bands" value="${b}"${bands.has(b) ? " checked" : ""}>
      <span translate="no">${esc(bandText(b))}</span></label>`).join("");
  return `<fieldset class="bands" id="${prefix}-bands">
      <legend>${esc(t("sharing.bands"))}</legend>
      <p class="hint muted">${esc(t("sharing.bands_hint"))}</p>
      <div class="checks">${boxes}</div>
    </fieldset>
    <div class="form-row">
      <p><label for="${prefix}-hours">${esc(t("sharing.hours"))}</label>
        <input id="${prefix}-hours" type="number" min="0" max="168" step="any" inputmode="decimal"
          value="${esc(numberValue(policy?.hours_per_week))}" aria-describedby="${prefix}-hours-hint">
        <span id="${prefix}-hours-hint" class="hint muted">${esc(t("sharing.hours_hint"))}</span></p>
      <p><label for="${prefix}-priority">${esc(t("sharing.priority"))}</label>
        <input id="${prefix}-priority" type="number" min="-1000" max="1000" step="1" required
          value="${esc(String(policy?.priority ?? 0))}"></p>
    </div>
    <fieldset class="blackouts">
      <legend>${esc(t("sharing.blackouts"))}</legend>
      <p class="hint muted">${esc(t("sharing.blackouts_hint"))}</p>
      <div id="${prefix}-blackouts" class="blackout-list"></div>
      <p><button type="button" id="${prefix}-add-blackout">${esc(t("sharing.blackout.add"))}</button></p>
    </fieldset>`;
}

/** Add a blackout window's row (start, end, remove) to the list of `prefix`. */
function addBlackoutRow(visit, prefix, window = null) {
  const list = visit.el(`${prefix}-blackouts`);
  const n = ++blackoutSerial;
  const row = document.createElement("div");
  row.className = "blackout-row";
  row.innerHTML = `<span class="utc-field">${utcInputHtml(`${prefix}-bo${n}-start`, t("sharing.blackout.start"),
    window ? new Date(window.start) : null)}</span>
    <span class="utc-field">${utcInputHtml(`${prefix}-bo${n}-end`, t("sharing.blackout.end"),
    window ? new Date(window.end) : null)}</span>
    <button type="button" class="remove-blackout">${esc(t("sharing.blackout.remove"))}</button>`;
  row.querySelector(".remove-blackout").addEventListener("click", () => row.remove());
  list.append(row);
  return row;
}

function wireTerms(visit, prefix, policy) {
  for (const window of policy?.blackout_windows || []) addBlackoutRow(visit, prefix, window);
  visit.el(`${prefix}-add-blackout`).addEventListener("click", () => {
    addBlackoutRow(visit, prefix).querySelector("input").focus();
  });
}

/** Only the antenna's own band may be ticked (the API refuses others): the rest are disabled. */
function limitBands(visit, prefix, band) {
  for (const b of BANDS) {
    const box = visit.el(`${prefix}-band-${b}`);
    box.disabled = Boolean(band) && b !== band;
    if (box.disabled) box.checked = false;
  }
}

/** The terms typed in the form of `prefix`, or {problem} (translated) naming the field at fault. */
function readTerms(visit, prefix) {
  const bands = BANDS.filter((b) => visit.el(`${prefix}-band-${b}`).checked);
  const hours = readNumber(visit.el(`${prefix}-hours`));
  if (Number.isNaN(hours)) return { problem: t("sharing.error.number", { field: t("sharing.hours") }) };
  const priority = readNumber(visit.el(`${prefix}-priority`));
  if (priority === null || Number.isNaN(priority)) {
    return { problem: t("sharing.error.number", { field: t("sharing.priority") }) };
  }
  const windows = [];
  const rows = [...visit.el(`${prefix}-blackouts`).querySelectorAll(".blackout-row")];
  for (const [i, row] of rows.entries()) {
    const [startInput, endInput] = row.querySelectorAll("input");
    const start = readUtc(startInput.value);
    const end = readUtc(endInput.value);
    if (!start || !end) {
      (start ? endInput : startInput).focus();
      return { problem: t("sharing.error.time", { field: t(start ? "sharing.blackout.end" : "sharing.blackout.start"),
        n: i + 1 }) };
    }
    windows.push({ start: iso(start), end: iso(end) });
  }
  return { terms: { bands, hours_per_week: hours, priority, blackout_windows: windows } };
}

// ---------------------------------------------------------------------------------------------
// The page

function antennaLabel(ctx, id) {
  const antenna = ctx.antennas.get(id);
  return antenna ? antenna.name : t("sharing.antenna_n", { id });
}

function stationLabel(ctx, id) {
  const antenna = ctx.antennas.get(id);
  return antenna ? antenna.station.name : "—";
}

function bandsCell(policy) {
  return policy.bands.length ? data(policy.bands.map(bandText).join(", ")) : esc(t("sharing.all_bands"));
}

function hoursCell(policy) {
  return policy.hours_per_week === null ? esc(t("sharing.no_cap")) : esc(numberText(policy.hours_per_week, 2));
}

function blackoutsCell(policy) {
  if (!policy.blackout_windows.length) return esc(t("sharing.none"));
  return `<ul class="plain">${policy.blackout_windows.map((w) => `<li><span translate="no">${
    esc(utcText(new Date(w.start), false))} – ${esc(utcText(new Date(w.end), false))}</span></li>`).join("")}</ul>`;
}

/** This week's use of a grant: a meter and its numbers (hours used of hours per week, the week's Monday). */
function quotaCell(policy) {
  const used = policy.week_hours_used;
  if (used === undefined || used === null) return `<span class="muted">—</span>`;
  const week = policy.week_start ? String(policy.week_start).slice(0, 10) : "";
  const weekText = week ? `<span class="muted quota-week">${esc(t("sharing.week_of", { week }))}</span>` : "";
  if (policy.hours_per_week === null) {
    return `<span class="quota">${esc(t("sharing.used_no_cap", { used: numberText(used, 2) }))}</span> ${weekText}`;
  }
  const cap = policy.hours_per_week;
  const label = t("sharing.used_of", { used: numberText(used, 2), cap: numberText(cap, 2) });
  const over = cap > 0 ? used / cap : used > 0 ? 1 : 0;
  return `<span class="quota${over >= 1 ? " quota-full" : ""}">
      <meter min="0" max="${esc(String(cap || 1))}" value="${esc(String(Math.min(used, cap || 1)))}"
        low="${esc(String((cap || 1) * 0.75))}" high="${esc(String((cap || 1) * 0.95))}" optimum="0"
        aria-label="${esc(label)}"></meter>
      <span class="quota-text">${esc(label)}</span></span> ${weekText}`;
}

function receivedHtml(ctx, policies) {
  if (!policies.length) return `<p class="muted" id="received-empty">${esc(t("sharing.received_empty"))}</p>`;
  const head = [t("sharing.col.antenna"), t("sharing.col.station"), t("sharing.col.owner"), t("sharing.col.bands"),
    t("sharing.col.hours"), t("sharing.col.priority"), t("sharing.col.blackouts"), t("sharing.col.week_use")];
  const rows = policies.map((p) => `<tr class="policy-row" data-policy-id="${p.id}">
      <td>${data(antennaLabel(ctx, p.antenna_id))}</td><td>${data(stationLabel(ctx, p.antenna_id))}</td>
      <td>${data(ctx.orgName(p.owner_org_id))}</td><td>${bandsCell(p)}</td><td class="num">${hoursCell(p)}</td>
      <td class="num">${esc(numberText(p.priority))}</td><td>${blackoutsCell(p)}</td><td>${quotaCell(p)}</td></tr>`);
  return tableWrap("received-table", t("sharing.received_caption"), head, rows);
}

function grantedHtml(ctx, policies, writer) {
  if (!policies.length) return `<p class="muted" id="granted-empty">${esc(t("sharing.granted_empty"))}</p>`;
  const head = [t("sharing.col.antenna"), t("sharing.col.station"), t("sharing.col.partner"), t("sharing.col.bands"),
    t("sharing.col.hours"), t("sharing.col.priority"), t("sharing.col.blackouts"), t("sharing.col.week_use")];
  if (writer) head.push(t("sharing.col.actions"));
  const rows = policies.map((p) => `<tr class="policy-row" data-policy-id="${p.id}">
      <td>${data(antennaLabel(ctx, p.antenna_id))}</td><td>${data(stationLabel(ctx, p.antenna_id))}</td>
      <td>${data(ctx.orgName(p.grantee_org_id))}</td><td>${bandsCell(p)}</td><td class="num">${hoursCell(p)}</td>
      <td class="num">${esc(numberText(p.priority))}</td><td>${blackoutsCell(p)}</td><td>${quotaCell(p)}</td>
      ${writer ? `<td class="actions"><button type="button" class="edit-policy">${esc(t("sharing.edit"))}</button>
        <button type="button" class="revoke-policy">${esc(t("sharing.revoke"))}</button></td>` : ""}</tr>`);
  return tableWrap("granted-table", t("sharing.granted_caption"), head, rows);
}

function tableWrap(id, caption, head, rows) {
  return `<div class="table-wrap"><table id="${id}"><caption class="muted">${esc(caption)}</caption>
    <thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
}

function grantFormHtml(ctx, partners) {
  const own = ownAntennas(ctx);
  if (!own.length) return `<p class="muted" id="grant-none">${esc(t("sharing.no_antennas"))}</p>`;
  const antennaOptions = own.map((a) => `<option value="${a.id}">${esc(`${a.station.name} / ${a.name} (${
    bandText(a.band)})`)}</option>`).join("");
  const partnerOptions = partners.map((o) => `<option value="${o.id}">${esc(o.name)}</option>`).join("");
  return `<form id="grant-form" class="manage-form" novalidate>
      <div class="form-row">
        <p><label for="grant-antenna">${esc(t("sharing.antenna"))}</label>
          <select id="grant-antenna" required>${antennaOptions}</select></p>
        <p><label for="grant-partner">${esc(t("sharing.partner"))}</label>
          <select id="grant-partner" required>${partnerOptions}</select></p>
      </div>
      ${termsHtml("grant", null)}
      <p><button type="submit" class="primary" id="grant-submit">${esc(t("sharing.grant"))}</button></p>
      <p role="alert" class="form-error" id="grant-error" hidden></p>
    </form>`;
}

function ownAntennas(ctx) {
  return [...ctx.antennas.values()].filter((a) => a.station.org_id === ctx.me.org.id)
    .sort((a, b) => a.station.name.localeCompare(b.station.name) || a.name.localeCompare(b.name));
}

export async function render(root, ctx, visit) {
  const writer = canWrite(ctx);
  const [orgs, policies] = await Promise.all([getAll("/orgs"), getAll("/policies")]);
  if (!visit.live) return;
  for (const org of orgs) if (!ctx.orgs.has(org.id)) ctx.orgs.set(org.id, org);
  const partners = orgs.filter((o) => o.id !== ctx.me.org.id).sort((a, b) => a.name.localeCompare(b.name));
  root.innerHTML = `<h1>${esc(t("sharing.title"))}</h1>
    <p class="muted">${esc(t("sharing.intro"))}</p>
    ${writer ? "" : `<p class="note" id="sharing-readonly">${esc(t("sharing.viewer_note"))}</p>`}
    <p role="status" id="sharing-status" class="form-status" hidden></p>
    ${writer ? `<section class="panel" aria-labelledby="grant-title"><h2 id="grant-title">${esc(t("sharing.grant_title"))}</h2>
      ${grantFormHtml(ctx, partners)}</section>` : ""}
    <section class="panel" aria-labelledby="granted-title"><h2 id="granted-title">${esc(t("sharing.granted_title"))}</h2>
      <p role="alert" class="form-error" id="granted-error" hidden></p>
      <div id="granted-list"></div></section>
    <section class="panel" aria-labelledby="received-title"><h2 id="received-title">${esc(t("sharing.received_title"))}</h2>
      <div id="received-list"></div></section>`;
  const state = { policies };
  const draw = () => drawLists(ctx, visit, state, writer);
  const reload = async () => {
    state.policies = await getAll("/policies");
    if (visit.live) draw();
  };
  draw();
  if (writer && visit.el("grant-form")) wireGrantForm(ctx, visit, reload);
}

function drawLists(ctx, visit, state, writer) {
  const me = ctx.me.org.id;
  const granted = state.policies.filter((p) => p.owner_org_id === me);
  const received = state.policies.filter((p) => p.grantee_org_id === me);
  visit.el("granted-list").innerHTML = grantedHtml(ctx, granted, writer);
  visit.el("received-list").innerHTML = receivedHtml(ctx, received);
  if (!writer) return;
  const reload = async () => {
    state.policies = await getAll("/policies");
    if (visit.live) drawLists(ctx, visit, state, writer);
  };
  for (const row of visit.el("granted-list").querySelectorAll("tr.policy-row")) {
    const policy = granted.find((p) => p.id === Number(row.dataset.policyId));
    row.querySelector(".edit-policy").addEventListener("click", () => openEditor(ctx, visit, row, policy, reload));
    const revoke = row.querySelector(".revoke-policy");
    revoke.addEventListener("click", () => confirmInline(visit, revoke, t("sharing.revoke_confirm"), async () => {
      const box = visit.el("granted-error");
      try {
        await send("DELETE", `/policies/${policy.id}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showFormError(box, t("sharing.error.revoke"), error);
        return;
      }
      if (!visit.live) return;
      showFormError(box, null);
      showStatus(visit.el("sharing-status"), "sharing.revoked", { id: policy.id,
        partner: ctx.orgName(policy.grantee_org_id) });
      await reload();
    }));
  }
}

/** Open the inline editor of a granted policy under its row (one at a time per row). */
function openEditor(ctx, visit, row, policy, reload) {
  const next = row.nextElementSibling;
  if (next?.classList.contains("edit-row")) {
    next.querySelector("input")?.focus();
    return;
  }
  const prefix = `edit-${policy.id}`;
  const editRow = document.createElement("tr");
  editRow.className = "edit-row";
  editRow.innerHTML = `<td colspan="${row.children.length}">
    <form id="${prefix}-form" class="manage-form policy-edit" novalidate>
      <h3>${esc(t("sharing.edit_title", { id: policy.id }))}</h3>
      ${termsHtml(prefix, policy)}
      <p><button type="submit" class="primary">${esc(t("sharing.save"))}</button>
        <button type="button" class="cancel-edit">${esc(t("sharing.cancel_edit"))}</button></p>
      <p role="alert" class="form-error" id="${prefix}-error" hidden></p>
    </form></td>`;
  row.after(editRow);
  wireTerms(visit, prefix, policy);
  limitBands(visit, prefix, ctx.antennas.get(policy.antenna_id)?.band);
  editRow.querySelector(".cancel-edit").addEventListener("click", () => editRow.remove());
  row.closest(".table-wrap")?.scrollTo({ left: 0 }); // the form starts at the table's left edge
  const form = visit.el(`${prefix}-form`);
  form.addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el(`${prefix}-error`);
    const read = readTerms(visit, prefix);
    if (read.problem) return formProblem(box, read.problem);
    let changed;
    try {
      changed = await send("PATCH", `/policies/${policy.id}`, read.terms);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t("sharing.error.save"), error);
    }
    if (!visit.live) return;
    showStatus(visit.el("sharing-status"), "sharing.saved", { id: changed.id,
      partner: ctx.orgName(changed.grantee_org_id) });
    await reload();
  }));
  form.querySelector("input").focus();
}

function wireGrantForm(ctx, visit, reload) {
  const antennaSelect = visit.el("grant-antenna");
  const bandOfChoice = () => ctx.antennas.get(Number(antennaSelect.value))?.band;
  wireTerms(visit, "grant", null);
  limitBands(visit, "grant", bandOfChoice());
  antennaSelect.addEventListener("change", () => limitBands(visit, "grant", bandOfChoice()));
  visit.el("grant-form").addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el("grant-error");
    const read = readTerms(visit, "grant");
    if (read.problem) return formProblem(box, read.problem);
    const body = { antenna_id: Number(antennaSelect.value), grantee_org_id: Number(visit.el("grant-partner").value),
      ...read.terms };
    let policy;
    try {
      policy = await send("POST", "/policies", body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t("sharing.error.grant"), error);
    }
    if (!visit.live) return;
    showFormError(box, null);
    showStatus(visit.el("sharing-status"), "sharing.granted", { id: policy.id,
      antenna: antennaLabel(ctx, policy.antenna_id), partner: ctx.orgName(policy.grantee_org_id) });
    await reload();
  }));
}
