// The few parts of an X.509 certificate (DER) the offline verifier needs: the signed bytes, the
// issuer and subject names (as DER, compared byte for byte), validity, the public key (SPKI) and
// the extended key usages. A certificate that does not parse throws.

function tlv(bytes, pos) {
  if (pos + 2 > bytes.length) { throw new Error("DER: truncated"); }
  const tag = bytes[pos];
  let len = bytes[pos + 1];
  let head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + 2 + n > bytes.length) { throw new Error("DER: bad length"); }
    len = 0;
    for (let i = 0; i < n; i++) { len = len * 256 + bytes[pos + 2 + i]; }
    head += n;
  }
  const start = pos + head;
  const end = start + len;
  if (end > bytes.length) { throw new Error("DER: truncated"); }
  return { tag, pos, start, end, bytes };
}

function children(node) {
  const out = [];
  for (let p = node.start; p < node.end;) {
    const child = tlv(node.bytes, p);
    out.push(child);
    p = child.end;
  }
  return out;
}

const whole = (n) => n.bytes.subarray(n.pos, n.end);
const content = (n) => n.bytes.subarray(n.start, n.end);

export function oid(n) {
  // BigInt: arcs such as vaxlink's UUID arc (2.25.<128 bits>) exceed 2^53
  const values = [];
  let v = 0n;
  for (const byte of content(n)) {
    v = v * 128n + BigInt(byte & 0x7f);
    if (!(byte & 0x80)) { values.push(v); v = 0n; }
  }
  if (!values.length) { return ""; }
  const first = values[0];
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return head.concat(values.slice(1)).join(".");
}

function time(n) {
  const s = new TextDecoder().decode(content(n));
  const m = n.tag === 0x17
    ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
    : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  if (!m) { throw new Error("DER: bad time " + s); }
  let year = Number(m[1]);
  if (n.tag === 0x17) { year += year < 50 ? 2000 : 1900; }
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export const CURVES = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384" };
const SIG_HASH = { "1.2.840.10045.4.3.2": "SHA-256", "1.2.840.10045.4.3.3": "SHA-384" };
const EKU = "2.5.29.37";

/** The parsed certificate: {der, tbs, sigHash, sigDer, issuer, subject, notBefore, notAfter (ms),
 * spki, curve, ekus: Set of OID strings}. */
export function parseCertificate(der) {
  const cert = tlv(der, 0);
  const [tbs, algo, sig] = children(cert);
  const fields = children(tbs);
  let i = fields[0].tag === 0xa0 ? 1 : 0;
  i += 2; // serial, signature algorithm
  const issuer = fields[i++];
  const validity = children(fields[i++]);
  const subject = fields[i++];
  const spki = fields[i++];
  const keyAlgo = children(children(spki)[0]);
  const ekus = new Set();
  for (const f of fields.slice(i)) {
    if (f.tag !== 0xa3) { continue; }
    for (const ext of children(children(f)[0])) {
      const parts = children(ext);
      if (oid(parts[0]) !== EKU) { continue; }
      const value = tlv(content(parts[parts.length - 1]), 0);
      for (const usage of children(value)) { ekus.add(oid(usage)); }
    }
  }
  const bits = content(sig);
  return {
    der,
    tbs: whole(tbs),
    sigHash: SIG_HASH[oid(children(algo)[0])] || null,
    sigDer: bits.subarray(1), // a BIT STRING: its first byte counts unused bits (0)
    issuer: whole(issuer),
    subject: whole(subject),
    notBefore: time(validity[0]),
    notAfter: time(validity[1]),
    spki: whole(spki),
    curve: keyAlgo.length > 1 ? CURVES[oid(keyAlgo[1])] || null : null,
    ekus,
  };
}

/** An ECDSA-Sig-Value (DER SEQUENCE of r and s) as the raw r||s WebCrypto verifies. */
export function rawSignature(der, size) {
  const [r, s] = children(tlv(der, 0));
  const out = new Uint8Array(2 * size);
  [r, s].forEach((n, k) => {
    let v = content(n);
    while (v.length > size && v[0] === 0) { v = v.subarray(1); }
    if (v.length > size) { throw new Error("DER: signature integer too long"); }
    out.set(v, (k + 1) * size - v.length);
  });
  return out;
}

export function sameBytes(a, b) {
  if (a.length !== b.length) { return false; }
  for (let i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
  return true;
}
