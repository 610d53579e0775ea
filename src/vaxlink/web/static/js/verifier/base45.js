// Base45 decoding (RFC 9285), strict: an unknown character, a group worth more than its bytes
// can hold or a dangling single character is refused (null), never decoded to garbage.
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUE = new Map(Array.from(ALPHABET, (c, i) => [c, i]));

/** The bytes of a base45 text, or null when the text is not valid base45. */
export function decodeBase45(text) {
  if (typeof text !== "string" || text.length % 3 === 1) { return null; }
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < text.length; i += 3) {
    const c = VALUE.get(text[i]);
    const d = VALUE.get(text[i + 1]);
    if (c === undefined || d === undefined) { return null; }
    if (i + 2 < text.length) {
      const e = VALUE.get(text[i + 2]);
      if (e === undefined) { return null; }
      const n = c + d * 45 + e * 2025;
      if (n > 0xffff) { return null; }
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = c + d * 45;
      if (n > 0xff) { return null; }
      out[o++] = n;
    }
  }
  return out;
}

/** The base45 text of some bytes (used by the tests to re-encode a tampered message). */
export function encodeBase45(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      const n = bytes[i] * 256 + bytes[i + 1];
      text += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45) % 45] + ALPHABET[Math.floor(n / 2025)];
    } else {
      text += ALPHABET[bytes[i] % 45] + ALPHABET[Math.floor(bytes[i] / 45)];
    }
  }
  return text;
}
