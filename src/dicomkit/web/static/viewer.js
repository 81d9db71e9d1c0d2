// dicomkit's web page: study list, study page, series viewer. Plain JS, no build step;
// everything it shows comes from the node's own DICOMweb API (QIDO-RS, WADO-RS frames and
// metadata, thumbnails). On a node that asks for credentials, a 401 opens the sign-in form;
// the Authorization header it makes goes with every request (pictures too: fetched, then
// shown from blob: URLs) and is kept for the browser tab's life (sessionStorage).
"use strict";

const API = document.body.dataset.dicomweb;
const $ = (sel) => document.querySelector(sel);
const OCTETS = 'multipart/related; type="application/octet-stream"';

// ---- authentication ---------------------------------------------------------------------
const AUTH_KEY = "dicomkit.authorization", USER_KEY = "dicomkit.user";
const auth = {
  header: sessionStorage.getItem(AUTH_KEY) || "",
  user: sessionStorage.getItem(USER_KEY) || "",
  pending: null,  // the sign-in in progress: every request that got a 401 waits for it

  set(header, user) {
    this.header = header; this.user = user;
    if (header) { sessionStorage.setItem(AUTH_KEY, header); sessionStorage.setItem(USER_KEY, user); }
    else { sessionStorage.removeItem(AUTH_KEY); sessionStorage.removeItem(USER_KEY); }
    const who = $("#who");
    who.hidden = !header;
    $("#who-name").textContent = user;
  },

  // show the form with the server's words; resolves once the user has signed in
  signIn(why, schemes) {
    if (this.pending) return this.pending;
    const dialog = $("#signin"), form = $("#signin-form");
    const offered = (schemes || "Basic, Bearer").split(",").map((x) => x.trim());
    $("#signin-basic").hidden = !offered.includes("Basic");
    $("#signin-bearer").hidden = !offered.includes("Bearer");
    $("#signin-why").textContent = why;
    form.reset();
    this.pending = new Promise((resolve) => {
      form.onsubmit = (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const token = String(data.get("token") || "").trim();
        const user = String(data.get("user") || "");
        if (token) this.set(`Bearer ${token}`, "token");
        else {
          const bytes = new TextEncoder().encode(`${user}:${data.get("password") || ""}`);
          this.set(`Basic ${btoa(String.fromCharCode(...bytes))}`, user);
        }
        dialog.close();
        this.pending = null;
        resolve();
      };
    });
    if (!dialog.open) dialog.showModal();
    return this.pending;
  },
};

// fetch() with the page's credentials; a 401 asks the user to sign in, then tries again
async function api(url, init = {}) {
  for (;;) {
    const headers = new Headers(init.headers || {});
    headers.set("X-Requested-With", "XMLHttpRequest");
    if (auth.header) headers.set("Authorization", auth.header);
    const sent = auth.header;
    const r = await fetch(url, { ...init, headers });
    if (r.status !== 401) return r;
    const why = (await r.text()).trim();
    if (auth.header === sent) await auth.signIn(why, r.headers.get("X-Auth-Schemes"));
  }
}

// a picture through api(): its blob: URL (freed by the caller's list when the view changes)
const blobs = [];
async function pictureUrl(url, accept) {
  const r = await api(url, { headers: { Accept: accept || "image/jpeg" } });
  if (!r.ok) throw new Error(`${r.status}: ${(await r.text()).trim()}`);
  const u = URL.createObjectURL(await r.blob());
  blobs.push(u);
  return u;
}
function freePictures() {
  for (const u of blobs.splice(0)) URL.revokeObjectURL(u);
}

