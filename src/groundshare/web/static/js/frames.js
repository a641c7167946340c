// What came home from a contact or a satellite: its frames (kept once by the network, with
// the stations that heard each, the bytes as hex and the decoded fields) and a contact's
// recordings and other files, downloaded with the signed-in token.
//
// Frames are read page by page with the API's `after_id` cursor (in the order the network
// stored them) up to a cap, so a long pass never stalls the page; the table shows them a
// page at a time, and each frame's hex dump and decoded fields are drawn only when opened.

import { ApiError, bytesText, get, getBlob, utcText } from "./api.js";
import { numberText, t, tHtml } from "./i18n.js";
import { esc, saveBlob } from "./ui.js";

export const FRAME_PAGE = 1000; // the API's largest page of frames
export const TABLE_ROWS = 100; // rows drawn at once; "Show more" draws the next
const HEX_PREVIEW_BYTES = 12;
const DUMP_LINE_BYTES = 16;

/** The rows of a frames answer: a bare list, or a page {data, count}. */
function rowsOf(body) {
  return Array.isArray(body) ? body : body.data;
}

/**
 * Read the frames of `path` (with `params`) in stored order, page by page, up to `cap`.
 * Returns {frames, more}: `more` is true when frames beyond the cap exist (or may).
 */
export async function readFrames(path, params = {}, cap = 10 * FRAME_PAGE) {
  const frames = [];
  for (;;) {
    const limit = Math.min(FRAME_PAGE, cap - frames.length + 1); // one more than the cap tells whether there is more
    const after = frames.length ? frames[frames.length - 1].id : undefined;
    const page = rowsOf(await get(path, { ...params, after_id: after, limit }));
    frames.push(...page);
    if (frames.length > cap) return { frames: frames.slice(0, cap), more: true };
    if (page.length < limit) return { frames, more: false };
  }
}

function hexPreview(hex) {
  const shown = hex.slice(0, 2 * HEX_PREVIEW_BYTES).replace(/(..)(?!$)/g, "$1 ");
  return hex.length > 2 * HEX_PREVIEW_BYTES ? `${shown} …` : shown;
}

/** "0000  c0 00 a2 …" lines of 16 bytes, as hexdump prints them. */
export function hexDump(hex) {
  const lines = [];
  for (let i = 0; i < hex.length; i += 2 * DUMP_LINE_BYTES) {
    const offset = (i / 2).toString(16).padStart(4, "0");
    lines.push(`${offset}  ${hex.slice(i, i + 2 * DUMP_LINE_BYTES).replace(/(..)(?!$)/g, "$1 ")}`);
  }
  return lines.join("\n");
}

function valueText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return numberText(value, 6);
  return String(value);
}

function decodedCell(frame) {
  if (frame.decoded && Object.keys(frame.decoded).length) {
    const n = Object.keys(frame.decoded).length;
    return `<details class="frame-decoded" data-frame-id="${frame.id}"><summary>${esc(t("frames.fields", { n }))}` +
      `${frame.decoder ? ` <span class="muted" translate="no">(${esc(frame.decoder)})</span>` : ""}</summary></details>`;
  }
  if (frame.decode_error) return `<span class="muted">${tHtml("frames.decode_error", { error: frame.decode_error })}</span>`;
  return `<span class="muted">${esc(t("frames.undecoded"))}</span>`;
}

function frameRow(frame) {
  const bytes = frame.payload_hex.length / 2;
  const flag = frame.outside_window ? ` <span class="warn">${esc(t("frames.outside_flag"))}</span>` : "";
  return `<tr class="frame-row" data-frame-id="${frame.id}">
    <td><span translate="no">${esc(utcText(new Date(frame.received_at)))}</span>${flag}</td>
    <td class="frame-stations" translate="no">${esc(frame.stations.join(", "))}</td>
    <td class="num">${esc(numberText(bytes))}</td>
    <td><details class="frame-hex" data-frame-id="${frame.id}"><summary><code>${esc(hexPreview(frame.payload_hex))}</code></summary></details></td>
    <td>${decodedCell(frame)}</td>
  </tr>`;
}

