// Planning (workflow 3): run the planner over a horizon as a dry run (POST /schedule/runs with
// dry_run true: nothing is booked), see what it would book (one row per contact the plan
// chose), what it would book, move and drop per organisation (a planning run never moves or
// drops a booked contact: those stay 0), the plan's status, objective, bound and gap, the
// fairness figures of the answer (satisfaction per organisation, its minimum, Jain's index,
// reciprocity), the requests left unserved with the scheduler's reasons and those skipped;
// then apply it after an inline confirm (the same horizon with dry_run false), which shows
// what was booked and refused.  The page also lists the caller's upcoming contacts, each with
// a Cancel button (inline confirm; POST /contacts/{id}/cancel).  A viewer may neither run nor
// cancel (both need a writer's token): the page says so and shows the contacts only.

import { ApiError, getAll, iso, send, utcText } from "./api.js";
import { canWrite } from "./book.js";
import { numberText, t } from "./i18n.js";
import { reasonsHtml } from "./requests.js";
import { esc, readUtc, showFormError, tableHtml, utcInputHtml } from "./ui.js";

const DEFAULT_HOURS = 24;
const LIVE = new Set(["scheduled", "in_progress"]);

const num = (v, digits = 3) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? "—" : numberText(Number(v), digits));

function satelliteName(ctx, id) {
  return ctx.satellites.get(Number(id))?.name ?? t("requests.satellite_id", { id: String(id) });
}

function antennaName(ctx, id) {
  const antenna = ctx.antennas.get(Number(id));
  return antenna ? `${antenna.station.name} / ${antenna.name}` : String(id);
}

const data = (text) => `<span translate="no">${esc(text)}</span>`;
const when = (text) => `<span translate="no" class="when">${esc(utcText(new Date(text)))}</span>`;

export async function render(root, ctx, visit) {
  const writer = canWrite(ctx);
  root.innerHTML = `<div class="wf">
    <h1>${esc(t("plan.title"))}</h1>
    <p class="muted">${esc(t("plan.intro"))}</p>
    ${writer ? `<form id="plan-form" class="panel wf-form" novalidate>
      <p>${utcInputHtml("plan-start", t("plan.start"), ctx.clock.now())}</p>
      <p><label for="plan-hours">${esc(t("plan.hours"))}</label>
        <input id="plan-hours" name="hours" type="number" min="1" max="168" step="1" value="${DEFAULT_HOURS}" required></p>
      <p class="wf-actions"><button type="submit" class="primary" id="plan-dry-run">${esc(t("plan.dry_run"))}</button></p>
      <p role="alert" class="form-error" id="plan-error" hidden></p>
      <p role="status" class="wf-status" id="plan-status"></p>
    </form>
    <div id="plan-result"></div>` : `<p class="wf-note" id="plan-viewer-note">${esc(t("plan.viewer_note"))}</p>`}
    <h2>${esc(t("plan.upcoming_title"))}</h2>
    <p role="alert" class="form-error" id="contacts-error" hidden></p>
    <p role="status" class="wf-status" id="contacts-status"></p>
    <div id="plan-contacts"><p class="muted">${esc(t("plan.loading"))}</p></div>
  </div>`;
  if (writer) {
    visit.el("plan-form").addEventListener("submit", visit.guard(async (event) => {
      event.preventDefault();
      await run(ctx, visit, true);
    }));
  }
  await drawContacts(ctx, visit);
}

/** Read the horizon: {start, hours}, or null after showing what is wrong. */
function readHorizon(visit) {
  const box = visit.el("plan-error");
  const start = readUtc(visit.el("plan-start").value);
  if (!start) {
    showFormError(box, t("plan.error.start"));
    return null;
  }
  const hours = Number(visit.el("plan-hours").value);
  if (!Number.isFinite(hours) || hours <= 0) {
    showFormError(box, t("plan.error.hours"));
    return null;
  }
  return { start, hours };
}

