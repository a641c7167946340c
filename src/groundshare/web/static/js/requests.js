// Requests (workflow 2): what an organisation asks the planner for, and how each request
// stands.  An operator or admin creates one (satellite, window in ISO UTC, contacts per day,
// minimum duration, priority), changes an open one inline (PATCH /requests/{id}) and cancels
// one after an inline confirm (POST /requests/{id}/cancel).  Every request of the caller's
// organisation is listed with its state as the API gives it: served, partly served (k of n
// contacts), unserved with the scheduler's explanations from the last planning run that looked
// at it (the kind in words, the scheduler's own message quoted, the bookings in the way named
// with their organisation and priority), not yet planned, or cancelled.  A viewer sees the list
// only.

import { ApiError, getAll, iso, send, utcText } from "./api.js";
import { canWrite, satelliteOptions } from "./book.js";
import { numberText, t } from "./i18n.js";
import { esc, readUtc, showFormError, tableHtml, utcInputHtml } from "./ui.js";

const HOUR_MS = 3_600_000;
export const REASON_KINDS = ["no_visibility", "link", "not_allowed", "busy", "cap", "policy_hours", "blocked", "not_chosen"];
const STATES = ["served", "partly_served", "unserved", "not_planned", "cancelled"];

/** The name of a satellite the scheduler names by id ("12"); another's private one by its id only. */
function satelliteName(ctx, id) {
  return ctx.satellites.get(Number(id))?.name ?? t("requests.satellite_id", { id: String(id) });
}

/** The blockers of a reason, each (satellite, organisation, priority) once. */
function uniqueBlockers(blockers) {
  const seen = new Map();
  for (const b of blockers || []) seen.set(`${b.satellite}\u0000${b.organisation}\u0000${b.priority}`, b);
  return [...seen.values()];
}

/** The HTML of the scheduler's reasons (kind in words, its message quoted, the blockers named). */
export function reasonsHtml(ctx, reasons) {
  if (!reasons?.length) return "";
  const items = reasons.map((r) => {
    const kind = REASON_KINDS.includes(r.kind) ? t(`requests.kind.${r.kind}`) : t("requests.kind.other");
    const blockers = uniqueBlockers(r.blockers).map((b) => `<li>${esc(t("requests.blocker"))} <span translate="no">${
      esc(satelliteName(ctx, b.satellite))} — ${esc(b.organisation)}</span> ${
      esc(t("requests.blocker_priority", { priority: numberText(Number(b.priority), 2) }))}</li>`).join("");
    return `<li class="reason" data-kind="${esc(r.kind)}"><strong>${esc(kind)}</strong>${
      r.message ? `: <q translate="no">${esc(r.message)}</q>` : ""}${
      blockers ? `<ul class="blockers">${blockers}</ul>` : ""}</li>`;
  }).join("");
  return `<ul class="reasons">${items}</ul>`;
}

/** The request's state, as the API gives it (or, from an older API, as its status says). */
function stateOf(request) {
  if (STATES.includes(request.state)) return request.state;
  if (request.status === "cancelled") return "cancelled";
  if (request.status === "scheduled") return "served";
  return "not_planned";
}

function stateHtml(ctx, request) {
  const state = stateOf(request);
  const booked = request.contacts_booked ?? 0;
  const wanted = request.contacts_wanted ?? 1;
  let text;
  if (state === "served") text = t("requests.state.served", { k: booked, n: wanted });
  else if (state === "partly_served") text = t("requests.state.partly_served", { k: booked, n: wanted });
  else text = t(`requests.state.${state}`);
  const when = request.planned_at
    ? `<br><span class="muted">${esc(t("requests.planned_at"))} <span translate="no">${
      esc(utcText(new Date(request.planned_at)))}</span></span>` : "";
  const reasons = state === "unserved" || state === "partly_served" ? reasonsHtml(ctx, request.reasons) : "";
  return `<span class="state state-${state}" data-state="${state}">${esc(text)}</span>${when}${reasons}`;
}

function perDayText(request) {
  return request.contacts_per_day == null ? t("requests.per_day_any") : String(request.contacts_per_day);
}

/** The fields of a request form (create or change), their ids prefixed with `prefix`. */
function fieldsHtml(prefix, values) {
  return `<p>${utcInputHtml(`${prefix}-start`, t("requests.window_start"), values.start)}</p>
    <p>${utcInputHtml(`${prefix}-end`, t("requests.window_end"), values.end)}</p>
    <p><label for="${prefix}-per-day">${esc(t("requests.per_day"))}</label>
      <input id="${prefix}-per-day" name="contacts_per_day" type="number" min="1" max="96" step="1"
        value="${esc(values.perDay ?? "")}" aria-describedby="${prefix}-per-day-hint">
      <span class="muted wf-hint" id="${prefix}-per-day-hint">${esc(t("requests.per_day_hint"))}</span></p>
    <p><label for="${prefix}-min-duration">${esc(t("requests.min_duration"))}</label>
      <input id="${prefix}-min-duration" name="min_duration_s" type="number" min="0" max="86400" step="1"
        value="${esc(values.minDuration ?? 0)}"></p>
    <p><label for="${prefix}-priority">${esc(t("requests.priority"))}</label>
      <input id="${prefix}-priority" name="priority" type="number" min="-1000" max="1000" step="1"
        value="${esc(values.priority ?? 0)}"></p>`;
}

