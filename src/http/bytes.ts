/**
 * Byte helpers shared by the protocol core and the I/O around it (bodies, coalesced writes,
 * log batches). Pure: no Deno APIs here.
 */

/** `parts` one after another in one buffer; a single part is returned as it is, not copied. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
