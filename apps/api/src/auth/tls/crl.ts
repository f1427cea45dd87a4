/**
 * The serial numbers a CRL revokes, read from its DER (RFC 5280 §5.1) without checking its signature or dates: as
 * the reference (1.4–1.6), an expired CRL still revokes. The content is PEM (one or more `X509 CRL` blocks) or DER.
 */
export function revokedSerials(content: Buffer): Set<string> {
  const text = content.toString('latin1');
  const blocks = [...text.matchAll(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g)].map((m) =>
    Buffer.from(m[1].replace(/\s+/g, ''), 'base64'),
  );
  if (blocks.length === 0 && text.includes('-----BEGIN')) {
    throw new Error('no X509 CRL block in the PEM file');
  }
  const serials = new Set<string>();
  for (const der of blocks.length > 0 ? blocks : [content]) {
    for (const serial of serialsOf(der)) {
      serials.add(serial);
    }
  }
  return serials;
}

/** Uppercase hex without leading zeros, so `0A1F`, `a1f` and Node's `A1F` compare equal. */
export const normalizeSerial = (hex: string): string => hex.replace(/^0+(?=.)/, '').toUpperCase();

interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

function readTlv(buf: Buffer, offset: number): { tlv: Tlv; next: number } {
  if (offset + 2 > buf.length) {
    throw new Error('truncated DER');
  }
  const tag = buf[offset];
  let length = buf[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > buf.length) {
      throw new Error('unsupported DER length');
    }
    length = 0;
    for (let i = 0; i < bytes; i++) {
      length = length * 256 + buf[start + i];
    }
    start += bytes;
  }
  if (start + length > buf.length) {
    throw new Error('truncated DER');
  }
  return { tlv: { tag, value: buf.subarray(start, start + length) }, next: start + length };
}

function children(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < value.length;) {
    const { tlv, next } = readTlv(value, offset);
    out.push(tlv);
    offset = next;
  }
  return out;
}

function must(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) {
    throw new Error(`not a CRL: expected ${what}`);
  }
  return tlv;
}

function serialsOf(der: Buffer): string[] {
  const { tlv: list, next } = readTlv(der, 0);
  if (next !== der.length) {
    throw new Error('not a CRL: trailing bytes');
  }
  const tbs = children(must(list, SEQUENCE, 'CertificateList').value)[0];
  const fields = children(must(tbs, SEQUENCE, 'TBSCertList').value);
  // version (optional), signature, issuer, thisUpdate, nextUpdate (optional), revokedCertificates (optional), …
  let i = fields[0]?.tag === INTEGER ? 1 : 0;
  must(fields[i++], SEQUENCE, 'signature algorithm');
  must(fields[i++], SEQUENCE, 'issuer');
  const thisUpdate = fields[i++];
  if (!thisUpdate || (thisUpdate.tag !== UTC_TIME && thisUpdate.tag !== GENERALIZED_TIME)) {
    throw new Error('not a CRL: expected thisUpdate');
  }
  if (fields[i]?.tag === UTC_TIME || fields[i]?.tag === GENERALIZED_TIME) {
    i++;
  }
  if (fields[i]?.tag !== SEQUENCE) {
    return []; // no revoked certificates
  }
  return children(fields[i].value).map((entry) => {
    const serial = must(children(must(entry, SEQUENCE, 'revoked entry').value)[0], INTEGER, 'serial number');
    return normalizeSerial(serial.value.toString('hex'));
  });
}