/** Fill an opened frame's hex dump or decoded fields (drawn on first opening only). */
function fillDetails(details, byId) {
  if (details.dataset.filled) return;
  const frame = byId.get(Number(details.dataset.frameId));
  if (!frame) return;
  details.dataset.filled = "1";
  if (details.classList.contains("frame-hex")) {
    const pre = document.createElement("pre");
    pre.className = "hexdump";
    pre.setAttribute("aria-label", t("frames.hex_label", { id: frame.id }));
    pre.textContent = hexDump(frame.payload_hex);
    details.append(pre);
    return;
  }
  const rows = Object.entries(frame.decoded || {}).map(([name, value]) =>
    `<tr><th scope="row"><code>${esc(name)}</code></th><td translate="no">${esc(valueText(value))}</td></tr>`).join("");
  details.insertAdjacentHTML("beforeend", `<div class="table-wrap"><table class="decoded-fields"
    aria-label="${esc(t("frames.decoded_label", { id: frame.id }))}"><thead><tr><th scope="col">${esc(t("col.field"))}</th>
    <th scope="col">${esc(t("col.value"))}</th></tr></thead><tbody>${rows}</tbody></table></div>`);
}

/**
 * Draw `frames` as a table into `holder`, TABLE_ROWS at a time with a "Show more" button;
 * `total` (default the list's length) is what the "Showing n of N" line counts.
 */
export function drawFramesTable(holder, frames, { caption, total = frames.length, id = "frames-table" } = {}) {
  const byId = new Map(frames.map((f) => [f.id, f]));
  holder.innerHTML = `<div class="table-wrap"><table id="${esc(id)}" class="frames-table">
      <caption class="muted">${esc(caption)}</caption>
      <thead><tr><th scope="col">${esc(t("col.received"))}</th><th scope="col">${esc(t("col.stations"))}</th>
        <th scope="col" class="num">${esc(t("col.bytes"))}</th><th scope="col">${esc(t("col.hex"))}</th>
        <th scope="col">${esc(t("col.decoded"))}</th></tr></thead>
      <tbody></tbody></table></div>
    <p class="controls"><button type="button" class="frames-more" hidden></button>
      <span class="frames-shown muted" role="status"></span></p>`;
  const body = holder.querySelector("tbody");
  const more = holder.querySelector(".frames-more");
  const shown = holder.querySelector(".frames-shown");
  let drawn = 0;
  const drawNext = () => {
    body.insertAdjacentHTML("beforeend", frames.slice(drawn, drawn + TABLE_ROWS).map(frameRow).join(""));
    drawn = Math.min(frames.length, drawn + TABLE_ROWS);
    const left = frames.length - drawn;
    more.hidden = left <= 0;
    more.textContent = t("frames.show_more", { n: Math.min(TABLE_ROWS, left) });
    shown.textContent = drawn < total ? t("frames.shown", { shown: drawn, total }) : "";
  };
  more.addEventListener("click", drawNext);
  // "toggle" does not bubble: listen in the capture phase, once for every row.
  body.addEventListener("toggle", (event) => {
    if (event.target.open) fillDetails(event.target, byId);
  }, true);
  drawNext();
}

/**
 * Whether the signed-in organisation may read the contact's frames and files (as the API's
 * `data_contacts` rules): the antenna is its own, or the satellite is one it sees (its own or a public one).
 */
export function mayReadData(ctx, contact) {
  const antenna = ctx.antennas.get(contact.antenna_id);
  return (antenna && antenna.station.org_id === ctx.me.org.id) || ctx.satellites.has(contact.satellite_id);
}

