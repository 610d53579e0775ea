// Offline verification of HC1 certificates in the browser (an EU DCC, or a WHO DDCC:VS: hcert key
// 2), and of the signed trust list they are checked against. WebCrypto does the cryptography; cborg (vendored) the CBOR.
//
// The trust list is used only once its detached JWS verifies with a signer certificate issued
// by a pinned CSCA (name and signature), carrying the trust-list-signing EKU and valid now, and
// every entry checks out (kid = SHA-256(DER)[:8], the signer's signature over the DER, a DSC
// issued by a pinned CSCA): the same rules as vaxlink.certificates.keys.trustlist.load_trust_list.
import { decode, encode } from "/static/vendor/cborg/cborg.js";
import { decodeBase45 } from "./base45.js";
import { parseCertificate, rawSignature, sameBytes } from "./x509.js";

export const OID_TRUST_LIST_SIGNING = "2.25.144301861711689087609475054345727760883.1.2";
const DCC_TYPE_OIDS = {
  t: ["1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"],
  v: ["1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"],
  r: ["1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"],
};
const KINDS = ["v", "t", "r"];
const MAX_INFLATED = 64 * 1024;
const CBOR_OPTIONS = {
  useMaps: true,
  allowUndefined: false,
  // COSE_Sign1 (18) and CWT (61) tags wrap their content; the self-described CBOR tag too
  tags: Object.assign([], { 18: (d) => d(), 61: (d) => d(), 55799: (d) => d() }),
};

export class TrustListRefused extends Error {}

const utf8 = new TextEncoder();
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const unb64url = (text) => unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
const b64url = (bytes) => b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const HASH_OF = { "P-256": "SHA-256", "P-384": "SHA-384" };
const SIZE_OF = { "P-256": 32, "P-384": 48 };

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function importKey(cert) {
  if (!cert.curve) { throw new TrustListRefused("a key that is not ECDSA P-256 or P-384"); }
  return crypto.subtle.importKey("spki", cert.spki, { name: "ECDSA", namedCurve: cert.curve },
    false, ["verify"]);
}

function verifyRaw(key, curve, raw, data) {
  if (raw.length !== 2 * SIZE_OF[curve]) { return Promise.resolve(false); }
  return crypto.subtle.verify({ name: "ECDSA", hash: HASH_OF[curve] }, key, raw, data);
}

/** Whether `cert` was issued (names chain, signature verifies) by one of the anchors. */
async function issuedBy(cert, anchors) {
  for (const anchor of anchors) {
    if (!sameBytes(cert.issuer, anchor.cert.subject) || !cert.sigHash) { continue; }
    const size = SIZE_OF[anchor.cert.curve];
    let raw;
    try { raw = rawSignature(cert.sigDer, size); } catch { continue; }
    const ok = await crypto.subtle.verify({ name: "ECDSA", hash: cert.sigHash }, anchor.key, raw,
      cert.tbs);
    if (ok) { return true; }
  }
  return false;
}

/** The pinned CSCAs (base64 DER) ready to check signatures with. */
export async function loadAnchors(cscaBase64) {
  const anchors = [];
  for (const text of cscaBase64) {
    const cert = parseCertificate(unb64(text));
    anchors.push({ cert, key: await importKey(cert) });
  }
  return anchors;
}

/** Verify the trust list (its JSON text and the detached JWS of `X-Signature`) against the
 * anchors at `now` (ms). Returns {issuedAt (ms), size, byKid: Map(base64 kid → [{key, cert}])};
 * throws TrustListRefused when anything does not check out. */
