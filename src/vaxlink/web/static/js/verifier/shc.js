// Offline verification of SMART Health Cards (`shc:/` QR texts) in the browser, with the same
// order as the server's (vaxlink.certificates.core.shc_verify): strict digits and base64url, the
// JWS header alone decoded before the signature (ES256, zip DEF, no crit), the key found among
// the verified trust list's P-256 DSCs by JWK thumbprint (trust.byJwk), WebCrypto ES256 over
// `header.payload`, and only then the payload: raw DEFLATE (at most 64 KiB), JSON, nbf/exp, the
// DSC's window and key usage (v), the Patient and Immunizations, the card's rid on the
// revocation list (the first 9 bytes of a revoked UVCI's SHA-256).
import { inflateCapped } from "./dcc.js";

const MAX_TEXT = 8192;
const MAX_HEADER = 512;
const VACCINATION_OIDS = ["1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"];
const ALL_DCC_OIDS = [
  "1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1",
  ...VACCINATION_OIDS,
  "1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3",
];
const B64URL = /^[A-Za-z0-9_-]*$/;
const RID = /^[A-Za-z0-9_-]{1,24}$/;

const unread = (reason) => ({ status: "UNREAD", reason });
const verdict = (status, reason, holder) => ({ status, reason, holder: holder || null });
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const b64url = (bytes) => b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Strict base64url: the alphabet, no padding, and the canonical last character; null if not. */
function unb64url(text) {
  if (!B64URL.test(text) || text.length % 4 === 1) { return null; }
  let bytes;
  try {
    bytes = unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  } catch {
    return null;
  }
  return b64url(bytes) === text ? bytes : null;
}

/** The JWS of an `shc:/` text (one chunk), or null when the digits are not a card's. */
export function jwsOf(text) {
  const digits = text.slice(5);
  if (!/^[0-9]*$/.test(digits) || digits.length % 2 || !digits.length) { return null; }
  let out = "";
  for (let i = 0; i < digits.length; i += 2) {
    const n = Number(digits.slice(i, i + 2));
    if (n > 77) { return null; }
    out += String.fromCharCode(n + 45);
  }
  return out;
}

const ridSets = new WeakMap();

/** The revocation list's hashes as card rids (base64url of their first 9 bytes), once per list. */
function ridsOf(revoked) {
  if (!revoked) { return new Set(); }
  let rids = ridSets.get(revoked);
  if (!rids) {
    rids = new Set([...revoked].map((h) => b64url(unb64(h).subarray(0, 9))));
    ridSets.set(revoked, rids);
  }
  return rids;
}

const isDate = (value) => typeof value === "string" &&
  /^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?(T.*)?$/.test(value);

/** The Patient's written name (family, given) and the facts a border officer needs. */
function holderOf(claims) {
  const vc = claims && typeof claims === "object" ? claims.vc : null;
  const types = vc && Array.isArray(vc.type) ? vc.type : [];
  const bundle = vc && vc.credentialSubject && vc.credentialSubject.fhirBundle;
  const entries = bundle && Array.isArray(bundle.entry) ? bundle.entry : null;
  if (!types.includes("https://smarthealth.cards#health-card") || !entries ||
      !entries.length || entries.length > 32) { return null; }
  const resources = entries.map((e) => (e && e.resource) || {});
  const patients = resources.filter((r) => r.resourceType === "Patient");
  const shots = resources.filter((r) => r.resourceType === "Immunization");
  if (patients.length !== 1 || !shots.length) { return null; }
  const name = Array.isArray(patients[0].name) && patients[0].name[0] ? patients[0].name[0] : {};
  const given = Array.isArray(name.given) ? name.given.join(" ") : "";
  const written = [name.family, given].filter(Boolean).join(" ") || String(name.text || "");
  const dob = patients[0].birthDate;
  const dated = shots.every((s) => isDate(s.occurrenceDateTime) && s.vaccineCode &&
    Array.isArray(s.vaccineCode.coding) && s.vaccineCode.coding[0] && s.vaccineCode.coding[0].code);
  if (!written || !isDate(dob) || !dated) { return null; }
  return { name: written, transliterated: "", dob };
}

/** The verdict on an `shc:/` text, as verifyHc1's: {status, reason, holder}. */
export async function verifyShc(text, trust, revoked, now) {
  const input = String(text || "").trim();
  if (input.length > MAX_TEXT) { return unread("base45"); }
  if (input.slice(0, 5).toLowerCase() !== "shc:/") { return unread("prefix"); }
  const jws = jwsOf(input);
  if (jws === null) { return unread("base45"); }
  const parts = jws.split(".");
  if (parts.length !== 3 || parts[0].length > MAX_HEADER) { return unread("decode"); }
  const [headerPart, payloadPart, signaturePart] = parts;
  const headerBytes = unb64url(headerPart);
  const signature = unb64url(signaturePart);
  if (!headerBytes || !signature || !B64URL.test(payloadPart)) { return unread("decode"); }
  let header;
  try { header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes)); } catch {
    return unread("decode");
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) { return unread("decode"); }
  if (header.alg !== "ES256") { return verdict("NOT_VALID", "algorithm"); }
  if ("crit" in header || header.zip !== "DEF" || ("b64" in header && header.b64 !== true)) {
    return unread("decode");
  }
  if (typeof header.kid !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(header.kid)) {
    return verdict("UNKNOWN_ISSUER", "no_kid");
  }
  const candidates = trust && trust.byJwk ? trust.byJwk.get(header.kid) || [] : [];
  if (!candidates.length) { return verdict("UNKNOWN_ISSUER", "unknown_kid"); }
  if (signature.length !== 64) { return verdict("NOT_VALID", "signature"); }
  const signed = new TextEncoder().encode(headerPart + "." + payloadPart);
  let dsc = null;
  for (const c of candidates) {
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, c.key, signature,
      signed);
    if (ok) { dsc = c.cert; break; }
  }
  if (!dsc) { return verdict("NOT_VALID", "signature"); }
  // authentic from here on: the payload may be read
  const payload = unb64url(payloadPart);
  let claims;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await inflateCapped(payload, "deflate-raw")));
  } catch {
    return verdict("NOT_VALID", "claims");
  }
  const nbf = claims && Number.isFinite(claims.nbf) ? claims.nbf : NaN;
  const exp = claims && "exp" in claims ? claims.exp : null;
  const rid = claims && claims.vc && typeof claims.vc === "object" ? claims.vc.rid : undefined;
  if (!Number.isFinite(nbf) || !(exp === null || Number.isFinite(exp)) ||
      typeof claims.iss !== "string" || !(rid === undefined || RID.test(rid))) {
    return verdict("NOT_VALID", "claims");
  }
  const holder = holderOf(claims);
  if (!holder) { return verdict("NOT_VALID", "claims"); }
  if (nbf * 1000 < dsc.notBefore || (exp !== null && exp * 1000 > dsc.notAfter)) {
    return verdict("NOT_VALID", "dsc_validity", holder);
  }
  const typed = ALL_DCC_OIDS.some((o) => dsc.ekus.has(o));
  if (typed && !VACCINATION_OIDS.some((o) => dsc.ekus.has(o))) {
    return verdict("NOT_VALID", "key_usage", holder);
  }
  if (rid !== undefined && ridsOf(revoked).has(rid)) { return verdict("REVOKED", "revoked", holder); }
  if (now < nbf * 1000) { return verdict("NOT_VALID", "not_yet_valid", holder); }
  if (exp !== null && now > exp * 1000) { return verdict("EXPIRED", "expired", holder); }
  return verdict("VALID", "valid", holder);
}
