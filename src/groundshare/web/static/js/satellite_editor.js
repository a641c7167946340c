// Register or edit a satellite (workflow 5): its catalog (NORAD) number, name, whether it is
// public, and its radio parameters (band, downlink frequency, EIRP and data rate, uplink
// frequency, decoder), which give passes their link margin and data volume; then upload its
// element sets (TLE/3LE or OMM text, typed, pasted or read from a file).  A refused upload
// shows the API's reasons and quotes the line they name.  Frequencies are typed in MHz and
// sent in Hz.  Saving updates ctx.satellites so every other page sees the change at once.
//
// For SatNOGS stations (run by an unmodified satnogs-client), a satellite also needs what a
// SatNOGS job carries: the mode of the client's flowgraph that decodes it, the baud rate (words
// per minute for CW), and the transmitter's drift in parts per billion (the job's frequency is
// the downlink frequency corrected by it).

import { ApiError, get, send, utcText } from "./api.js";
import { t } from "./i18n.js";
import { esc, showFormError } from "./ui.js";
import { BANDS, bandText, canWrite, data, formProblem, readNumber, showStatus, tData } from "./sharing.js";

const MHZ = 1e6;

/**
 * The modes a SatNOGS client's flowgraphs decode: the keys of SATNOGS_FLOWGRAPH_MODES in
 * satnogs-client 2.1.4 (satnogsclient/radio/flowgraphs.py), the values the API's Satellite.mode takes.
 */
export const SATNOGS_MODES = ["AFSK", "APT", "BPSK", "BPSK PMT-A3", "CW", "DUV", "FM", "FSK", "FSK AX.100 Mode 5",
  "FSK AX.100 Mode 6", "GFSK", "GFSK Rktr", "GFSK/BPSK", "GMSK", "MSK", "MSK AX.100 Mode 5", "MSK AX.100 Mode 6", "SSTV"];
/** The SatNOGS station software's name: a data value inside translated sentences. */
const CLIENT = "satnogs-client";

function satnogsHtml(sat) {
  const mode = sat?.mode ?? "";
  const modes = [`<option value="">${esc(t("manage.sat.no_mode"))}</option>`,
    ...SATNOGS_MODES.map((m) => `<option value="${esc(m)}"${m === mode ? " selected" : ""}>${esc(m)}</option>`)].join("");
  const value = (v) => esc(v === null || v === undefined ? "" : String(v));
  return `<fieldset id="satnogs-fieldset"><legend>${tData("manage.sat.satnogs", { client: CLIENT })}</legend>
      <p class="hint muted">${tData("manage.sat.satnogs_hint", { client: CLIENT })}</p>
      <div class="form-row">
        <p><label for="sat-mode">${esc(t("manage.sat.mode"))}</label><select id="sat-mode">${modes}</select></p>
        <p><label for="sat-baud">${esc(t("manage.sat.baud"))} <span class="unit" translate="no">(Bd)</span></label>
          <input id="sat-baud" type="number" min="0" step="any" value="${value(sat?.baud)}" aria-describedby="sat-baud-hint">
          <span id="sat-baud-hint" class="hint muted">${esc(t("manage.sat.baud_hint"))}</span></p>
        <p><label for="sat-drift">${esc(t("manage.sat.drift"))} <span class="unit" translate="no">(ppb)</span></label>
          <input id="sat-drift" type="number" step="1" value="${value(sat?.downlink_drift_ppb)}" aria-describedby="sat-drift-hint">
          <span id="sat-drift-hint" class="hint muted">${esc(t("manage.sat.drift_hint"))}</span></p>
      </div>
    </fieldset>`;
}

/**
 * The SatNOGS fields typed into `body` (a blank one is sent as null only to clear what `saved`, the
 * satellite as stored, holds); returns a translated problem naming the field, or null.
 */