export async function verifyTrustList(documentText, jws, anchors, now) {
  const refuse = (why) => { throw new TrustListRefused(why); };
  if (!anchors.length) { refuse("no pinned CSCA"); }
  const parts = String(jws || "").trim().split(".");
  if (parts.length !== 3 || parts[1] !== "") { refuse("not a detached compact JWS"); }
  let header, signer, signature;
  try {
    header = JSON.parse(new TextDecoder().decode(unb64url(parts[0])));
    signer = parseCertificate(unb64(header.x5c[0]));
    signature = unb64url(parts[2]);
  } catch (exc) {
    refuse("unreadable JWS header: " + exc.message);
  }
  if (header.alg !== "ES256" || header.crit || signer.curve !== "P-256") { refuse("not ES256"); }
  if (!Number.isSafeInteger(header.iat)) { refuse("the JWS header has no signing time (iat)"); }
  if (!(await issuedBy(signer, anchors))) { refuse("the signer was not issued by the pinned CSCA"); }
  if (!signer.ekus.has(OID_TRUST_LIST_SIGNING)) { refuse("the signer is not a trust-list signer"); }
  if (now < signer.notBefore || now > signer.notAfter) { refuse("the signer is not valid now"); }
  const signerKey = await importKey(signer);
  const documentBytes = utf8.encode(documentText);
  const input = utf8.encode(parts[0] + "." + b64url(documentBytes));
  if (!(await verifyRaw(signerKey, "P-256", signature, input))) {
    refuse("the signature does not match the document");
  }
  let items;
  try { items = JSON.parse(documentText).certificates; } catch { items = null; }
  if (!Array.isArray(items)) { refuse("not the expected JSON"); }
  const byKid = new Map();
  const byJwk = new Map();
  let size = 0;
  for (const item of items) {
    if (!item || item.certificateType !== "DSC") { continue; }
    let der, cert;
    try {
      der = unb64(item.rawData);
      cert = parseCertificate(der);
    } catch (exc) {
      refuse("malformed entry: " + exc.message);
    }
    const kid = (await sha256(der)).subarray(0, 8);
    if (b64(kid) !== item.kid) { refuse(`entry ${item.kid}: kid does not match its certificate`); }
    if (!(await verifyRaw(signerKey, "P-256", unb64(item.signature || ""), der))) {
      refuse(`entry ${item.kid}: entry signature is invalid`);
    }
    if (!(await issuedBy(cert, anchors))) { refuse(`entry ${item.kid}: not issued by the CSCA`); }
    if (!cert.curve) { continue; } // a key WebCrypto cannot use verifies nothing here
    const entry = { cert, key: await importKey(cert) };
    byKid.set(item.kid, (byKid.get(item.kid) || []).concat([entry]));
    if (cert.curve === "P-256") { // a SMART Health Card names its key by JWK thumbprint
      const thumbprint = await jwkThumbprint(cert);
      byJwk.set(thumbprint, (byJwk.get(thumbprint) || []).concat([entry]));
    }
    size++;
  }
  return { issuedAt: Number(header.iat) * 1000, size, byKid, byJwk };
}

/** The RFC 7638 thumbprint of a P-256 certificate's key: the `kid` of its JWK in
 * /.well-known/jwks.json and in the health cards it signs. */