/** Read a request form: {body} for the API, or {error} (a translated message naming the field). */
function readFields(visit, prefix) {
  const start = readUtc(visit.el(`${prefix}-start`).value);
  if (!start) return { error: t("requests.error.start") };
  const end = readUtc(visit.el(`${prefix}-end`).value);
  if (!end) return { error: t("requests.error.end") };
  if (end <= start) return { error: t("requests.error.order") };
  const perDayText = visit.el(`${prefix}-per-day`).value.trim();
  const perDay = perDayText === "" ? null : Number(perDayText);
  if (perDay !== null && !(Number.isInteger(perDay) && perDay >= 1 && perDay <= 96)) {
    return { error: t("requests.error.per_day") };
  }
  const minDuration = Number(visit.el(`${prefix}-min-duration`).value || 0);
  if (!(Number.isFinite(minDuration) && minDuration >= 0)) return { error: t("requests.error.min_duration") };
  const priority = Number(visit.el(`${prefix}-priority`).value || 0);
  if (!Number.isInteger(priority)) return { error: t("requests.error.priority") };
  return { body: { window_start: iso(start), window_end: iso(end), contacts_per_day: perDay,
    min_duration_s: minDuration, priority } };
}

export async function render(root, ctx, visit) {
  const writer = canWrite(ctx);
  const now = ctx.clock.now();
  const own = [...ctx.satellites.values()].find((s) => s.org_id === ctx.me.org.id && s.elements_in_force);
  root.innerHTML = `<div class="wf">
    <h1>${esc(t("requests.title"))}</h1>
    <p class="muted">${esc(t("requests.intro"))}</p>
    ${writer ? `<form id="request-form" class="panel wf-form" novalidate>
      <h2>${esc(t("requests.create_title"))}</h2>
      <p><label for="request-satellite">${esc(t("requests.satellite"))}</label>
        <select id="request-satellite" name="satellite_id">${satelliteOptions(ctx, own?.id ?? null)}</select></p>
      ${fieldsHtml("request", { start: now, end: new Date(now.getTime() + 24 * HOUR_MS) })}
      <p class="wf-actions"><button type="submit" class="primary" id="request-create">${esc(t("requests.create"))}</button></p>
      <p role="alert" class="form-error" id="request-error" hidden></p>
      <p role="status" class="wf-status" id="request-status"></p>
    </form>` : `<p class="wf-note" id="requests-viewer-note">${esc(t("requests.viewer_note"))}</p>`}
    <h2>${esc(t("requests.list_title"))}</h2>
    <p role="alert" class="form-error" id="requests-error" hidden></p>
    <p role="status" class="wf-status" id="requests-status"></p>
    <div id="requests-list"><p class="muted">${esc(t("requests.loading"))}</p></div>
  </div>`;
  if (writer) {
    visit.el("request-form").addEventListener("submit", visit.guard(async (event) => {
      event.preventDefault();
      await createRequest(ctx, visit);
    }));
  }
  await drawList(ctx, visit);
}

async function createRequest(ctx, visit) {
  const box = visit.el("request-error");
  const status = visit.el("request-status");
  showFormError(box, null);
  status.textContent = "";
  const read = readFields(visit, "request");
  if (read.error) {
    showFormError(box, read.error);
    return;
  }
  const body = { satellite_id: Number(visit.el("request-satellite").value), ...read.body };
  if (body.contacts_per_day === null) delete body.contacts_per_day; // left out: at least one in the window
  let created;
  try {
    created = await send("POST", "/requests", body);
  } catch (error) {
    if (!visit.live) return;
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("requests.error.create"), error);
    return;
  }
  if (!visit.live) return;
  status.textContent = t("requests.created", { id: String(created.id) });
  status.dataset.requestId = String(created.id);
  await drawList(ctx, visit);
}

async function drawList(ctx, visit) {
  const rows = await getAll("/requests");
  if (!visit.live) return;
  rows.sort((a, b) => b.id - a.id); // the newest first
  const writer = canWrite(ctx);
  const columns = [
    { label: t("requests.col.id"), num: true }, { label: t("requests.col.satellite") }, { label: t("requests.col.window") },
    { label: t("requests.col.per_day"), num: true }, { label: t("requests.col.min_duration"), num: true },
    { label: t("requests.col.priority"), num: true }, { label: t("requests.col.state") },
    ...(writer ? [{ label: t("requests.col.actions") }] : []),
  ];
  const list = visit.el("requests-list");
  if (!rows.length) {
    list.innerHTML = `<p class="muted" id="requests-empty">${esc(t("requests.empty"))}</p>`;
    return;
  }
  list.innerHTML = tableHtml(t("requests.caption", { n: rows.length }), columns, rows.map((r) => ({
    attrs: ` class="request-row" data-request-id="${r.id}" data-state="${stateOf(r)}"`,
    cells: [
      String(r.id),
      `<span translate="no">${esc(satelliteName(ctx, r.satellite_id))}</span>`,
      `<span translate="no" class="when">${esc(utcText(new Date(r.window_start), false))}</span><br>` +
        `<span translate="no" class="when">${esc(utcText(new Date(r.window_end), false))}</span>`,
      esc(perDayText(r)),
      esc(`${numberText(r.min_duration_s, 0)} s`),
      esc(String(r.priority)),
      stateHtml(ctx, r),
      ...(writer ? [actionsHtml(r)] : []),
    ],
  })), 'id="requests-table" class="wf-table"');
  if (!writer) return;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const button of list.querySelectorAll("button[data-action]")) {
    const request = byId.get(Number(button.dataset.requestId));
    button.addEventListener("click", visit.guard(() => act(ctx, visit, request, button)));
  }
}