function readSatnogs(visit, saved, body) {
  const clears = (field) => saved?.[field] !== null && saved?.[field] !== undefined;
  const mode = visit.el("sat-mode").value;
  if (mode || clears("mode")) body.mode = mode || null;
  const baud = readNumber(visit.el("sat-baud"));
  if (Number.isNaN(baud) || (baud !== null && baud < 0)) {
    visit.el("sat-baud").focus();
    return t("manage.error.number", { field: t("manage.sat.baud") });
  }
  if (baud !== null || clears("baud")) body.baud = baud;
  const drift = readNumber(visit.el("sat-drift"));
  if (Number.isNaN(drift) || (drift !== null && !Number.isInteger(drift))) {
    visit.el("sat-drift").focus();
    return t("manage.sat.error_drift");
  }
  if (drift !== null || clears("downlink_drift_ppb")) body.downlink_drift_ppb = drift;
  return null;
}

/** A frequency in Hz as the MHz text of its input (up to 1 Hz of precision). */
function mhzValue(hz) {
  return hz === null || hz === undefined ? "" : String(Math.round(hz) / MHZ);
}

// [input id, API field, label key, unit, attributes, factor to the API's unit]
const RADIO_FIELDS = [
  ["sat-downlink", "downlink_frequency_hz", "manage.sat.downlink", "MHz", 'min="1" max="300000" step="any"', MHZ],
  ["sat-eirp", "downlink_eirp_dbw", "manage.sat.eirp", "dBW", 'min="-50" max="100" step="any"', 1],
  ["sat-rate", "data_rate_bps", "manage.sat.rate", "bit/s", 'min="1" max="100000000000" step="any"', 1],
  ["sat-uplink", "uplink_frequency_hz", "manage.sat.uplink", "MHz", 'min="1" max="300000" step="any"', MHZ],
];

function satelliteFormHtml(sat) {
  const bands = [`<option value="">${esc(t("manage.sat.no_band"))}</option>`,
    ...BANDS.map((b) => `<option value="${b}"${sat?.band === b ? " selected" : ""}>${esc(bandText(b))}</option>`)].join("");
  const radio = RADIO_FIELDS.map(([id, field, key, unit, attrs, factor]) => {
    const value = sat?.[field];
    const text = value === null || value === undefined ? "" : factor === MHZ ? mhzValue(value) : String(value);
    return `<p><label for="${id}">${esc(t(key))} <span class="unit" translate="no">(${esc(unit)})</span></label>
      <input id="${id}" type="number" ${attrs} value="${esc(text)}"></p>`;
  }).join("");
  return `<form id="satellite-form" class="manage-form" novalidate>
      <div class="form-row">
        <p><label for="sat-norad">${esc(t("manage.sat.norad"))}</label>
          <input id="sat-norad" type="number" min="1" max="999999999" step="1" required value="${esc(sat?.norad_id ?? "")}"></p>
        <p><label for="sat-name">${esc(t("manage.sat.name"))}</label>
          <input id="sat-name" type="text" required maxlength="200" autocomplete="off" value="${esc(sat?.name ?? "")}"></p>
        <p class="check-row"><label class="check" for="sat-public"><input id="sat-public" type="checkbox"${sat?.is_public ? " checked" : ""}>
          ${esc(t("manage.sat.public"))}</label></p>
      </div>
      <fieldset><legend>${esc(t("manage.sat.radio"))}</legend>
        <p class="hint muted">${esc(t("manage.sat.radio_hint"))}</p>
        <div class="form-row">
          <p><label for="sat-band">${esc(t("manage.sat.band"))}</label><select id="sat-band">${bands}</select></p>
          ${radio}
          <p><label for="sat-decoder">${esc(t("manage.sat.decoder"))}</label>
            <input id="sat-decoder" type="text" maxlength="100" autocomplete="off" spellcheck="false"
              value="${esc(sat?.decoder ?? "")}" aria-describedby="sat-decoder-hint">
            <span id="sat-decoder-hint" class="hint muted">${esc(t("manage.sat.decoder_hint"))}</span></p>
        </div>
      </fieldset>
      ${satnogsHtml(sat)}
      <p><button type="submit" class="primary" id="satellite-submit">${esc(t(sat ? "manage.sat.save" : "manage.sat.create"))}</button></p>
      <p role="alert" class="form-error" id="satellite-error" hidden></p>
    </form>`;
}

