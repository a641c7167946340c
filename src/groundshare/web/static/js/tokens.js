// API tokens (workflow 6), for an organisation's admins: create one (its secret is shown this
// once, in a field to copy, since only its hash is kept), list them (role, when created, last
// used, expiry, revoked) and revoke one after an inline confirmation (it then answers 401).
// Other roles see a note instead: the API answers them 403.
//
// A token may be scoped to one of the organisation's stations: the station token a SatNOGS
// client (satnogs-client) at that station sends as `Authorization: Token <key>`; it works only
// under the network's /satnogs/api/ and only for that station.  Once created, the page shows
// the three settings to give the station's client: the network's SatNOGS API address, the token
// and the station's id.

import { ApiError, getAll, send, utcText } from "./api.js";
import { t } from "./i18n.js";
import { esc, showFormError } from "./ui.js";
import { confirmInline, data, formProblem, showStatus, tData } from "./sharing.js";

const ROLES = ["viewer", "operator", "admin"];
/** The role of a station token (the API's rule for tokens with a station_id). */
const STATION_ROLE = "operator";
/** The SatNOGS station software's name: a data value inside translated sentences. */
const CLIENT = "satnogs-client";

/** The address a SatNOGS client polls: this network's /satnogs/api/ (the dashboard lives at <root>/dashboard/). */
function satnogsApiUrl() {
  return new URL("../satnogs/api/", document.baseURI).href;
}

/** The settings of a station's satnogs-client for a new station token. */
export function clientSettings(secret, stationId) {
  return [`SATNOGS_NETWORK_API_URL=${satnogsApiUrl()}`, `SATNOGS_API_TOKEN=${secret}`, `SATNOGS_STATION_ID=${stationId}`]
    .join("\n");
}

const when = (value) => (value ? `<span translate="no">${esc(utcText(new Date(value), false))}</span>` : "—");

function formHtml(stations) {
  const roles = ROLES.map((r) => `<option value="${r}">${esc(t(`tokens.role.${r}`))}</option>`).join("");
  const choices = [`<option value="">${esc(t("tokens.station_none"))}</option>`,
    ...stations.map((s) => `<option value="${s.id}">${esc(s.name)}</option>`)].join("");
  return `<form id="token-form" class="manage-form" novalidate>
      <div class="form-row">
        <p><label for="token-name">${esc(t("tokens.name"))}</label>
          <input id="token-name" type="text" maxlength="200" autocomplete="off" required></p>
        <p><label for="token-role">${esc(t("tokens.role"))}</label><select id="token-role">${roles}</select></p>
        <p><label for="token-station">${tData("tokens.station", { client: "SatNOGS" })}</label>
          <select id="token-station" aria-describedby="token-station-hint">${choices}</select></p>
      </div>
      <p id="token-station-hint" class="hint muted">${tData("tokens.station_hint", { client: CLIENT, prefix: "/satnogs/api/" })}</p>
      <p><button type="submit" class="primary" id="token-submit">${esc(t("tokens.create"))}</button></p>
      <p role="alert" class="form-error" id="token-error" hidden></p>
    </form>
    <div id="token-secret" class="secret-box" hidden>
      <p class="warn-text" id="token-warning"><strong>${esc(t("tokens.once"))}</strong></p>
      <p><label for="token-secret-text">${esc(t("tokens.secret"))}</label>
        <span class="copy-row"><input id="token-secret-text" type="text" readonly spellcheck="false" autocomplete="off">
          <button type="button" id="token-copy">${esc(t("tokens.copy"))}</button></span></p>
      <p role="status" id="token-copied" class="form-status" hidden></p>
      <div id="token-satnogs" hidden>
        <p>${tData("tokens.satnogs_intro", { client: CLIENT, setup: "satnogs-setup" })}</p>
        <pre id="token-satnogs-settings" class="element-text" translate="no"></pre>
        <p class="muted">${esc(t("tokens.satnogs_after"))}</p>
      </div>
    </div>`;
}

function stateText(token) {
  if (token.revoked_at) return `${esc(t("tokens.revoked"))} ${when(token.revoked_at)}`;
  if (token.expires_at && new Date(token.expires_at) <= new Date()) return esc(t("tokens.expired"));
  return esc(t("tokens.active"));
}

function tableHtml(tokens, stationName) {
  if (!tokens.length) return `<p class="muted">${esc(t("tokens.empty"))}</p>`;
  const head = [t("tokens.col.name"), t("tokens.col.role"), t("tokens.col.station"), t("tokens.col.created"),
    t("tokens.col.last_used"), t("tokens.col.expires"), t("tokens.col.state"), t("tokens.col.actions")];
  const scope = (tk) => (tk.station_id === null || tk.station_id === undefined ? esc(t("tokens.station_all"))
    : data(stationName(tk.station_id)));
  const rows = tokens.map((tk) => `<tr class="token-row${tk.revoked_at ? " revoked" : ""}" data-token-id="${tk.id}">
      <td>${tk.label ? data(tk.label) : `<span class="muted">${esc(t("tokens.unnamed", { id: tk.id }))}</span>`}</td>
      <td>${esc(t(`tokens.role.${tk.role}`))}</td><td class="token-station">${scope(tk)}</td><td>${when(tk.created_at)}</td>
      <td>${tk.last_used_at ? when(tk.last_used_at) : esc(t("tokens.never"))}</td>
      <td>${tk.expires_at ? when(tk.expires_at) : esc(t("tokens.no_expiry"))}</td>
      <td class="token-state">${stateText(tk)}</td>
      <td class="actions">${tk.revoked_at ? "" : `<button type="button" class="revoke-token">${esc(t("tokens.revoke"))}</button>`}</td>
    </tr>`);
  return `<div class="table-wrap"><table id="tokens-table"><caption class="muted">${esc(t("tokens.caption"))}</caption>
    <thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("")}</tbody></table></div>`;
}

