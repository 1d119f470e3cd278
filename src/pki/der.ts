/**
 * The few DER encoders a PKCS#10 request needs (X.690). Only writing: reading certificates is left
 * to node:crypto's X509Certificate and reading CSRs to the cloud's signer, so that an edge node
 * never loads an ASN.1 library for the one structure it builds.
 */

/** One tag-length-value; definite lengths only, as DER requires. */
function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let length: number[];
  if (n < 0x80) {
    length = [n];
  } else {
    // Long form: 0x80 | number of length bytes, then the length big-endian in as few bytes as it takes.
    const bytes: number[] = [];
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    length = [0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

export function sequence(...items: readonly Uint8Array[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

/** A SET OF: DER orders the elements by their encodings. */
export function setOf(...items: readonly Uint8Array[]): Buffer {
  return tlv(0x31, Buffer.concat([...items].sort((a, b) => Buffer.compare(a, b))));
}

/** A non-negative INTEGER that fits a JavaScript number (versions, not serials). */
export function integer(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a small non-negative integer: ${value}`);
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  // Minimal two's complement: zero is one 0x00 byte, and a set top bit needs a 0x00 in front.
  if (bytes.length === 0 || (bytes[0] ?? 0) >= 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

/** An OBJECT IDENTIFIER from its dotted form, e.g. `2.5.4.3`. */
export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first, second, ...rest] = arcs;
  if (first === undefined || second === undefined || arcs.some((a) => !Number.isSafeInteger(a) || a < 0) || first > 2 || (first < 2 && second >= 40)) {
    throw new RangeError(`not an object identifier: ${dotted}`);
  }
  const bytes: number[] = [];
  // The first two arcs share one subidentifier; each subidentifier is base 128, high bit = "more follows".
  for (const arc of [first * 40 + second, ...rest]) {
    const group = [arc % 128];
    for (let r = Math.floor(arc / 128); r > 0; r = Math.floor(r / 128)) group.unshift(0x80 | (r % 128));
    bytes.push(...group);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export function utf8String(text: string): Buffer {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

/** A BIT STRING of whole bytes (no unused bits), as signatures are. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

export function nullValue(): Buffer {
  return Buffer.from([0x05, 0x00]);
}

/** `[n]` IMPLICIT of a constructed type (SET OF, SEQUENCE): the context tag replaces the universal one. */
export function contextConstructed(tagNumber: number, ...items: readonly Uint8Array[]): Buffer {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError(`unsupported context tag [${tagNumber}]`);
  return tlv(0xa0 | tagNumber, Buffer.concat(items));
}