/** The satellite typed in the form: {body} or {problem}; blank radio fields are null (left out on create). */
function readSatellite(visit, saved) {
  const editing = Boolean(saved);
  const norad = readNumber(visit.el("sat-norad"));
  if (norad === null || Number.isNaN(norad) || !Number.isInteger(norad)) {
    visit.el("sat-norad").focus();
    return { problem: t("manage.error.number", { field: t("manage.sat.norad") }) };
  }
  const name = visit.el("sat-name").value.trim();
  if (!name) return { problem: t("manage.error.required", { field: t("manage.sat.name") }) };
  const body = { norad_id: norad, name, is_public: visit.el("sat-public").checked };
  const band = visit.el("sat-band").value;
  if (band || editing) body.band = band || null;
  for (const [id, field, key, , , factor] of RADIO_FIELDS) {
    const value = readNumber(visit.el(id));
    if (Number.isNaN(value)) {
      visit.el(id).focus();
      return { problem: t("manage.error.number", { field: t(key) }) };
    }
    if (value !== null) body[field] = factor === MHZ ? Math.round(value * MHZ) : value;
    else if (editing) body[field] = null;
  }
  const decoder = visit.el("sat-decoder").value.trim();
  if (decoder || editing) body.decoder = decoder || null;
  const problem = readSatnogs(visit, saved, body);
  return problem ? { problem } : { body };
}

// ---------------------------------------------------------------------------------------------
// Element sets

function elementsHtml() {
  return `<form id="elements-form" class="manage-form" novalidate>
      <p><label for="elements-text">${esc(t("manage.elements.text"))}</label>
        <textarea id="elements-text" rows="6" spellcheck="false" autocomplete="off" translate="no"
          aria-describedby="elements-hint"></textarea>
        <span id="elements-hint" class="hint muted">${esc(t("manage.elements.hint"))}</span></p>
      <p><label for="elements-file">${esc(t("manage.elements.file"))}</label>
        <input id="elements-file" type="file" accept=".tle,.txt,.3le,.json,.xml,.csv,.kvn,.omm,text/plain"></p>
      <p><button type="submit" class="primary" id="elements-submit">${esc(t("manage.elements.upload"))}</button></p>
      <p role="alert" class="form-error" id="elements-error" hidden></p>
      <div id="elements-line" class="bad-line" hidden></div>
      <div role="status" id="elements-status" class="form-status" hidden></div>
    </form>`;
}

/** The line an element-set error names (its `loc` holds "line N", or its message says it), or null. */
export function errorLine(error) {
  for (const detail of error?.details || []) {
    for (const part of detail.loc || []) {
      const match = /^line (\d+)$/.exec(String(part));
      if (match) return Number(match[1]);
    }
    const said = /\bline (\d+)\b/.exec(String(detail.msg || ""));
    if (said) return Number(said[1]);
  }
  return null;
}

/** Quote line `n` of `text` under the error, and select it in the text area. */
function showBadLine(visit, text, n) {
  const box = visit.el("elements-line");
  const lines = text.split(/\r?\n/);
  if (!n || n > lines.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const head = document.createElement("p");
  head.innerHTML = `<strong>${esc(t("manage.elements.bad_line", { n }))}</strong>`;
  const quote = document.createElement("pre");
  quote.className = "element-text bad-line-text";
  quote.setAttribute("translate", "no");
  quote.dataset.line = String(n);
  const number = document.createElement("span");
  number.className = "line-no";
  number.textContent = `${n}`;
  quote.append(number, ` ${lines[n - 1]}`);
  box.replaceChildren(head, quote);
  box.hidden = false;
  const area = visit.el("elements-text");
  const start = lines.slice(0, n - 1).reduce((sum, line) => sum + line.length + 1, 0);
  if (area.value === text) {
    area.focus();
    area.setSelectionRange(start, start + lines[n - 1].length);
  }
}

function wireElements(visit, satellite) {
  visit.el("elements-file").addEventListener("change", visit.guard(async (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    const text = await file.text();
    if (visit.live) visit.el("elements-text").value = text;
  }));
  visit.el("elements-form").addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el("elements-error");
    const status = visit.el("elements-status");
    const text = visit.el("elements-text").value;
    showStatus(status, null);
    if (!text.trim()) return formProblem(box, t("manage.elements.empty"));
    let stored;
    try {
      stored = await send("POST", `/satellites/${satellite().id}/elements`, undefined,
        { bodyText: text, contentType: "text/plain" });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const line = errorLine(error);
      showFormError(box, line ? t("manage.elements.error_line", { n: line }) : t("manage.elements.error"), error);
      showBadLine(visit, text, line);
      return;
    }
    if (!visit.live) return;
    showFormError(box, null);
    showBadLine(visit, text, null);
    const epochs = stored.data.map((s) => utcText(new Date(s.epoch))).join(", ");
    showStatus(status, "manage.elements.stored", { n: stored.count, epochs });
  }));
}

