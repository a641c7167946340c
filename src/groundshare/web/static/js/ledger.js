// The partner ledger (GET /ledger): per period, the antenna hours each organisation gave
// and received, as a table and as a bar chart of the totals over the window.

import { bytesText, get, iso, utcText } from "./api.js";
import { esc, tableHtml } from "./ui.js";

const d3 = window.d3;
const DAY_MS = 86_400_000;

function dateValue(date) {
  return date.toISOString().slice(0, 10);
}

export async function render(root, ctx, visit) {
  const now = ctx.clock.now();
  root.innerHTML = `
    <h1>Partner ledger</h1>
    <section class="panel" aria-label="Ledger window">
      <form class="controls" id="ledger-form">
        <label>From <input type="date" id="ledger-start" value="${dateValue(new Date(now - 21 * DAY_MS))}" required></label>
        <label>To <input type="date" id="ledger-end" value="${dateValue(new Date(now.getTime() + 14 * DAY_MS))}" required></label>
        <label>Period <select id="ledger-period">
          <option value="day">day</option><option value="week" selected>week (ISO, UTC)</option><option value="month">month</option>
        </select></label>
        <button type="submit">Show</button>
      </form>
      <p class="muted">Hours are booked antenna time; "given" is time on your antennas used by others, "received" is
        time you used on theirs. You see the rows where your organisation is the owner or the user.</p>
    </section>
    <section class="panel" aria-labelledby="ledger-chart-title">
      <h2 id="ledger-chart-title">Hours given and received over the window</h2>
      <div id="ledger-chart"></div>
    </section>
    <section class="panel" aria-labelledby="ledger-table-title">
      <h2 id="ledger-table-title">Per period</h2>
      <div id="ledger-table"></div>
    </section>`;

  let latest = 0; // a window asked for later wins over an earlier answer still on its way
  async function show() {
    const ask = ++latest;
    const body = await get("/ledger", {
      start: iso(new Date(`${visit.el("ledger-start").value}T00:00:00Z`)),
      end: iso(new Date(`${visit.el("ledger-end").value}T00:00:00Z`)),
      period: visit.el("ledger-period").value,
    });
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

function drawTable(ctx, body, visit) {
  const columns = [{ label: "Period" }, { label: "Owner (antennas)" }, { label: "User" }, { label: "Booked h", num: true },
    { label: "Completed h", num: true }, { label: "Failed h", num: true }, { label: "Contacts", num: true },
    { label: "Bytes delivered", num: true }];
  const rows = body.data.map((r) => ({
    attrs: ' class="ledger-row"',
    cells: [esc(r.period_start.slice(0, 10)), esc(r.owner_org_name), esc(r.is_self_use ? `${r.user_org_name} (own use)` : r.user_org_name),
      r.booked_hours.toFixed(2), r.completed_hours.toFixed(2), r.failed_hours.toFixed(2), String(r.contacts),
      esc(bytesText(r.bytes_delivered))],
  }));
  visit.el("ledger-table").innerHTML = rows.length
    ? tableHtml(`${body.period} rows from ${utcText(new Date(body.start), false)} to ${utcText(new Date(body.end), false)}`,
      columns, rows)
    : `<p class="muted">No antenna time was booked in this window.</p>`;
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
    holder.innerHTML = `<p class="muted">No shared antenna time in this window.</p>`;
    return;
  }
  const labelW = 390;
  const w = 1000;
  const band = 34;
  const h = orgs.length * band + 48;
  const max = d3.max(orgs, (o) => Math.max(o.given, o.received)) || 1;
  const x = d3.scaleLinear().domain([0, max]).nice().range([labelW, w - 70]);
  const svg = d3.select(holder).append("svg").attr("class", "bars").attr("viewBox", `0 0 ${w} ${h}`)
    .attr("role", "img").attr("aria-labelledby", "ledger-bars-title ledger-bars-desc");
  svg.append("title").attr("id", "ledger-bars-title").text("Booked hours each organisation gave and received");
  svg.append("desc").attr("id", "ledger-bars-desc").text(orgs.map((o) =>
    `${o.name}: gave ${o.given.toFixed(1)} h (${bytesText(o.bytesGiven)}), received ${o.received.toFixed(1)} h (${bytesText(o.bytesReceived)})`).join("; "));
  svg.append("g").attr("transform", `translate(0,${h - 32})`).call(d3.axisBottom(x).ticks(6)).append("text")
    .attr("x", (labelW + w - 70) / 2).attr("y", 30).attr("fill", "currentColor").attr("text-anchor", "middle")
    .text("booked hours");
  const g = svg.append("g").selectAll("g").data(orgs).join("g").attr("transform", (_, i) => `translate(0,${8 + i * band})`);
  g.append("text").attr("x", labelW - 8).attr("y", band / 2).attr("text-anchor", "end").text((o) => o.name);
  const bars = [["given", "bytesGiven", 2, 1, "gave"], ["received", "bytesReceived", band / 2 - 1, 0.45, "received"]];
  for (const [key, bytesKey, dy, opacity, word] of bars) {
    g.append("rect").attr("x", labelW).attr("y", dy).attr("height", band / 2 - 4)
      .attr("width", (o) => x(o[key]) - labelW).attr("fill", (o) => ctx.orgColour(o.id)).attr("opacity", opacity);
    g.append("text").attr("x", (o) => x(o[key]) + 4).attr("y", dy + band / 2 - 8)
      .text((o) => `${word} ${o[key].toFixed(1)} h, ${bytesText(o[bytesKey])}`);
  }
}