/** Run the planner over the form's horizon (a dry run, or the plan applied) and draw its answer. */
async function run(ctx, visit, dryRun) {
  const box = visit.el("plan-error");
  const status = visit.el("plan-status");
  showFormError(box, null);
  status.textContent = "";
  const horizon = readHorizon(visit);
  if (!horizon) return;
  const button = visit.el("plan-dry-run");
  button.disabled = true;
  status.textContent = t(dryRun ? "plan.running" : "plan.applying");
  let answer;
  try {
    answer = await send("POST", "/schedule/runs", { start: iso(horizon.start), hours: horizon.hours, dry_run: dryRun });
  } catch (error) {
    if (!visit.live) return;
    button.disabled = false;
    status.textContent = "";
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    showFormError(box, t(error.status === 429 ? "plan.error.busy" : "plan.error.run"), error);
    return;
  }
  if (!visit.live) return;
  button.disabled = false;
  const chosen = answer.contacts ?? [];
  if (dryRun) {
    status.textContent = t("plan.dry_done", { n: chosen.length });
  } else {
    status.textContent = t("plan.applied", { n: answer.booked_contact_ids.length, refused: answer.refused.length });
  }
  drawResult(ctx, visit, answer, horizon);
  if (!dryRun) await drawContacts(ctx, visit);
}

function summaryHtml(answer) {
  const plan = answer.plan || {};
  const gap = plan.gap === null || plan.gap === undefined ? "—" : `${numberText(100 * plan.gap, 2)} %`;
  return `<dl class="facts" id="plan-summary">
    <dt>${esc(t("plan.horizon"))}</dt><dd>${data(`${utcText(new Date(answer.start))} – ${utcText(new Date(answer.end))}`)}</dd>
    <dt>${esc(t("plan.status"))}</dt><dd>${data(plan.status ?? "—")}</dd>
    <dt>${esc(t("plan.objective"))}</dt><dd class="num">${num(plan.objective)}</dd>
    <dt>${esc(t("plan.bound"))}</dt><dd class="num">${num(plan.bound)}</dd>
    <dt>${esc(t("plan.gap"))}</dt><dd class="num">${esc(gap)}</dd>
    <dt>${esc(t("plan.candidates"))}</dt><dd class="num">${num(answer.candidates, 0)}</dd>
  </dl>`;
}

function contactsTableHtml(ctx, answer) {
  const rows = answer.contacts ?? [];
  if (!rows.length) return `<p class="muted" id="plan-none">${esc(t("plan.none"))}</p>`;
  const refused = new Map((answer.refused || []).map((r) => [r.pass, r.reason]));
  const columns = [{ label: t("plan.col.satellite") }, { label: t("plan.col.antenna") }, { label: t("plan.col.start") },
    { label: t("plan.col.end") }, { label: t("plan.col.request"), num: true },
    ...(answer.dry_run ? [] : [{ label: t("plan.col.booked") }])];
  return tableHtml(t(answer.dry_run ? "plan.would_book" : "plan.booked_caption", { n: rows.length }), columns,
    rows.map((c) => ({
      attrs: ` class="plan-row" data-pass-id="${esc(c.pass_id)}" data-request-id="${esc(c.request_id ?? "")}"` +
        ` data-contact-id="${esc(c.booked_contact_id ?? "")}"`,
      cells: [data(satelliteName(ctx, c.satellite_id)), data(antennaName(ctx, c.antenna_id)),
        when(c.start), when(c.end), c.request_id == null ? "—" : String(c.request_id),
        ...(answer.dry_run ? [] : [c.booked_contact_id != null
          ? esc(t("plan.booked_as", { id: String(c.booked_contact_id) }))
          : `${esc(t("plan.refused"))}${refused.has(c.pass_id) ? `: <q translate="no">${esc(refused.get(c.pass_id))}</q>` : ""}`]),
      ],
    })), 'id="plan-contacts-table" class="wf-table"');
}

function perOrgHtml(ctx, answer) {
  const rows = answer.per_org ?? [];
  const table = rows.length ? tableHtml(t("plan.per_org_caption"), [{ label: t("plan.col.org") },
    { label: t("plan.col.book"), num: true }, { label: t("plan.col.move"), num: true }, { label: t("plan.col.drop"), num: true }],
  rows.map((r) => ({ cells: [data(ctx.orgName(r.org_id)), String(r.book), String(r.move), String(r.drop)] })),
  'id="plan-per-org" class="wf-table"') : "";
  return `${table}<p class="muted">${esc(t("plan.never_moves"))}</p>`;
}

