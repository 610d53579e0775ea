// The offline verifier page: downloads the signed trust list and the revocation list when online
// (keeping the last good copies in the Cache API), verifies HC1 texts (EU DCC, WHO DDCC:VS) and
// SMART Health Cards (shc:/) typed, pasted or read by
// the live camera (vendored zxing-wasm), and shows a minimal verdict: name and date of birth.
import { loadAnchors, revocationSet, verifyHc1, verifyTrustList } from "./dcc.js";
import { verifyShc } from "./shc.js";

const TRUST_URL = "/api/v1/certificates/trust-list";
const REVOCATIONS_URL = "/api/v1/certificates/revocations";
const GOOD = "vaxlink-verifier-last-good"; // the page's own cache of the last verified lists
const GOOD_TRUST = "/verifier/last-good/trust-list";
const GOOD_REVOCATIONS = "/verifier/last-good/revocations";

const PREFIXES = { hc1: "HC1:", shc: "shc:/" };
const config = JSON.parse(document.getElementById("verifier-config").textContent);
const $ = (id) => document.getElementById(id);
const state = { lang: "vi", trust: null, revoked: null, trustRefused: false, anchors: [] };

function t(key, values) {
  const table = config.strings[state.lang] || config.strings.vi;
  let text = table[key] || config.strings.vi[key] || key;
  for (const [k, v] of Object.entries(values || {})) { text = text.replace("{" + k + "}", v); }
  return text;
}

function pad(n) { return String(n).padStart(2, "0"); }
function stamp(ms) {
  const d = new Date(ms);
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function day(iso) {
  const m = /^(\d{4})(?:-(\d\d))?(?:-(\d\d))?$/.exec(iso || "");
  if (!m) { return iso || ""; }
  return [m[3], m[2], m[1]].filter(Boolean).join("/");
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-t]")) { el.textContent = t(el.dataset.t); }
  $("lang-switch").textContent = t("verifier.switch");
  $("lang-switch").lang = state.lang === "vi" ? "en" : "vi";
  showLists();
  if (state.last) { render(state.last); }
}

function showLists() {
  $("trust-age").textContent = state.trust
    ? t("verifier.trust_from", { when: stamp(state.trust.issuedAt) })
    : t("verifier.trust_none");
  $("revocations-age").textContent = state.revoked
    ? t("verifier.revocations_from", { when: stamp(state.revokedAt) })
    : t("verifier.revocations_none");
  $("trust-refused").hidden = !state.trustRefused;
}

async function remember(key, value) {
  try {
    const cache = await caches.open(GOOD);
    await cache.put(key, new Response(JSON.stringify(value), {
      headers: { "Content-Type": "application/json" },
    }));
  } catch { /* no Cache API (private mode): the lists still work until the page closes */ }
}

async function recall(key) {
  try {
    const found = await (await caches.open(GOOD)).match(key);
    return found ? await found.json() : null;
  } catch {
    return null;
  }
}

async function loadTrust() {
  const now = Date.now();
  try {
    const response = await fetch(TRUST_URL, { cache: "no-cache" });
    if (response.ok) {
      const documentText = await response.text();
      const signature = response.headers.get("X-Signature");
      try {
        state.trust = await verifyTrustList(documentText, signature, state.anchors, now);
        state.trustRefused = false;
        await remember(GOOD_TRUST, { document: documentText, signature });
        return;
      } catch (exc) {
        state.trustRefused = true; // refused: the last good one is kept
        console.warn("trust list refused:", exc.message);
      }
    }
  } catch { /* offline and not cached: the last good copy */ }
  const good = await recall(GOOD_TRUST);
  if (good) {
    try {
      state.trust = await verifyTrustList(good.document, good.signature, state.anchors, now);
    } catch (exc) {
      state.trust = null;
      console.warn("stored trust list no longer verifies:", exc.message);
    }
  }
}