async function jwkThumbprint(cert) {
  const key = await crypto.subtle.importKey("spki", cert.spki,
    { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const canonical = `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
  return b64url(await sha256(utf8.encode(canonical)));
}

/** The revocation document's hashes as a Set of base64 strings (first 16 bytes of SHA-256). */
export function revocationSet(doc) {
  if (!doc || doc.hash_type !== "UCI" || doc.hash_bytes !== 16 || !Array.isArray(doc.hashes)) {
    throw new Error("not a revocation list of 16-byte UCI hashes");
  }
  return new Set(doc.hashes);
}

async function inflate(bytes) {
  if (bytes.length < 2 || bytes[0] !== 0x78) { return bytes; } // not compressed (allowed)
  return inflateCapped(bytes, "deflate");
}

// Inflate `bytes` ("deflate": zlib-wrapped, as in HC1; "deflate-raw": as in a SMART Health
// Card), refusing more than MAX_INFLATED bytes out (a small bomb never fills the memory).
export async function inflateCapped(bytes, format) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) { break; }
    total += value.length;
    if (total > MAX_INFLATED) { await reader.cancel(); throw new Error("too large"); }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

const unread = (reason) => ({ status: "UNREAD", reason });
const verdict = (status, reason, holder) => ({ status, reason, holder: holder || null });

function toPlain(value) {
  if (value instanceof Map) {
    const out = {};
    for (const [k, v] of value) { out[String(k)] = toPlain(v); }
    return out;
  }
  if (Array.isArray(value)) { return value.map(toPlain); }
  return typeof value === "bigint" ? Number(value) : value;
}

/** The verdict on an HC1 text: {status, reason, holder}. status is UNREAD (nothing that reads
 * as a certificate: the caller shows a calm message), VALID, NOT_VALID, REVOKED, EXPIRED or
 * UNKNOWN_ISSUER. `holder` ({name, transliterated, dob}) is read only once the signature has
 * verified. `trust` is verifyTrustList's answer, `revoked` a Set, `now` in ms. */
export async function verifyHc1(text, trust, revoked, now) {
  const input = String(text || "").trim();
  if (!input) { return unread("empty"); }
  if (!input.startsWith("HC1:")) { return unread("prefix"); }
  const compressed = decodeBase45(input.slice(4));
  if (!compressed) { return unread("base45"); }
  let sign1;
  try {
    sign1 = decode(await inflate(compressed), CBOR_OPTIONS);
  } catch {
    return unread("decode");
  }
  if (!Array.isArray(sign1) || sign1.length !== 4) { return unread("cose"); }
  const [protectedBytes, unprotected, payload, signature] = sign1;
  if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) ||
      !(signature instanceof Uint8Array) || !(unprotected instanceof Map)) {
    return unread("cose");
  }
  let header;
  try {
    header = protectedBytes.length ? decode(protectedBytes, CBOR_OPTIONS) : new Map();
  } catch {
    return unread("cose");
  }
  if (!(header instanceof Map)) { return unread("cose"); }
  const alg = header.has(1) ? header.get(1) : unprotected.get(1);
  const kid = header.has(4) ? header.get(4) : unprotected.get(4);
  if (!(kid instanceof Uint8Array)) { return verdict("UNKNOWN_ISSUER", "no_kid"); }
  const candidates = trust ? trust.byKid.get(b64(kid)) || [] : [];
  if (!candidates.length) { return verdict("UNKNOWN_ISSUER", "unknown_kid"); }
  const curve = { [-7]: "P-256", [-35]: "P-384" }[alg];
  if (!curve) { return verdict("NOT_VALID", "algorithm"); }
  const signed = encode(["Signature1", protectedBytes, new Uint8Array(0), payload]);
  let dsc = null;
  for (const c of candidates) {
    if (c.cert.curve === curve && (await verifyRaw(c.key, curve, signature, signed))) {
      dsc = c.cert;
      break;
    }
  }
  if (!dsc) { return verdict("NOT_VALID", "signature"); }
  // authentic from here on: the claims may be read
  let claims;
  try {
    claims = decode(payload, CBOR_OPTIONS);
  } catch {
    return verdict("NOT_VALID", "claims");
  }
  const all = claims instanceof Map && claims.get(-260) instanceof Map ? claims.get(-260) : null;
  const hcert = all ? all.get(1) : null;
  const iat = Number(claims instanceof Map ? claims.get(6) : NaN);
  const exp = Number(claims instanceof Map ? claims.get(4) : NaN);
  if (!Number.isFinite(iat) || !Number.isFinite(exp)) { return verdict("NOT_VALID", "claims"); }
  if (!(hcert instanceof Map) && all && all.get(2) instanceof Map) {
    return checkDdcc(toPlain(all.get(2)), dsc, iat, exp, revoked, now);
  }
  if (!(hcert instanceof Map)) { return verdict("NOT_VALID", "claims"); }
  const dcc = toPlain(hcert);
  const nam = dcc.nam || {};
  const holder = {
    name: [nam.fn, nam.gn].filter(Boolean).join(" "),
    transliterated: [nam.fnt, nam.gnt].filter(Boolean).join("<<"),
    dob: typeof dcc.dob === "string" ? dcc.dob : "",
  };
  if (iat * 1000 < dsc.notBefore || exp * 1000 > dsc.notAfter) {
    return verdict("NOT_VALID", "dsc_validity", holder);
  }
  const allowed = KINDS.filter((k) => DCC_TYPE_OIDS[k].some((o) => dsc.ekus.has(o)));
  if (allowed.length && KINDS.some((k) => k in dcc && !allowed.includes(k))) {
    return verdict("NOT_VALID", "key_usage", holder);
  }
  for (const kind of KINDS) {
    for (const entry of Array.isArray(dcc[kind]) ? dcc[kind] : []) {
      if (entry && typeof entry.ci === "string") {
        const hash = (await sha256(utf8.encode(entry.ci))).subarray(0, 16);
        if (revoked && revoked.has(b64(hash))) { return verdict("REVOKED", "revoked", holder); }
      }
    }
  }
  if (now < iat * 1000) { return verdict("NOT_VALID", "not_yet_valid", holder); }
  if (now > exp * 1000) { return verdict("EXPIRED", "expired", holder); }
  return verdict("VALID", "valid", holder);
}

/** The rest of a WHO DDCC:VS (hcert key 2, signature verified): the core data set's name and
 * birth date, the DSC's window, key usage v (it restates a vaccination), the hcid (the UVCI) on
 * the revocation list, then the device clock. */
async function checkDdcc(data, dsc, iat, exp, revoked, now) {
  const hcid = data.certificate && data.certificate.hcid ? data.certificate.hcid.value : null;
  const vaccination = data.vaccination || {};
  if (typeof data.name !== "string" || !data.name || typeof data.birthDate !== "string" ||
      typeof hcid !== "string" || typeof vaccination.date !== "string") {
    return verdict("NOT_VALID", "claims");
  }
  const holder = { name: data.name, transliterated: "", dob: data.birthDate };
  if (iat * 1000 < dsc.notBefore || exp * 1000 > dsc.notAfter) {
    return verdict("NOT_VALID", "dsc_validity", holder);
  }
  const allowed = KINDS.filter((k) => DCC_TYPE_OIDS[k].some((o) => dsc.ekus.has(o)));
  if (allowed.length && !allowed.includes("v")) { return verdict("NOT_VALID", "key_usage", holder); }
  const hash = (await sha256(utf8.encode(hcid))).subarray(0, 16);
  if (revoked && revoked.has(b64(hash))) { return verdict("REVOKED", "revoked", holder); }
  if (now < iat * 1000) { return verdict("NOT_VALID", "not_yet_valid", holder); }
  if (now > exp * 1000) { return verdict("EXPIRED", "expired", holder); }
  return verdict("VALID", "valid", holder);
}