function fairnessHtml(answer) {
  const f = answer.fairness;
  if (!f) return "";
  const orgs = tableHtml(t("plan.fairness_caption"), [{ label: t("plan.col.org") }, { label: t("plan.col.share"), num: true },
    { label: t("plan.col.requested"), num: true }, { label: t("plan.col.target"), num: true },
    { label: t("plan.col.granted"), num: true }, { label: t("plan.col.granted_h"), num: true },
    { label: t("plan.col.satisfaction"), num: true }],
  (f.organisations || []).map((o) => ({ cells: [data(o.organisation), num(o.share), num(o.requested_value),
    num(o.target_value), num(o.granted_value), num(o.granted_h, 2), `${num(100 * o.satisfaction, 1)} %`] })),
  'id="plan-fairness" class="wf-table"');
  const pairs = (f.reciprocity || []).length ? tableHtml(t("plan.reciprocity_caption"), [{ label: t("plan.col.org_a") },
    { label: t("plan.col.org_b") }, { label: t("plan.col.a_served_b"), num: true }, { label: t("plan.col.b_served_a"), num: true },
    { label: t("plan.col.balance"), num: true }],
  f.reciprocity.map((r) => ({ cells: [data(r.org_a), data(r.org_b), num(r.a_served_b_h, 2), num(r.b_served_a_h, 2),
    num(r.balance_h, 2)] })), 'class="wf-table"') : "";
  return `<dl class="facts">
      <dt>${esc(t("plan.min_satisfaction"))}</dt><dd class="num">${num(100 * f.min_satisfaction, 1)} %</dd>
      <dt>${esc(t("plan.jain"))}</dt><dd class="num">${num(f.jain_index)}</dd>
      <dt>${esc(t("plan.total_value"))}</dt><dd class="num">${num(f.total_value)}</dd>
      <dt>${esc(t("plan.pool_value"))}</dt><dd class="num">${num(f.pool_value)}</dd>
      ${f.price_of_fairness == null ? "" : `<dt>${esc(t("plan.price"))}</dt><dd class="num">${num(f.price_of_fairness)}</dd>`}
    </dl>${orgs}${pairs}`;
}

function unservedHtml(ctx, answer) {
  const groups = new Map();
  for (const reason of answer.unserved || []) {
    const key = reason.request ?? reason.satellite;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(reason);
  }
  const items = [...groups.entries()].map(([key, reasons]) => `<li class="unserved-request">${data(key)} — ${
    data(satelliteName(ctx, reasons[0].satellite))}${reasonsHtml(ctx, reasons)}</li>`).join("");
  const skipped = (answer.requests_skipped || []).map((s) => `<li>${esc(s)}</li>`).join("");
  const violations = (answer.violations || []).map((s) => `<li>${esc(s)}</li>`).join("");
  return `<h3>${esc(t("plan.unserved_title"))}</h3>${items ? `<ul id="plan-unserved">${items}</ul>`
    : `<p class="muted">${esc(t("plan.unserved_none"))}</p>`}
    <h3>${esc(t("plan.skipped_title"))}</h3>${skipped ? `<ul id="plan-skipped" translate="no">${skipped}</ul>`
    : `<p class="muted">${esc(t("plan.skipped_none"))}</p>`}
    ${violations ? `<h3>${esc(t("plan.violations_title"))}</h3><ul translate="no">${violations}</ul>` : ""}`;
}