async function loadRevocations() {
  let doc = null;
  try {
    const response = await fetch(REVOCATIONS_URL, { cache: "no-cache" });
    if (response.ok) {
      doc = await response.json();
      revocationSet(doc);
      await remember(GOOD_REVOCATIONS, doc);
    }
  } catch {
    doc = null;
  }
  if (!doc) { doc = await recall(GOOD_REVOCATIONS); }
  if (doc) {
    state.revoked = revocationSet(doc);
    state.revokedAt = Date.parse(doc.generated_at);
  }
}

function render(result) {
  state.last = result;
  const box = $("verdict");
  box.hidden = false;
  box.dataset.status = result.status;
  box.className = "verdict " + ({ VALID: "valid", UNREAD: "calm" }[result.status] || "invalid");
  $("verdict-title").textContent = t("verifier.status." + result.status);
  $("verdict-reason").textContent = t("verifier.reason." + result.reason, PREFIXES);
  const holder = result.holder;
  $("holder").hidden = !holder;
  $("holder-name").textContent = holder ? holder.name : "";
  $("holder-transliterated").textContent = holder ? holder.transliterated : "";
  $("holder-dob").textContent = holder ? day(holder.dob) : "";
}

/** Verify one HC1 text and show the verdict; returns the verdict (the tests time this call).
 * `now` (ms) is the device clock unless given. */
async function check(text, now) {
  if (!state.trust && String(text || "").trim()) {
    const result = { status: "UNREAD", reason: "no_trust_list", holder: null };
    render(result);
    return result;
  }
  const shc = String(text || "").trim().slice(0, 5).toLowerCase() === "shc:/";
  const result = await (shc ? verifyShc : verifyHc1)(text, state.trust, state.revoked,
    now ?? Date.now());
  render(result);
  return result;
}

function setUpCamera() {
  const start = $("scan-start");
  const stop = $("scan-stop");
  const video = $("scan-video");
  if (!window.ZXingWASM || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    start.hidden = true;
    $("scan-unavailable").hidden = false;
    return;
  }
  window.ZXingWASM.prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) =>
        path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/" + path : prefix + path,
    },
  });
  let stream = null;
  let timer = null;
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
  function halt() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach((track) => track.stop()); stream = null; }
    video.hidden = true; stop.hidden = true; start.hidden = false;
  }
  function tick() {
    if (!stream) { return; }
    if (video.readyState < 2 || !video.videoWidth) { timer = setTimeout(tick, 200); return; }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    ctx.drawImage(video, 0, 0);
    const frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
    window.ZXingWASM.readBarcodes(frame, options).then((results) => {
      const hit = results.find((r) => r.isValid && r.text && r.text.startsWith("HC1:"));
      if (hit) {
        halt();
        $("hc1").value = hit.text;
        check(hit.text);
      } else {
        timer = setTimeout(tick, 200);
      }
    }, () => { timer = setTimeout(tick, 500); });
  }
  start.addEventListener("click", () => {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then((s) => {
        stream = s;
        video.srcObject = s;
        video.hidden = false; stop.hidden = false; start.hidden = true;
        return video.play();
      })
      .then(tick)
      .catch(() => { halt(); start.hidden = true; $("scan-unavailable").hidden = false; });
  });
  stop.addEventListener("click", halt);
}

async function main() {
  try {
    const saved = localStorage.getItem("vaxlink.verifier.lang");
    if (saved === "en" || saved === "vi") { state.lang = saved; }
  } catch { /* storage off: Vietnamese */ }
  $("app").hidden = false;
  $("no-script").hidden = true;
  applyLanguage();
  $("lang-switch").addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    try { localStorage.setItem("vaxlink.verifier.lang", state.lang); } catch { /* ignore */ }
    applyLanguage();
  });
  $("verify-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check($("hc1").value);
  });
  setUpCamera();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/verifier/sw.js", { scope: "/verifier" })
      .catch((exc) => console.warn("service worker not registered:", exc.message));
  }
  state.anchors = await loadAnchors(config.cscas);
  await Promise.all([loadTrust(), loadRevocations()]);
  showLists();
  $("lists").dataset.ready = "1";
}

const ready = main();
window.vaxlinkVerifier = { ready, check };