/** Copy the secret: the clipboard API where the browser allows it, else the selection's copy. */
async function copySecret(visit) {
  const input = visit.el("token-secret-text");
  input.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    copied = document.execCommand?.("copy") ?? false;
  }
  if (visit.live) showStatus(visit.el("token-copied"), copied ? "tokens.copied" : "tokens.copy_failed");
}

export async function render(root, ctx, visit) {
  if (ctx.me.role !== "admin") {
    root.innerHTML = `<h1>${esc(t("tokens.title"))}</h1><p class="note" id="tokens-admin-only">${esc(t("tokens.admin_only"))}</p>`;
    return;
  }
  const tokens = await getAll("/tokens");
  if (!visit.live) return;
  const own = ctx.stations.filter((s) => s.org_id === ctx.me.org.id);
  const stationName = (id) => ctx.stations.find((s) => s.id === id)?.name ?? `#${id}`;
  root.innerHTML = `<h1>${esc(t("tokens.title"))}</h1>
    <p class="muted">${esc(t("tokens.intro"))}</p>
    <section class="panel" aria-labelledby="token-create-title">
      <h2 id="token-create-title">${esc(t("tokens.create_title"))}</h2>${formHtml(own)}</section>
    <section class="panel" aria-labelledby="token-list-title">
      <h2 id="token-list-title">${esc(t("tokens.list_title"))}</h2>
      <p role="status" id="tokens-status" class="form-status" hidden></p>
      <p role="alert" class="form-error" id="tokens-error" hidden></p>
      <div id="tokens-list"></div></section>`;
  const state = { tokens };
  const draw = () => {
    visit.el("tokens-list").innerHTML = tableHtml(state.tokens, stationName);
    for (const row of visit.el("tokens-list").querySelectorAll("tr.token-row")) {
      const button = row.querySelector(".revoke-token");
      if (!button) continue;
      const token = state.tokens.find((tk) => tk.id === Number(row.dataset.tokenId));
      button.addEventListener("click", () => confirmInline(visit, button, t("tokens.revoke_confirm"), async () => {
        const box = visit.el("tokens-error");
        let revoked;
        try {
          revoked = await send("POST", `/tokens/${token.id}/revoke`);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          return showFormError(box, t("tokens.error_revoke"), error);
        }
        if (!visit.live) return;
        showFormError(box, null);
        state.tokens = state.tokens.map((tk) => (tk.id === revoked.id ? revoked : tk));
        showStatus(visit.el("tokens-status"), "tokens.revoked_status", { name: revoked.label || `#${revoked.id}` });
        draw();
      }));
    }
  };
  draw();
  // A station token has the operator role: the role select follows the station select.
  visit.el("token-station").addEventListener("change", () => {
    const scoped = Boolean(visit.el("token-station").value);
    if (scoped) visit.el("token-role").value = STATION_ROLE;
    visit.el("token-role").disabled = scoped;
  });
  visit.el("token-copy").addEventListener("click", visit.guard(() => copySecret(visit)));
  visit.el("token-form").addEventListener("submit", visit.guard(async (event) => {
    event.preventDefault();
    const box = visit.el("token-error");
    const label = visit.el("token-name").value.trim();
    if (!label) return formProblem(box, t("tokens.error_name"));
    let created;
    try {
      const station = visit.el("token-station").value;
      created = await send("POST", "/tokens", station ? { label, role: STATION_ROLE, station_id: Number(station) }
        : { label, role: visit.el("token-role").value });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return showFormError(box, t("tokens.error_create"), error);
    }
    if (!visit.live) return;
    showFormError(box, null);
    const { token: secret, ...listed } = created;
    visit.el("token-secret-text").value = secret; // shown this once: it is in no listing
    visit.el("token-secret").hidden = false;
    const scoped = listed.station_id !== null && listed.station_id !== undefined;
    visit.el("token-satnogs-settings").textContent = scoped ? clientSettings(secret, listed.station_id) : "";
    visit.el("token-satnogs").hidden = !scoped;
    showStatus(visit.el("token-copied"), null);
    visit.el("token-name").value = "";
    state.tokens = [...state.tokens, listed];
    showStatus(visit.el("tokens-status"), "tokens.created", { name: listed.label });
    draw();
    visit.el("token-secret-text").select();
  }));
}