function drawResult(ctx, visit, answer, horizon) {
  const result = visit.el("plan-result");
  const apply = answer.dry_run && (answer.contacts ?? []).length
    ? `<p class="wf-actions" id="plan-apply-actions"><button type="button" class="primary" id="plan-apply">${
      esc(t("plan.apply"))}</button></p>` : "";
  result.innerHTML = `<section class="panel" aria-labelledby="plan-result-title" data-dry-run="${answer.dry_run}">
    <h2 id="plan-result-title">${esc(t(answer.dry_run ? "plan.result_dry" : "plan.result_applied"))}</h2>
    ${summaryHtml(answer)}
    ${apply}
    ${contactsTableHtml(ctx, answer)}
    <h3>${esc(t("plan.per_org_title"))}</h3>${perOrgHtml(ctx, answer)}
    <h3>${esc(t("plan.fairness_title"))}</h3>${fairnessHtml(answer)}
    ${unservedHtml(ctx, answer)}
  </section>`;
  const button = visit.el("plan-apply");
  if (!button) return;
  button.addEventListener("click", () => {
    const holder = document.createElement("p");
    holder.className = "wf-confirm";
    holder.innerHTML = `<span>${esc(t("plan.apply_question", { n: answer.contacts.length }))}</span>
      <button type="button" class="primary" id="plan-apply-confirm">${esc(t("plan.apply_confirm"))}</button>
      <button type="button" id="plan-apply-back">${esc(t("plan.apply_back"))}</button>`;
    const actions = visit.el("plan-apply-actions");
    actions.replaceWith(holder);
    visit.el("plan-apply-back").addEventListener("click", () => holder.replaceWith(actions));
    visit.el("plan-apply-confirm").addEventListener("click", visit.guard(async (event) => {
      event.currentTarget.disabled = true;
      visit.el("plan-start").value = iso(horizon.start);
      visit.el("plan-hours").value = String(horizon.hours);
      await run(ctx, visit, false);
    }));
  });
}

async function drawContacts(ctx, visit) {
  const now = ctx.clock.now();
  const rows = (await getAll("/contacts", { start: iso(now) }))
    .filter((c) => c.org_id === ctx.me.org.id && LIVE.has(c.status))
    .sort((a, b) => new Date(a.start) - new Date(b.start));
  if (!visit.live) return;
  const holder = visit.el("plan-contacts");
  if (!rows.length) {
    holder.innerHTML = `<p class="muted" id="plan-contacts-empty">${esc(t("plan.upcoming_none"))}</p>`;
    return;
  }
  const writer = canWrite(ctx);
  holder.innerHTML = tableHtml(t("plan.upcoming_caption", { n: rows.length }), [{ label: t("plan.col.contact"), num: true },
    { label: t("plan.col.satellite") }, { label: t("plan.col.antenna") }, { label: t("plan.col.start") },
    { label: t("plan.col.end") }, { label: t("plan.col.status") }, ...(writer ? [{ label: t("plan.col.actions") }] : [])],
  rows.map((c) => ({
    attrs: ` class="upcoming-row" data-contact-id="${c.id}"`,
    cells: [String(c.id), data(satelliteName(ctx, c.satellite_id)), data(antennaName(ctx, c.antenna_id)),
      when(c.start), when(c.end), esc(t(`plan.contact_status.${c.status}`)),
      ...(writer ? [`<button type="button" class="cancel-contact" data-contact-id="${c.id}">${
        esc(t("plan.cancel_contact"))}</button>`] : [])],
  })), 'id="upcoming-table" class="wf-table"');
  for (const button of holder.querySelectorAll(".cancel-contact")) {
    button.addEventListener("click", () => askCancel(ctx, visit, Number(button.dataset.contactId), button));
  }
}

/** Inline confirm of a contact's cancellation: Confirm cancels it, Keep puts the button back. */
function askCancel(ctx, visit, contactId, button) {
  const holder = document.createElement("span");
  holder.className = "wf-confirm";
  holder.innerHTML = `<span>${esc(t("plan.cancel_question"))}</span>
    <button type="button" class="danger" id="contact-confirm-cancel-${contactId}">${esc(t("plan.confirm_cancel"))}</button>
    <button type="button" id="contact-keep-${contactId}">${esc(t("plan.keep"))}</button>`;
  button.replaceWith(holder);
  holder.querySelector(`#contact-keep-${contactId}`).addEventListener("click", () => holder.replaceWith(button));
  holder.querySelector(`#contact-confirm-cancel-${contactId}`).addEventListener("click", visit.guard(async (event) => {
    event.currentTarget.disabled = true;
    const box = visit.el("contacts-error");
    showFormError(box, null);
    try {
      await send("POST", `/contacts/${contactId}/cancel`);
    } catch (error) {
      if (!visit.live) return;
      holder.replaceWith(button);
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      showFormError(box, t("plan.error.cancel", { id: String(contactId) }), error);
      return;
    }
    if (!visit.live) return;
    visit.el("contacts-status").textContent = t("plan.cancelled", { id: String(contactId) });
    await drawContacts(ctx, visit);
  }));
}
