// The dashboard's words in English, Spanish and Korean (the partners' languages), and the
// language the user reads it in: the one chosen in the header (kept in localStorage), else
// the browser's first preferred language we have, else English.
//
// `t(key, vars)` returns the string of `key` in that language with `{name}` placeholders
// filled from `vars`; a key given as `{one, other}` is chosen with the language's plural
// rules (Intl.PluralRules) on `vars.n`.  A key missing in a language falls back to English,
// and a key missing everywhere shows as itself, so a gap shows on the page, never a crash.
// Numbers are written with the language's separators (`numberText`); times stay ISO UTC
// everywhere (api.js `utcText`), as operators of every partner read them.

const LANGUAGE_KEY = "groundshare.lang";

/** The languages, each named in itself (as the header's menu lists them). */
export const LANGUAGES = { en: "English", es: "Español", ko: "한국어" };

export const STRINGS = {
  en: {
    "lang.label": "Language",
    "frames.title": "Frames",
    "frames.loading": "Loading frames…",
    "frames.count": { one: "{n} frame received through this contact", other: "{n} frames received through this contact" },
    "frames.more_than": "More than {n} frames received through this contact",
    "frames.reported": "the station reported {n}",
    "frames.shared": "{n} also heard by another station",
    "frames.outside": "{n} stamped outside the contact's window",
    "frames.none": "No frame of this contact has reached the network.",
    "frames.not_yours": "What this contact received is for the satellite's operator and the antenna's owner only.",
    "frames.caption": "Frames in the order the network stored them",
    "frames.outside_flag": "outside the window",
    "frames.decode_error": "not decoded: {error}",
    "frames.undecoded": "not decoded",
    "frames.fields": { one: "{n} field", other: "{n} fields" },
    "frames.show_more": "Show {n} more",
    "frames.shown": "Showing {shown} of {total}.",
    "frames.hex_label": "Frame {id} as hex",
    "frames.decoded_label": "Decoded fields of frame {id}",
    "col.received": "Received (UTC)",
    "col.stations": "Heard by",
    "col.bytes": "Bytes",
    "col.hex": "Hex",
    "col.decoded": "Decoded",
    "col.field": "Field",
    "col.value": "Value",
    "col.file": "File",
    "col.size": "Size",
    "col.sha256": "SHA-256",
    "col.stored": "Stored (UTC)",
    "col.time": "Time (UTC)",
    "artifacts.title": "Recordings and files",
    "artifacts.count": { one: "{n} file recorded during this contact", other: "{n} files recorded during this contact" },
    "artifacts.none": "No file was uploaded for this contact.",
    "artifacts.download": "Download",
    "artifacts.download_label": "Download {name}",
    "artifacts.downloading": "Downloading {name}…",
    "artifacts.downloaded": "{name} downloaded ({size}).",
    "sat.back": "All satellites",
    "sat.open": "Frames and telemetry of {name}",
    "sat.norad": "NORAD",
    "sat.operator": "Operator",
    "sat.visibility": "Visibility",
    "sat.public": "public: every organisation sees its frames",
    "sat.private": "private: its operator, and each station's owner for what its stations heard",
    "sat.decoder": "Decoder",
    "sat.no_decoder": "none: frames are kept undecoded",
    "sat.not_found": "Satellite {id} is not one you can see.",
    "tm.title": "Telemetry",
    "tm.from": "From (UTC day)",
    "tm.days": "Days",
    "tm.show": "Show",
    "tm.field": "Field",
    "tm.frames": { one: "{n} frame in this window", other: "{n} frames in this window" },
    "tm.frames_more": "More than {n} frames in this window (fields are listed from the first {n})",
    "tm.no_fields": "No frame in this window holds a decoded numeric field.",
    "tm.chart_title": "{field} over time (UTC)",
    "tm.chart_desc": "{n} values from {min} to {max}, between {start} and {end}.",
    "tm.summary": { one: "{n} value of {field}", other: "{n} values of {field}" },
    "tm.table": "The values as a table",
    "tm.not_numbers": "{field} holds values that are not numbers: they are listed below.",
    "tm.no_points": "No frame in this window holds {field}.",
    "tm.recent": "Latest frames in this window",
  },
  es: {
    "lang.label": "Idioma",
    "frames.title": "Tramas",
    "frames.loading": "Cargando tramas…",
    "frames.count": { one: "{n} trama recibida en este contacto", other: "{n} tramas recibidas en este contacto" },
    "frames.more_than": "Más de {n} tramas recibidas en este contacto",
    "frames.reported": "la estación informó {n}",
    "frames.shared": "{n} también recibidas por otra estación",
    "frames.outside": "{n} con hora fuera de la ventana del contacto",
    "frames.none": "Ninguna trama de este contacto ha llegado a la red.",
    "frames.not_yours": "Lo que recibió este contacto es solo para el operador del satélite y el dueño de la antena.",
    "frames.caption": "Tramas en el orden en que la red las guardó",
    "frames.outside_flag": "fuera de la ventana",
    "frames.decode_error": "sin decodificar: {error}",
    "frames.undecoded": "sin decodificar",
    "frames.fields": { one: "{n} campo", other: "{n} campos" },
    "frames.show_more": "Mostrar {n} más",
    "frames.shown": "Se muestran {shown} de {total}.",
    "frames.hex_label": "Trama {id} en hexadecimal",
    "frames.decoded_label": "Campos decodificados de la trama {id}",
    "col.received": "Recibida (UTC)",
    "col.stations": "Recibida por",
    "col.bytes": "Bytes",
    "col.hex": "Hex",
    "col.decoded": "Decodificada",
    "col.field": "Campo",
    "col.value": "Valor",
    "col.file": "Archivo",
    "col.size": "Tamaño",
    "col.sha256": "SHA-256",
    "col.stored": "Guardado (UTC)",
    "col.time": "Hora (UTC)",
    "artifacts.title": "Grabaciones y archivos",
    "artifacts.count": { one: "{n} archivo grabado durante este contacto", other: "{n} archivos grabados durante este contacto" },
    "artifacts.none": "No se subió ningún archivo para este contacto.",
    "artifacts.download": "Descargar",
    "artifacts.download_label": "Descargar {name}",
    "artifacts.downloading": "Descargando {name}…",
    "artifacts.downloaded": "{name} descargado ({size}).",
    "sat.back": "Todos los satélites",
    "sat.open": "Tramas y telemetría de {name}",
    "sat.norad": "NORAD",
    "sat.operator": "Operador",
    "sat.visibility": "Visibilidad",
    "sat.public": "pública: todas las organizaciones ven sus tramas",
    "sat.private": "privada: su operador, y el dueño de cada estación lo que sus estaciones recibieron",
    "sat.decoder": "Decodificador",
    "sat.no_decoder": "ninguno: las tramas se guardan sin decodificar",
    "sat.not_found": "El satélite {id} no es uno que usted pueda ver.",
    "tm.title": "Telemetría",
    "tm.from": "Desde (día UTC)",
    "tm.days": "Días",
    "tm.show": "Mostrar",
    "tm.field": "Campo",
    "tm.frames": { one: "{n} trama en esta ventana", other: "{n} tramas en esta ventana" },
    "tm.frames_more": "Más de {n} tramas en esta ventana (los campos salen de las primeras {n})",
    "tm.no_fields": "Ninguna trama de esta ventana tiene un campo numérico decodificado.",
    "tm.chart_title": "{field} en el tiempo (UTC)",
    "tm.chart_desc": "{n} valores de {min} a {max}, entre {start} y {end}.",
    "tm.summary": { one: "{n} valor de {field}", other: "{n} valores de {field}" },
    "tm.table": "Los valores en una tabla",
    "tm.not_numbers": "{field} tiene valores que no son números: se listan abajo.",
    "tm.no_points": "Ninguna trama de esta ventana contiene {field}.",
    "tm.recent": "Últimas tramas de esta ventana",
  },
  ko: {
    "lang.label": "언어",
    "frames.title": "프레임",
    "frames.loading": "프레임을 불러오는 중…",
    "frames.count": "이 교신에서 수신한 프레임 {n}개",
    "frames.more_than": "이 교신에서 수신한 프레임 {n}개 이상",
    "frames.reported": "지상국 보고 {n}개",
    "frames.shared": "{n}개는 다른 지상국도 수신",
    "frames.outside": "{n}개는 교신 시간대 밖의 시각으로 기록됨",
    "frames.none": "이 교신의 프레임이 아직 네트워크에 도착하지 않았습니다.",
    "frames.not_yours": "이 교신의 수신 데이터는 위성 운영 기관과 안테나 소유 기관만 볼 수 있습니다.",
    "frames.caption": "네트워크에 저장된 순서의 프레임",
    "frames.outside_flag": "시간대 밖",
    "frames.decode_error": "디코딩 실패: {error}",
    "frames.undecoded": "디코딩 안 됨",
    "frames.fields": "필드 {n}개",
    "frames.show_more": "{n}개 더 보기",
    "frames.shown": "{total}개 중 {shown}개 표시.",
    "frames.hex_label": "프레임 {id}의 16진수",
    "frames.decoded_label": "프레임 {id}의 디코딩된 필드",
    "col.received": "수신 시각 (UTC)",
    "col.stations": "수신 지상국",
    "col.bytes": "바이트",
    "col.hex": "16진수",
    "col.decoded": "디코딩",
    "col.field": "필드",
    "col.value": "값",
    "col.file": "파일",
    "col.size": "크기",
    "col.sha256": "SHA-256",
    "col.stored": "저장 시각 (UTC)",
    "col.time": "시각 (UTC)",
    "artifacts.title": "녹음 및 파일",
    "artifacts.count": "이 교신 중 기록된 파일 {n}개",
    "artifacts.none": "이 교신에 업로드된 파일이 없습니다.",
    "artifacts.download": "다운로드",
    "artifacts.download_label": "{name} 다운로드",
    "artifacts.downloading": "{name} 다운로드 중…",
    "artifacts.downloaded": "{name} 다운로드 완료 ({size}).",
    "sat.back": "전체 위성",
    "sat.open": "{name}의 프레임과 텔레메트리",
    "sat.norad": "NORAD",
    "sat.operator": "운영 기관",
    "sat.visibility": "공개 범위",
    "sat.public": "공개: 모든 기관이 프레임을 볼 수 있음",
    "sat.private": "비공개: 운영 기관, 그리고 각 지상국 소유 기관은 자기 지상국이 수신한 프레임만",
    "sat.decoder": "디코더",
    "sat.no_decoder": "없음: 프레임을 디코딩하지 않고 저장",
    "sat.not_found": "위성 {id}은(는) 볼 수 있는 위성이 아닙니다.",
    "tm.title": "텔레메트리",
    "tm.from": "시작 (UTC 날짜)",
    "tm.days": "일수",
    "tm.show": "표시",
    "tm.field": "필드",
    "tm.frames": "이 기간의 프레임 {n}개",
    "tm.frames_more": "이 기간의 프레임 {n}개 이상 (필드 목록은 처음 {n}개 기준)",
    "tm.no_fields": "이 기간의 프레임에 디코딩된 수치 필드가 없습니다.",
    "tm.chart_title": "시간에 따른 {field} (UTC)",
    "tm.chart_desc": "{start}부터 {end}까지 값 {n}개, 최소 {min}, 최대 {max}.",
    "tm.summary": "{field} 값 {n}개",
    "tm.table": "값을 표로 보기",
    "tm.not_numbers": "{field}에 숫자가 아닌 값이 있어 아래에 나열합니다.",
    "tm.no_points": "이 기간에 {field} 값이 있는 프레임이 없습니다.",
    "tm.recent": "이 기간의 최근 프레임",
  },
};

function stored() {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null; // storage refused (a locked-down browser): the browser's languages decide
  }
}

/** The language shown: the one chosen here, else the browser's first we have, else English. */
export function language() {
  const chosen = stored();
  if (chosen && STRINGS[chosen]) return chosen;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (STRINGS[primary]) return primary;
  }
  return "en";
}

/** Choose `code` (a key of LANGUAGES) for this browser, and say so to the page (`<html lang>`). */
export function setLanguage(code) {
  if (!STRINGS[code]) return;
  try {
    localStorage.setItem(LANGUAGE_KEY, code);
  } catch { /* not kept: this page still switches */ }
  document.documentElement.lang = code;
}

/** The string of `key` in the language shown, `{name}` filled from `vars` (plural by `vars.n`). */
export function t(key, vars = {}) {
  const lang = language();
  let entry = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  if (typeof entry === "object") {
    const rule = new Intl.PluralRules(lang).select(Number(vars.n ?? 0));
    entry = entry[rule] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in vars)) return whole;
    const value = vars[name];
    return typeof value === "number" ? numberText(value) : String(value);
  });
}

/** `n` with the language's digit grouping and decimal sign (up to `digits` decimals). */
export function numberText(n, digits = 3) {
  return new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(n);
}