// ---------------------------------------------------------------------------------------------
// The page

export async function render(root, ctx, visit, id = null) {
  const title = id === null ? t("manage.sat.new_title") : t("manage.sat.edit_title");
  if (!canWrite(ctx)) {
    root.innerHTML = `<h1>${esc(title)}</h1><p class="note" id="satellite-readonly">${esc(t("manage.viewer_note"))}</p>
      <p><a href="#/satellites">${esc(t("manage.sat.back"))}</a></p>`;
    return;
  }
  let sat = null;
  if (id !== null) {
    sat = await get(`/satellites/${id}`);
    if (!visit.live) return;
    if (sat.org_id !== ctx.me.org.id) {
      root.innerHTML = `<h1>${esc(title)}</h1><p class="note" id="satellite-not-owner">${
        esc(t("manage.sat.not_owner", { owner: ctx.orgName(sat.org_id) }))}</p>
        <p><a href="#/satellites">${esc(t("manage.sat.back"))}</a></p>`;
      return;
    }
  }
  root.innerHTML = `<h1 id="satellite-title">${esc(title)}${sat ? ` ${data(sat.name)}` : ""}</h1>
    <p><a href="#/satellites">${esc(t("manage.sat.back"))}</a></p>
    <p role="status" id="satellite-status" class="form-status" hidden></p>
    <section class="panel" aria-labelledby="satellite-form-title">
      <h2 id="satellite-form-title">${esc(t("manage.sat.section"))}</h2>${satelliteFormHtml(sat)}</section>
    <section class="panel" aria-labelledby="elements-title">
      <h2 id="elements-title">${esc(t("manage.elements.section"))}</h2>
      <div id="elements-box">${sat ? elementsHtml() : `<p class="muted" id="elements-later">${esc(t("manage.elements.after_satellite"))}</p>`}</div>
    </section>`;
  if (sat) wireElements(visit, () => sat);
  visit.el("satellite-form").addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el("satellite-error");
    const read = readSatellite(visit, sat);
    if (read.problem) return formProblem(box, read.problem);
    let saved;
    try {
      saved = sat ? await send("PATCH", `/satellites/${sat.id}`, read.body) : await send("POST", "/satellites", read.body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t(sat ? "manage.sat.error_save" : "manage.sat.error_create"), error);
    }
    if (!visit.live) return;
    showFormError(box, null);
    const created = !sat;
    sat = saved;
    ctx.satellites.set(saved.id, saved);
    showStatus(visit.el("satellite-status"), created ? "manage.sat.created" : "manage.sat.saved", { name: saved.name });
    visit.el("satellite-title").innerHTML = `${esc(t("manage.sat.edit_title"))} ${data(saved.name)}`;
    visit.el("satellite-submit").textContent = t("manage.sat.save");
    if (created) {
      history.replaceState(null, "", `#/satellites/${saved.id}/edit`); // the address of what is now edited (no reroute)
      visit.el("elements-box").innerHTML = elementsHtml();
      wireElements(visit, () => sat);
    }
  }));
}