/** The contact's frames and files, drawn into `holder`; `current()` is false once another contact was opened. */
export async function renderContactData(holder, ctx, visit, contact, current = () => true) {
  if (!mayReadData(ctx, contact)) {
    holder.innerHTML = `<h3>${esc(t("frames.title"))}</h3><p class="muted">${esc(t("frames.not_yours"))}</p>`;
    return;
  }
  holder.innerHTML = `<section aria-labelledby="frames-title"><h3 id="frames-title">${esc(t("frames.title"))}</h3>
      <p id="frames-summary" class="muted" role="status">${esc(t("frames.loading"))}</p><div id="frames-holder"></div></section>
    <section aria-labelledby="artifacts-title"><h3 id="artifacts-title">${esc(t("artifacts.title"))}</h3>
      <div id="artifacts-holder"></div><p id="artifact-status" class="muted" role="status"></p></section>`;
  const [framesRead, artifacts] = await Promise.all([
    readFrames(`/contacts/${contact.id}/frames`),
    readArtifacts(contact.id),
  ]);
  if (!visit.live || !current()) return;
  drawContactFrames(holder, contact, framesRead);
  drawArtifacts(holder, visit, contact, artifacts);
}

async function readArtifacts(contactId) {
  try {
    return rowsOf(await get(`/contacts/${contactId}/artifacts`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return []; // a server without artifacts
    throw error;
  }
}

function drawContactFrames(holder, contact, { frames, more }) {
  const summary = holder.querySelector("#frames-summary");
  const table = holder.querySelector("#frames-holder");
  if (!frames.length) {
    summary.textContent = t("frames.none");
    return;
  }
  const n = frames.length;
  const parts = [more ? t("frames.more_than", { n }) : t("frames.count", { n })];
  if (contact.frames_received !== null && contact.frames_received !== undefined) {
    parts.push(t("frames.reported", { n: contact.frames_received }));
  }
  const shared = frames.filter((f) => f.stations.length > 1).length;
  if (shared) parts.push(t("frames.shared", { n: shared }));
  const outside = frames.filter((f) => f.outside_window).length;
  if (outside) parts.push(t("frames.outside", { n: outside }));
  summary.textContent = `${parts.join("; ")}.`;
  drawFramesTable(table, frames, { caption: t("frames.caption") });
}

function drawArtifacts(holder, visit, contact, artifacts) {
  const box = holder.querySelector("#artifacts-holder");
  if (!artifacts.length) {
    box.innerHTML = `<p class="muted">${esc(t("artifacts.none"))}</p>`;
    return;
  }
  const rows = artifacts.map((a, i) => `<tr class="artifact-row" data-name="${esc(a.name)}">
      <td><code>${esc(a.name)}</code></td><td class="num">${esc(bytesText(a.size_bytes))}</td>
      <td><code class="sha" title="${esc(a.sha256)}">${esc(a.sha256.slice(0, 16))}…</code></td>
      <td translate="no">${esc(utcText(new Date(a.created_at)))}</td>
      <td><button type="button" class="artifact-download" data-index="${i}"
        aria-label="${esc(t("artifacts.download_label", { name: a.name }))}">${esc(t("artifacts.download"))}</button></td></tr>`);
  box.innerHTML = `<div class="table-wrap"><table id="artifacts-table"><caption class="muted">${
    esc(t("artifacts.count", { n: artifacts.length }))}</caption>
    <thead><tr><th scope="col">${esc(t("col.file"))}</th><th scope="col" class="num">${esc(t("col.size"))}</th>
      <th scope="col">${esc(t("col.sha256"))}</th><th scope="col">${esc(t("col.stored"))}</th><th scope="col"></th></tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
  const status = holder.querySelector("#artifact-status");
  box.addEventListener("click", visit.guard(async (event) => {
    const button = event.target.closest("button.artifact-download");
    if (!button) return;
    const artifact = artifacts[Number(button.dataset.index)];
    status.innerHTML = tHtml("artifacts.downloading", { name: artifact.name });
    button.disabled = true;
    try {
      const blob = await getBlob(`/contacts/${contact.id}/artifacts/${encodeURIComponent(artifact.name)}`);
      saveBlob(blob, artifact.name);
      status.innerHTML = tHtml("artifacts.downloaded", { name: artifact.name, size: bytesText(blob.size) });
    } finally {
      button.disabled = false;
    }
  }));
}