// ---- DICOM JSON helpers --------------------------------------------------------------
const T = {
  PatientName: "00100010", PatientID: "00100020", PatientBirthDate: "00100030",
  PatientSex: "00100040", StudyDate: "00080020", StudyTime: "00080030",
  StudyDescription: "00081030", ModalitiesInStudy: "00080061", AccessionNumber: "00080050",
  StudyInstanceUID: "0020000D", NumberOfStudyRelatedSeries: "00201206",
  NumberOfStudyRelatedInstances: "00201208", SeriesInstanceUID: "0020000E",
  SeriesNumber: "00200011", SeriesDescription: "0008103E", Modality: "00080060",
  NumberOfSeriesRelatedInstances: "00201209", SOPInstanceUID: "00080018",
  InstanceNumber: "00200013", NumberOfFrames: "00280008", Rows: "00280010",
  Columns: "00280011", BitsAllocated: "00280100", BitsStored: "00280101",
  PixelRepresentation: "00280103", SamplesPerPixel: "00280002",
  PhotometricInterpretation: "00280004", WindowCenter: "00281050", WindowWidth: "00281051",
  RescaleSlope: "00281053", RescaleIntercept: "00281052", SliceThickness: "00180050",
  SliceLocation: "00201041", InstitutionName: "00080080",
};

function value(obj, key) {
  const el = obj && obj[T[key]];
  if (!el || !el.Value || !el.Value.length) return undefined;
  const v = el.Value[0];
  return v && typeof v === "object" && "Alphabetic" in v ? v.Alphabetic : v;
}
function values(obj, key) {
  const el = obj && obj[T[key]];
  return el && el.Value ? el.Value : [];
}
const text = (obj, key) => String(value(obj, key) ?? "");
const num = (obj, key, dflt) => {
  const v = Number(value(obj, key));
  return Number.isFinite(v) ? v : dflt;
};
const personName = (s) => s.replace(/\^+/g, " ").trim();
const studyLabel = (obj) =>
  `${personName(text(obj, "PatientName")) || text(obj, "PatientID")} ${dicomDate(text(obj, "StudyDate"))}`.trim();
const dicomDate = (s) => (s && s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s || "");

async function qido(path, params) {
  const url = new URL(API + path, location.href);
  for (const [k, v] of Object.entries(params || {})) if (v !== "" && v != null) url.searchParams.append(k, v);
  const r = await api(url, { headers: { Accept: "application/dicom+json" } });
  if (!r.ok) throw new Error(`${r.status}: ${(await r.text()).trim()}`);
  return r.status === 204 ? [] : r.json();
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) e.append(c);
  return e;
}

function show(id, crumbs) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
  const c = $("#crumbs");
  c.replaceChildren();
  for (const [label, href] of crumbs) c.append(" / ", href ? el("a", { href, textContent: label }) : label);
}

// ---- study list ------------------------------------------------------------------------
let listSearch = 0;  // the latest search: an older one answering late does not overwrite it
async function showList() {
  const mine = ++listSearch;
  show("list", []);
  viewer.stop();
  const form = $("#search");
  const f = Object.fromEntries(new FormData(form));
  const params = { includefield: "StudyDescription", limit: "200" };
  const patient = (f.patient || "").trim();
  if (patient) params.PatientName = /[*?]/.test(patient) ? patient : `*${patient}*`;
  const from = (f.from || "").replaceAll("-", ""), to = (f.to || "").replaceAll("-", "");
  if (from || to) params.StudyDate = from === to ? from : `${from}-${to}`;
  if (f.modality) params.ModalitiesInStudy = f.modality.trim().toUpperCase();
  if (f.accession) params.AccessionNumber = f.accession.trim();
  const status = $("#status");
  status.textContent = "Searching…";
  let studies;
  try {
    studies = await qido("/studies", params);
    if (!studies.length && patient) {  // no such name: maybe it is a patient ID
      const byId = { ...params, PatientID: patient };
      delete byId.PatientName;
      studies = await qido("/studies", byId);
    }
  } catch (e) {
    if (mine === listSearch) status.textContent = `Search failed: ${e.message}`;
    return;
  }
  if (mine !== listSearch) return;
  studies.sort((a, b) => text(b, "StudyDate").localeCompare(text(a, "StudyDate")));
  const body = $("#studies tbody");
  body.replaceChildren(...studies.map((s) => {
    const tr = el("tr");
    for (const cell of [personName(text(s, "PatientName")), text(s, "PatientID"),
      dicomDate(text(s, "StudyDate")), text(s, "StudyDescription"),
      values(s, "ModalitiesInStudy").join(", "), text(s, "AccessionNumber"),
      text(s, "NumberOfStudyRelatedSeries"), text(s, "NumberOfStudyRelatedInstances")]) {
      tr.append(el("td", { textContent: cell }));
    }
    tr.dataset.study = text(s, "StudyInstanceUID");
    tr.onclick = () => { location.hash = `#/study/${tr.dataset.study}`; };
    return tr;
  }));
  status.textContent = `${studies.length} stud${studies.length === 1 ? "y" : "ies"}`;
}

