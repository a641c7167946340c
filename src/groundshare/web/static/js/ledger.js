// The partner ledger (GET /ledger): per period, the antenna hours each organisation gave
// and received, as a table and as a bar chart of the totals over the window.

import { bytesText, get, iso, utcText } from "./api.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, readUtc, tableHtml, utcInputHtml } from "./ui.js";

const d3 = window.d3;
const DAY_MS = 86_400_000;
const PERIODS = ["day", "week", "month"];

function utcDay(date) {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** A time typed in a field: ISO UTC, or a bare UTC day (its midnight). */
function readTime(text) {
  return readUtc(text) ?? readUtc(`${String(text ?? "").trim()}T00:00Z`);
}

export async function render(root, ctx, visit) {
  const today = utcDay(ctx.clock.now());
  root.innerHTML = `
    <h1>${esc(t("ledger.title"))}</h1>
    <section class="panel" aria-label="${esc(t("ledger.window_label"))}">
      <form class="controls" id="ledger-form" novalidate>
        <span class="field">${utcInputHtml("ledger-start", t("ledger.from"), new Date(today - 21 * DAY_MS))}</span>
        <span class="field">${utcInputHtml("ledger-end", t("ledger.to"), new Date(today.getTime() + 14 * DAY_MS))}</span>
        <label>${esc(t("ledger.period"))} <select id="ledger-period">${PERIODS.map((p) =>
          `<option value="${p}"${p === "week" ? " selected" : ""}>${esc(t(`ledger.period.${p}`))}</option>`).join("")}
        </select></label>
        <button type="submit">${esc(t("ledger.show"))}</button>
        <p id="ledger-error" role="alert" class="form-error" hidden></p>
      </form>
      <p class="muted">${esc(t("ledger.note"))}</p>
    </section>
    <section class="panel" aria-labelledby="ledger-chart-title">
      <h2 id="ledger-chart-title">${esc(t("ledger.chart_title"))}</h2>
      <div id="ledger-chart"></div>
    </section>
    <section class="panel" aria-labelledby="ledger-table-title">
      <h2 id="ledger-table-title">${esc(t("ledger.table_title"))}</h2>
      <div id="ledger-table"></div>
    </section>`;

  let latest = 0; // a window asked for later wins over an earlier answer still on its way
  async function show() {
    const ask = ++latest;
    const start = readTime(visit.el("ledger-start").value);
    const end = readTime(visit.el("ledger-end").value);
    const error = visit.el("ledger-error");
    const bad = !start ? "ledger.from" : !end ? "ledger.to" : null;
    error.hidden = !bad;
    if (bad) {
      error.textContent = t("ledger.bad_time", { field: t(bad) });
      return;
    }
    const body = await get("/ledger", { start: iso(start), end: iso(end), period: visit.el("ledger-period").value });
    if (!visit.live || ask !== latest) return;
    drawTable(ctx, body, visit);
    drawChart(ctx, body, visit);
  }

  visit.el("ledger-form").addEventListener("submit", (event) => {
    event.preventDefault();
    visit.guard(show)();
  });
  await show();
}

const hoursText = (h) => numberText(h, 2);

function drawTable(ctx, body, visit) {
  const columns = [{ label: t("ledger.col.period") }, { label: t("ledger.col.owner") }, { label: t("ledger.col.user") },
    { label: t("ledger.col.booked"), num: true }, { label: t("ledger.col.completed"), num: true },
    { label: t("ledger.col.failed"), num: true }, { label: t("ledger.col.contacts"), num: true },
    { label: t("ledger.col.bytes"), num: true }];
  const name = (text) => `<span translate="no">${esc(text)}</span>`;
  const rows = body.data.map((r) => ({
    attrs: ' class="ledger-row"',
    cells: [name(r.period_start.slice(0, 10)), name(r.owner_org_name),
      r.is_self_use ? tHtml("ledger.own_use", { org: r.user_org_name }) : name(r.user_org_name),
      hoursText(r.booked_hours), hoursText(r.completed_hours), hoursText(r.failed_hours), numberText(r.contacts),
      esc(bytesText(r.bytes_delivered))],
  }));
  const period = PERIODS.includes(body.period) ? t(`ledger.period.${body.period}`) : body.period;
  visit.el("ledger-table").innerHTML = rows.length
    ? tableHtml(t("ledger.caption", { period, start: utcText(new Date(body.start), false), end: utcText(new Date(body.end), false) }),
      columns, rows, 'class="ledger-table"')
    : `<p class="muted">${esc(t("ledger.none"))}</p>`;
}

/** Write `text` into an SVG text element, cut with an ellipsis to fit `width` px (full text in its title). */
function fitText(node, text, width) {
  node.textContent = text;
  if (node.getComputedTextLength() <= width) return;
  let n = text.length;
  while (n > 1 && node.getComputedTextLength() > width) node.textContent = `${text.slice(0, --n)}…`;
  const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
  title.textContent = text;
  node.append(title);
}

function drawChart(ctx, body, visit) {
  const totals = new Map();
  const entry = (id, name) => {
    if (!totals.has(id)) totals.set(id, { id, name, given: 0, received: 0, bytesGiven: 0, bytesReceived: 0 });
    return totals.get(id);
  };
  for (const r of body.data) {
    if (r.is_self_use) continue;
    const owner = entry(r.owner_org_id, r.owner_org_name);
    const user = entry(r.user_org_id, r.user_org_name);
    owner.given += r.booked_hours;
    owner.bytesGiven += r.bytes_delivered;
    user.received += r.booked_hours;
    user.bytesReceived += r.bytes_delivered;
  }
  const orgs = [...totals.values()].sort((a, b) => a.name.localeCompare(b.name));
  const holder = visit.el("ledger-chart");
  holder.innerHTML = "";
  if (!orgs.length) {
    holder.innerHTML = `<p class="muted">${esc(t("ledger.no_shared"))}</p>`;
    return;
  }
  // Drawn at the width it is shown (one SVG unit a pixel): its text keeps its size on a phone.
  const w = Math.max(300, Math.min(1000, holder.clientWidth || 1000));
  const phone = w < 600;
  const labelW = phone ? 0 : Math.min(390, Math.round(w * 0.36));
  const valueW = phone ? 150 : 190;
  const nameH = phone ? 16 : 0; // on a phone the organisation's name sits above its bars
  const band = 36 + nameH;
  const h = orgs.length * band + 52;
  const max = d3.max(orgs, (o) => Math.max(o.given, o.received)) || 1;
  const left = labelW + 4;
  const x = d3.scaleLinear().domain([0, max]).nice().range([left, w - valueW]);
  const svg = d3.select(holder).append("svg").attr("class", "bars").attr("width", w).attr("height", h)
    .attr("viewBox", `0 0 ${w} ${h}`).attr("role", "img").attr("aria-labelledby", "ledger-bars-title ledger-bars-desc");
  svg.append("title").attr("id", "ledger-bars-title").text(t("ledger.bars_title"));
  svg.append("desc").attr("id", "ledger-bars-desc").text(orgs.map((o) => t("ledger.bars_desc", { org: o.name,
    given: numberText(o.given, 1), given_bytes: bytesText(o.bytesGiven), received: numberText(o.received, 1),
    received_bytes: bytesText(o.bytesReceived) })).join("; "));
  svg.append("g").attr("transform", `translate(0,${h - 36})`).call(d3.axisBottom(x).ticks(phone ? 3 : 6)
    .tickFormat((v) => numberText(v, 1))).append("text")
    .attr("x", (left + w - valueW) / 2).attr("y", 30).attr("fill", "currentColor").attr("text-anchor", "middle")
    .text(t("ledger.axis"));
  const g = svg.append("g").selectAll("g").data(orgs).join("g").attr("transform", (_, i) => `translate(0,${8 + i * band})`);
  g.append("text").attr("class", "org-name").attr("translate", "no")
    .attr("x", phone ? left : labelW - 8).attr("y", phone ? 12 : band / 2)
    .attr("text-anchor", phone ? "start" : "end")
    .each(function (o) { fitText(this, o.name, phone ? w - 8 : labelW - 12); });
  const barH = (band - nameH) / 2 - 4;
  const bars = [["given", "bytesGiven", nameH + 2, 1, "ledger.gave"], ["received", "bytesReceived", nameH + barH + 6, 0.45, "ledger.received"]];
  for (const [key, bytesKey, dy, opacity, word] of bars) {
    g.append("rect").attr("x", left).attr("y", dy).attr("height", barH)
      .attr("width", (o) => Math.max(0, x(o[key]) - left)).attr("fill", (o) => ctx.orgColour(o.id)).attr("opacity", opacity);
    g.append("text").attr("x", (o) => x(o[key]) + 4).attr("y", dy + barH - 3)
      .text((o) => t(word, { hours: numberText(o[key], 1), bytes: bytesText(o[bytesKey]) }));
  }
}