function actionsHtml(request) {
  const id = request.id;
  const edit = request.status === "open"
    ? `<button type="button" data-action="edit" data-request-id="${id}">${esc(t("requests.edit"))}</button>` : "";
  const cancel = request.status !== "cancelled"
    ? `<button type="button" data-action="cancel" data-request-id="${id}">${esc(t("requests.cancel"))}</button>` : "";
  return `<div class="wf-row-actions" id="request-actions-${id}">${edit}${cancel}</div>`;
}

async function act(ctx, visit, request, button) {
  const action = button.dataset.action;
  if (action === "edit") openEditor(ctx, visit, request, button.closest("tr"));
  else if (action === "cancel") askCancel(ctx, visit, request, button);
}

/** Put an inline confirm in place of the Cancel button: Confirm cancels, Keep puts the button back. */
function askCancel(ctx, visit, request, button) {
  const holder = document.createElement("span");
  holder.className = "wf-confirm";
  holder.innerHTML = `<span>${esc(t("requests.cancel_question"))}</span>
    <button type="button" class="danger" id="request-confirm-cancel-${request.id}">${esc(t("requests.confirm_cancel"))}</button>
    <button type="button" id="request-keep-${request.id}">${esc(t("requests.keep"))}</button>`;
  button.replaceWith(holder);
  holder.querySelector(`#request-keep-${request.id}`).addEventListener("click", () => holder.replaceWith(button));
  holder.querySelector(`#request-confirm-cancel-${request.id}`).addEventListener("click", visit.guard(async (event) => {
    event.currentTarget.disabled = true;
    const box = visit.el("requests-error");
    showFormError(box, null);
    try {
      await send("POST", `/requests/${request.id}/cancel`);
    } catch (error) {
      if (!visit.live) return;
      holder.replaceWith(button);
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      showFormError(box, t("requests.error.cancel", { id: String(request.id) }), error);
      return;
    }
    if (!visit.live) return;
    visit.el("requests-status").textContent = t("requests.cancelled", { id: String(request.id) });
    await drawList(ctx, visit);
  }));
}

/** Open the inline editor of an open request in a row below its own (one at a time). */
function openEditor(ctx, visit, request, tr) {
  visit.root.querySelector(".edit-row")?.remove();
  const editor = document.createElement("tr");
  editor.className = "edit-row";
  const cell = document.createElement("td");
  cell.colSpan = tr.children.length;
  const prefix = `edit-${request.id}`;
  cell.innerHTML = `<form id="${prefix}-form" class="wf-form wf-inline-form" novalidate>
    <h3>${esc(t("requests.edit_title", { id: String(request.id) }))}</h3>
    ${fieldsHtml(prefix, { start: new Date(request.window_start), end: new Date(request.window_end),
    perDay: request.contacts_per_day, minDuration: request.min_duration_s, priority: request.priority })}
    <p class="wf-actions"><button type="submit" class="primary" id="${prefix}-save">${esc(t("requests.save"))}</button>
      <button type="button" id="${prefix}-close">${esc(t("requests.close"))}</button></p>
    <p role="alert" class="form-error" id="${prefix}-error" hidden></p>
  </form>`;
  editor.append(cell);
  tr.after(editor);
  visit.el(`${prefix}-close`).addEventListener("click", () => editor.remove());
  visit.el(`${prefix}-form`).addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    await saveEdit(ctx, visit, request, prefix);
  }));
  visit.el(`${prefix}-start`).focus();
}

async function saveEdit(ctx, visit, request, prefix) {
  const box = visit.el(`${prefix}-error`);
  showFormError(box, null);
  const read = readFields(visit, prefix);
  if (read.error) {
    showFormError(box, read.error);
    return;
  }
  const body = { ...read.body };
  if (body.contacts_per_day === null && request.contacts_per_day == null) delete body.contacts_per_day;
  try {
    await send("PATCH", `/requests/${request.id}`, body);
  } catch (error) {
    if (!visit.live) return;
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t("requests.error.change", { id: String(request.id) }), error);
    return;
  }
  if (!visit.live) return;
  visit.el("requests-status").textContent = t("requests.changed", { id: String(request.id) });
  await drawList(ctx, visit);
}
