/**
 * Header field lists and the byte classes of RFC 9110 §5 that the parser validates against.
 *
 * Invariant: names are stored lower-cased; repeated fields are kept in arrival order.
 */

/** tchar (RFC 9110 §5.6.2): the bytes allowed in a token such as a method or field name. */
export const TCHAR: Uint8Array = (() => {
  const table = new Uint8Array(256);
  const extra = "!#$%&'*+-.^_`|~";
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  for (let i = 0; i < extra.length; i++) table[extra.charCodeAt(i)] = 1;
  return table;
})();

/** True when `text` is a token (RFC 9110 §5.6.2): one or more tchar. */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** field-vchar / obs-text plus SP and HTAB (RFC 9110 §5.5): no CR, LF, NUL or other CTL. */
export const FIELD_VALUE_BYTE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  table[0x09] = 1;
  for (let c = 0x20; c <= 0x7e; c++) table[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) table[c] = 1;
  return table;
})();

/** Decodes bytes as ISO-8859-1, one code unit per byte (field values are octets, RFC 9110 §5.5). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  // fromCharCode.apply takes one argument per byte; stay well below engine argument limits.
  const STEP = 4096;
  if (end - start <= STEP) {
    return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  let out = "";
  for (let i = start; i < end; i += STEP) out += latin1(buf, i, Math.min(end, i + STEP));
  return out;
}

/**
 * The elements of a comma-separated list field (RFC 9110 §5.6.1), trimmed, empty ones left out;
 * a comma inside a quoted-string (`W/"b,c"`, `q="a,b"`) does not split.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\") i++; // quoted-pair: the next character is literal
    else if (c === '"') quoted = !quoted;
    else if ((c === "," && !quoted) || i === value.length) {
      const element = value.slice(start, i).trim();
      if (element !== "") out.push(element);
      start = i + 1;
    }
  }
  return out;
}

const NONE: readonly string[] = Object.freeze([]);

/** The header section of one request: lower-cased names, values with OWS trimmed. */
export class FieldList {
  readonly names: string[] = [];
  readonly values: string[] = [];

  add(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  get size(): number {
    return this.names.length;
  }

  /** The first value of `name` (lower-case), or null. */
  get(name: string): string | null {
    const i = this.names.indexOf(name);
    return i < 0 ? null : this.values[i] ?? null;
  }

  /** Every value of `name` (lower-case), in arrival order. */
  getAll(name: string): readonly string[] {
    // Most fields asked for are absent: no array for them.
    const first = this.names.indexOf(name);
    if (first < 0) return NONE;
    const out: string[] = [];
    for (let i = first; i < this.names.length; i++) {
      if (this.names[i] === name) out.push(this.values[i] as string);
    }
    return out;
  }

  count(name: string): number {
    let n = 0;
    for (const each of this.names) if (each === name) n++;
    return n;
  }

  /** The list elements of every `name` field (see `splitList`), lower-cased. */
  tokens(name: string): string[] {
    const out: string[] = [];
    for (const value of this.getAll(name)) {
      for (const element of splitList(value)) out.push(element.toLowerCase());
    }
    return out;
  }
}