// ---- study page --------------------------------------------------------------------------
async function showStudy(study) {
  viewer.stop();
  show("study", [["Studies", "#/"], [study, null]]);
  const grid = $("#series");
  grid.replaceChildren();
  freePictures();
  const [info] = await qido("/studies", { StudyInstanceUID: study, includefield: "StudyDescription" });
  $("#study-title").textContent = info
    ? `${personName(text(info, "PatientName"))} · ${text(info, "PatientID")} · ` +
      `${dicomDate(text(info, "StudyDate"))} · ${text(info, "StudyDescription")}`
    : study;
  if (info) show("study", [["Studies", "#/"], [studyLabel(info), null]]);
  const series = await qido(`/studies/${study}/series`, { includefield: "SeriesDescription" });
  series.sort((a, b) => num(a, "SeriesNumber", 1e9) - num(b, "SeriesNumber", 1e9));
  grid.replaceChildren(...series.map((s) => {
    const uid = text(s, "SeriesInstanceUID");
    const img = el("img", { alt: "" });
    pictureUrl(`${API}/studies/${study}/series/${uid}/thumbnail`).then((u) => { img.src = u; })
      .catch((e) => { img.alt = e.message; });
    const card = el("div", { className: "card" }, img,
      el("div", { textContent: `${text(s, "Modality")} #${text(s, "SeriesNumber")}` }),
      el("div", { textContent: text(s, "SeriesDescription") || "(no description)" }),
      el("div", { textContent: `${text(s, "NumberOfSeriesRelatedInstances")} instances` }));
    card.dataset.series = uid;
    card.onclick = () => { location.hash = `#/view/${study}/${uid}`; };
    return card;
  }));
}

// ---- viewer ------------------------------------------------------------------------------
const PRESETS = [
  ["Default", null], ["Full range", "auto"], ["Brain", [40, 80]], ["Soft tissue", [40, 400]],
  ["Lung", [-600, 1500]], ["Bone", [300, 1500]], ["Mediastinum", [50, 350]],
];

function parseMultipart(buf, contentType) {
  const m = /boundary="?([^";]+)"?/i.exec(contentType || "");
  const bytes = new Uint8Array(buf);
  if (!m) return bytes;
  const enc = new TextEncoder();
  const find = (needle, from) => {
    outer: for (let i = from; i <= bytes.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  };
  const start = find(enc.encode("\r\n\r\n"), 0) + 4;
  const delim = enc.encode(`\r\n--${m[1]}`);
  let end = -1;
  for (let i = bytes.length - delim.length; i >= start; i--) {
    let ok = true;
    for (let j = 0; j < delim.length && ok; j++) ok = bytes[i + j] === delim[j];
    if (ok) { end = i; break; }
  }
  return bytes.slice(start, end < 0 ? bytes.length : end);
}

