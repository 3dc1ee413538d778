/**
 * Small files kept in memory, so a hot file costs one synchronous stat per request instead of
 * the realPath, open, stat, read and close a cold one needs.
 *
 * Invariants:
 * - An entry is served only while a stat of its path shows the same file (device, inode, size,
 *   modification and change times) as when it was read; anything else drops it, and the request
 *   takes the full path (confinement check included) again.
 * - An entry's bytes were read from a file that had passed the confinement check, so a hit can
 *   never reveal anything outside the root, whatever the path has become since.
 * - The bytes held stay within the capacity; the least recently used entries go first.
 */

import type { Field } from "../http/response.ts";
import type { Validators } from "../http/validators.ts";

/** The identity of a file's contents as far as stat can tell. */
export interface FileIdentity {
  dev: number;
  ino: number | null;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface CachedFile {
  identity: FileIdentity;
  validators: Validators;
  /** The header fields of a 200 for this file (type, disposition, validators, Accept-Ranges). */
  fields: Field[];
  bytes: Uint8Array;
}

export function identityOf(info: Deno.FileInfo): FileIdentity {
  return {
    dev: info.dev,
    ino: info.ino,
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
    ctimeMs: info.ctime?.getTime() ?? 0,
  };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino && a.dev === b.dev;
}

export class FileCache {
  readonly capacityBytes: number;
  readonly #entries = new Map<string, CachedFile>();
  #bytes = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `key` if a stat of `fsPath` still shows the same file; otherwise null. */
  fresh(key: string, fsPath: string): CachedFile | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(fsPath);
    } catch {
      this.#drop(key, entry);
      return null;
    }
    if (!info.isFile || !sameIdentity(entry.identity, identityOf(info))) {
      this.#drop(key, entry);
      return null;
    }
    // Most recently used goes last; eviction takes from the front.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry;
  }

  /** Keeps `entry` under `key`, evicting the least recently used entries to make room. */
  put(key: string, entry: CachedFile): void {
    const size = entry.bytes.length;
    if (size > this.capacityBytes) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#drop(key, old);
    for (const [oldest, victim] of this.#entries) {
      if (this.#bytes + size <= this.capacityBytes) break;
      this.#drop(oldest, victim);
    }
    this.#entries.set(key, entry);
    this.#bytes += size;
  }

  #drop(key: string, entry: CachedFile): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes.length;
  }
}