const viewer = {
  canvas: null, ctx: null, frames: [], index: 0, cache: new Map(), token: 0,
  center: 0, width: 1, zoom: 1, panX: 0, panY: 0, rect: null, state: "idle", meta: null,

  stop() { this.token++; this.clear(); this.state = "idle"; },

  clear() {
    for (const v of this.cache.values()) v.then((f) => f.url && URL.revokeObjectURL(f.url), () => {});
    this.cache.clear();
  },

  async open(study, series) {
    const token = ++this.token;
    this.clear();
    this.state = "loading";
    show("viewer", [["Studies", "#/"], [study, `#/study/${study}`], [series, null]]);
    const answer = await api(`${API}/studies/${study}/series/${series}/metadata`,
      { headers: { Accept: "application/dicom+json" } });
    if (!answer.ok) throw new Error(`${answer.status}: ${(await answer.text()).trim()}`);
    const meta = await answer.json();
    if (token !== this.token) return;
    if (meta.length) {
      const m = meta[0];
      show("viewer", [["Studies", "#/"], [studyLabel(m), `#/study/${study}`],
        [`${text(m, "Modality")} #${text(m, "SeriesNumber")} ${text(m, "SeriesDescription")}`.trim(), null]]);
    }
    meta.sort((a, b) => num(a, "InstanceNumber", 1e9) - num(b, "InstanceNumber", 1e9));
    this.frames = [];
    for (const m of meta) {
      if (!value(m, "Rows")) continue;  // no pixels
      const n = num(m, "NumberOfFrames", 1);
      for (let f = 1; f <= n; f++) this.frames.push({ meta: m, study, series, frame: f, count: n });
    }
    const slider = $("#slider");
    slider.max = String(Math.max(1, this.frames.length));
    this.zoom = 1; this.panX = this.panY = 0;
    this.index = 0;
    this.meta = null;
    await this.go(0, true);
  },

  async load(k) {
    const f = this.frames[k];
    const key = `${text(f.meta, "SOPInstanceUID")}/${f.frame}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const base = `${API}/studies/${f.study}/series/${f.series}/instances/${text(f.meta, "SOPInstanceUID")}/frames/${f.frame}`;
    const promise = (async () => {
      const m = f.meta;
      const samples = num(m, "SamplesPerPixel", 1);
      const photometric = text(m, "PhotometricInterpretation");
      if (samples !== 1 || photometric === "PALETTE COLOR") {
        const r = await api(`${base}/rendered`, { headers: { Accept: "image/png" } });
        if (!r.ok) throw new Error(`frame ${key}: ${r.status}`);
        const url = URL.createObjectURL(await r.blob());
        const img = new Image();
        img.src = url;
        await img.decode();
        return { image: img, grey: false, url };
      }
      const r = await api(base, { headers: { Accept: OCTETS } });
      if (!r.ok) throw new Error(`frame ${key}: ${r.status}`);
      const bytes = parseMultipart(await r.arrayBuffer(), r.headers.get("content-type"));
      const bits = num(m, "BitsAllocated", 16), stored = num(m, "BitsStored", bits);
      const signed = num(m, "PixelRepresentation", 0) === 1;
      const raw = bits === 8 ? bytes : bits === 32
        ? (signed ? new Int32Array(bytes.buffer) : new Uint32Array(bytes.buffer))
        : new Uint16Array(bytes.buffer);
      const slope = num(m, "RescaleSlope", 1), intercept = num(m, "RescaleIntercept", 0);
      const mask = stored >= 32 ? 0xFFFFFFFF : (2 ** stored) - 1, sign = 2 ** (stored - 1);
      const out = new Float32Array(raw.length);
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < raw.length; i++) {
        let v = raw[i];
        if (bits !== 32) { v &= mask; if (signed && v >= sign) v -= 2 * sign; }
        v = v * slope + intercept;
        out[i] = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      return { values: out, rows: num(m, "Rows", 0), columns: num(m, "Columns", 0),
               lo, hi, invert: photometric === "MONOCHROME1", grey: true };
    })();
    this.cache.set(key, promise);
    promise.catch(() => this.cache.delete(key));
    return promise;
  },

  defaultWindow(px) {
    const m = this.frames[this.index].meta;
    const c = Number(values(m, "WindowCenter")[0]), w = Number(values(m, "WindowWidth")[0]);
    if (Number.isFinite(c) && Number.isFinite(w) && w >= 1) return [c, w];
    return this.autoWindow(px);
  },
  autoWindow(px) { return px && px.grey ? [(px.lo + px.hi + 1) / 2, Math.max(1, px.hi - px.lo + 1)] : [128, 256]; },

  async go(k, first) {
    if (!this.frames.length) { this.state = "empty"; this.draw(); return; }
    k = Math.max(0, Math.min(this.frames.length - 1, k));
    this.index = k;
    $("#slider").value = String(k + 1);
    const token = this.token;
    const px = await this.load(k);
    if (token !== this.token || k !== this.index) return;
    if (first) [this.center, this.width] = this.defaultWindow(px);
    this.pixels = px;
    this.draw();
    for (const j of [k + 1, k - 1, k + 2]) if (j >= 0 && j < this.frames.length) this.load(j).catch(() => {});
  },

  draw() {
    const canvas = this.canvas, ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(canvas.clientWidth * dpr), h = Math.round(canvas.clientHeight * dpr);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const px = this.pixels;
    if (!px || !this.frames.length) return;
    let source;
    if (px.grey) {
      source = this.windowed(px);
    } else {
      source = px.image;
    }
    const sw = px.grey ? px.columns : px.image.naturalWidth, sh = px.grey ? px.rows : px.image.naturalHeight;
    const scale = Math.min(w / sw, h / sh) * this.zoom;
    const dw = sw * scale, dh = sh * scale;
    const x = (w - dw) / 2 + this.panX * dpr, y = (h - dh) / 2 + this.panY * dpr;
    ctx.imageSmoothingEnabled = scale < 1;
    ctx.drawImage(source, x, y, dw, dh);
    this.rect = { x, y, w: dw, h: dh };
    this.state = "drawn";
    canvas.dataset.frame = String(this.index + 1);
    this.annotate();
  },

  windowed(px) {
    // PS3.3 C.11.2.1.2 LINEAR window to 0..255, MONOCHROME1 inverted (as the pixel pipeline)
    const c = this.center, w = this.width;
    const lo = c - 0.5 - (w - 1) / 2, hi = c - 0.5 + (w - 1) / 2;
    const n = px.values.length, img = new ImageData(px.columns, px.rows), d = img.data;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const v = px.values[i];
      let y = v <= lo ? 0 : v > hi ? 255 : w === 1 ? 255 : ((v - (c - 0.5)) / (w - 1) + 0.5) * 255;
      y = Math.round(Math.min(255, Math.max(0, y)));
      if (px.invert) y = 255 - y;
      d[j] = d[j + 1] = d[j + 2] = y;
      d[j + 3] = 255;
    }
    const off = this.off || (this.off = document.createElement("canvas"));
    off.width = px.columns; off.height = px.rows;
    off.getContext("2d").putImageData(img, 0, 0);
    return off;
  },

  annotate() {
    const f = this.frames[this.index], m = f.meta;
    $("#info-tl").textContent = `${personName(text(m, "PatientName"))}\n${text(m, "PatientID")}\n` +
      `${text(m, "PatientSex")} ${dicomDate(text(m, "PatientBirthDate"))}`;
    $("#info-tr").textContent = `${text(m, "InstitutionName")}\n${dicomDate(text(m, "StudyDate"))} ` +
      `${text(m, "StudyDescription")}\n${text(m, "Modality")} #${text(m, "SeriesNumber")} ${text(m, "SeriesDescription")}`;
    const frame = f.count > 1 ? `  frame ${f.frame}/${f.count}` : "";
    $("#info-bl").textContent = `Image ${this.index + 1}/${this.frames.length}` +
      `  (instance ${text(m, "InstanceNumber")}${frame})\n${num(m, "Columns", 0)}×${num(m, "Rows", 0)}` +
      (value(m, "SliceLocation") !== undefined ? `  loc ${num(m, "SliceLocation", 0).toFixed(1)}` : "") +
      (value(m, "SliceThickness") !== undefined ? `  thk ${num(m, "SliceThickness", 0)}` : "");
    $("#info-br").textContent = (this.pixels && this.pixels.grey
      ? `W ${Math.round(this.width)} L ${Math.round(this.center)}\n` : "") + `Zoom ${(this.zoom * 100).toFixed(0)}%`;
  },

  setWindow(c, w) { this.center = c; this.width = Math.max(1, w); this.draw(); },

  preset(name) {
    const p = PRESETS.find(([n]) => n === name);
    if (!p || !this.pixels) return;
    const [c, w] = p[1] === null ? this.defaultWindow(this.pixels) : p[1] === "auto" ? this.autoWindow(this.pixels) : p[1];
    this.setWindow(c, w);
  },

  init() {
    this.canvas = $("#canvas");
    this.ctx = this.canvas.getContext("2d");
    const sel = $("#preset");
    for (const [name] of PRESETS) sel.append(el("option", { value: name, textContent: name }));
    sel.onchange = () => { this.preset(sel.value); this.canvas.focus(); };
    $("#slider").oninput = (e) => this.go(Number(e.target.value) - 1);
    $("#reset").onclick = () => { this.zoom = 1; this.panX = this.panY = 0; this.preset("Default"); };
    let drag = null;
    this.canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    this.canvas.addEventListener("pointerdown", (e) => {
      const tool = e.button === 2 || e.shiftKey ? "pan" : e.button === 1 || e.ctrlKey ? "zoom"
        : document.querySelector("input[name=tool]:checked").value;
      drag = { tool, x: e.clientX, y: e.clientY, c: this.center, w: this.width, zoom: this.zoom,
               panX: this.panX, panY: this.panY };
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (drag.tool === "window") {
        const s = Math.max(0.5, drag.w / 256);
        this.setWindow(drag.c + dy * s, drag.w + dx * s);
      } else if (drag.tool === "pan") {
        this.panX = drag.panX + dx; this.panY = drag.panY + dy; this.draw();
      } else {
        this.zoom = Math.min(32, Math.max(0.1, drag.zoom * Math.exp(-dy / 150))); this.draw();
      }
    });
    const end = () => { drag = null; };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
    this.canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        this.zoom = Math.min(32, Math.max(0.1, this.zoom * Math.exp(-e.deltaY / 500)));
        this.draw();
      } else {
        this.go(this.index + Math.sign(e.deltaY));
      }
    }, { passive: false });
    document.addEventListener("keydown", (e) => {
      if ($("#viewer").hidden || e.target.tagName === "INPUT" && e.target.type !== "radio") return;
      const step = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 }[e.key];
      if (step) { e.preventDefault(); this.go(this.index + step); }
      else if (e.key === "Home") this.go(0);
      else if (e.key === "End") this.go(this.frames.length - 1);
      else if (e.key === "r" || e.key === "R") $("#reset").click();
      else if (/^[1-7]$/.test(e.key)) { sel.value = PRESETS[Number(e.key) - 1][0]; this.preset(sel.value); }
    });
    new ResizeObserver(() => { if (this.state === "drawn") this.draw(); }).observe(this.canvas);
  },
};

// ---- routing ---------------------------------------------------------------------------
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const done = (p) => p.catch((e) => { $("#status").textContent = e.message; console.error(e); });
  if (parts[0] === "study" && parts[1]) return done(showStudy(parts[1]));
  if (parts[0] === "view" && parts[2]) return done(viewer.open(parts[1], parts[2]));
  return done(showList());
}

$("#search").addEventListener("submit", (e) => {
  e.preventDefault();
  if (location.hash && location.hash !== "#/") location.hash = "#/";
  else showList();
});
$("#search").addEventListener("reset", () => setTimeout(showList, 0));
$("#signout").addEventListener("click", () => { auth.set("", ""); route(); });
// Escape would close the form with requests still waiting for it: it stays until signed in
$("#signin").addEventListener("cancel", (e) => e.preventDefault());
auth.set(auth.header, auth.user);
viewer.init();
window.dkViewer = viewer;  // for tests and the console
window.addEventListener("hashchange", route);
route();
