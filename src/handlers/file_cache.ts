/**
 * Small files kept in memory, so a hot file costs no file-system call at all on most requests,
 * instead of the realPath, open, stat, read and close a cold one needs.
 *
 * Invariants:
 * - Freshness has two guards. A watcher on the root drops an entry as soon as the file system
 *   reports a change to its path, its real path, or a folder above either. And an entry not
 *   confirmed for `validMs` is confirmed again by a stat (device, inode, size, modification and
 *   change times) before it is served, which bounds staleness when an event is missed (network
 *   file systems, watch limits). Without a watcher, `validMs` is 0: every hit is a stat.
 * - An entry's bytes were read from a file that had passed the confinement check, so a hit can
 *   never reveal anything outside the root, whatever the path has become since.
 * - An entry made with precompressed siblings in mind (`x.css.br`, `x.css.gz`, present or not)
 *   is as stale as its file when one of them changes, appears or goes: the watcher's events for
 *   their paths drop it, and the confirming stat looks at them too.
 * - The memory held (file bytes, their coded variants, and the encoded responses of each, see
 *   `charge`) stays within the capacity; the least recently used entries go first.
 * - Every lookup (`fresh`) counts once, as a hit or a miss (for /metrics).
 */

import type { Field, ResponseMemo } from "../http/response.ts";
import type { Validators } from "../http/validators.ts";

/** The identity of a file's contents as far as stat can tell. */
export interface FileIdentity {
  dev: number;
  ino: number | null;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** One representation of a cached file: its content as on disk, or in a content coding. */
export interface Representation {
  validators: Validators;
  /** The header fields of a 200 (type, disposition, coding, Vary, validators, Accept-Ranges). */
  fields: Field[];
  bytes: Uint8Array;
  /** The encoded 200 responses of this representation. */
  memo: ResponseMemo;
}

/** The coded variants of a cached file (compression.ts). */
export interface Encodings {
  /** `BR | GZIP` bits (accept_encoding.ts) of the variants there are. */
  available: number;
  br: Representation | null;
  gzip: Representation | null;
}

/** A file beside a cached one whose change makes the entry stale (a precompressed sibling). */
export interface SiblingState {
  /** Its path under the root as named (the cached file's name and a suffix). */
  named: string;
  /** Its real path when it is used, as the watcher reports it; else null. */
  real: string | null;
  /** Its stat identity (symlinks followed), null when absent. */
  identity: FileIdentity | null;
}

/** A cached file: its identity representation (the fields below it inherits) and variants. */
export interface CachedFile extends Representation {
  /** The file's real path (symlinks resolved), as the watcher reports it. */
  real: string;
  /** What stat says of the file (not to be confused with the identity coding). */
  identity: FileIdentity;
  /** Its coded variants; absent when it has none (not compressible, or compression off). */
  encodings?: Encodings;
  /** The siblings looked at when the entry was made (absent: none were). */
  siblings?: readonly SiblingState[];
}

interface Slot {
  file: CachedFile;
  /** The path the request named, under the root (symlinks not resolved). */
  named: string;
  confirmedAt: number;
}

/** The heads of up to four memo variants, the entry's objects and its fields. */
const ENTRY_OVERHEAD_BYTES = 2048;
/** The same for each coded variant (its memo's heads, its fields and validators). */
const VARIANT_OVERHEAD_BYTES = 1024;

/**
 * Memory an entry may hold: for its identity and each coded variant, the bytes, up to two
 * encoded copies in its memo (a GET on a persistent connection, and on a closing one; HEAD
 * encodings are heads only), and overhead.
 */
export function charge(file: CachedFile): number {
  let bytes = 3 * file.bytes.length + ENTRY_OVERHEAD_BYTES;
  const encodings = file.encodings;
  if (encodings !== undefined) {
    if (encodings.br !== null) bytes += 3 * encodings.br.bytes.length + VARIANT_OVERHEAD_BYTES;
    if (encodings.gzip !== null) {
      bytes += 3 * encodings.gzip.bytes.length + VARIANT_OVERHEAD_BYTES;
    }
  }
  return bytes;
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

/** Whether every sibling is as it was: still absent, or still the same file. */
function siblingsUnchanged(siblings: readonly SiblingState[] | undefined): boolean {
  if (siblings === undefined) return true;
  for (const sibling of siblings) {
    let now: FileIdentity | null = null;
    try {
      now = identityOf(Deno.statSync(sibling.named));
    } catch {
      now = null;
    }
    const then = sibling.identity;
    if (now === null ? then !== null : then === null || !sameIdentity(then, now)) return false;
  }
  return true;
}

/** Whether a changed `path` is one of the siblings, by either name. */
function namesSibling(siblings: readonly SiblingState[], path: string): boolean {
  for (const sibling of siblings) if (sibling.named === path || sibling.real === path) return true;
  return false;
}

export class FileCache {
  readonly capacityBytes: number;
  readonly #entries = new Map<string, Slot>();
  readonly #fills = new Map<string, Promise<CachedFile>>();
  /** The entry last in `#entries` (the most recently used), if known. */
  #last: Slot | null = null;
  #bytes = 0;
  #validMs = 0;
  #watcher: Deno.FsWatcher | null = null;
  /** Counts change events; a file read across one is not cached (see `put`). */
  #generation = 0;
  #hits = 0;
  #misses = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Lookups answered from memory. */
  get hits(): number {
    return this.#hits;
  }

  /** Lookups that were not: no entry (never cached, too large, not a file), or a stale one. */
  get misses(): number {
    return this.#misses;
  }

  /** Taken before reading a file and handed to `put`. */
  get generation(): number {
    return this.#generation;
  }

  /** How long a confirmed entry is served without another stat (0 while nothing watches). */
  get validMs(): number {
    return this.#validMs;
  }

  /**
   * Watches `rootReal` so changes drop entries at once, and lets an entry go `validMs` between
   * stats. Throws if the watch cannot be set up (the cache then keeps a stat per hit).
   */
  watch(rootReal: string, validMs: number, onFailure: (error: unknown) => void): void {
    const watcher = Deno.watchFs(rootReal, { recursive: true });
    this.#watcher = watcher;
    this.#validMs = validMs;
    (async () => {
      try {
        for await (const event of watcher) {
          // Reads (our own included) are not changes.
          if (event.kind === "access") continue;
          this.#generation++;
          if (event.flag === "rescan") this.clear();
          else this.#invalidate(event.paths);
        }
      } catch (error) {
        if (this.#watcher === watcher) onFailure(error);
      } finally {
        // Without the watcher, every hit must be confirmed again.
        if (this.#watcher === watcher) {
          this.#watcher = null;
          this.#validMs = 0;
          this.clear();
        }
      }
    })();
  }

  /** Stops watching; entries are then confirmed by a stat on every hit. */
  close(): void {
    const watcher = this.#watcher;
    this.#watcher = null;
    this.#validMs = 0;
    this.#generation++;
    watcher?.close();
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#last = null;
  }

  /**
   * The entry for request path `key`, whose file is named `fsPath`, if it is still that file;
   * otherwise null (and the entry is gone).
   */
  fresh(key: string, fsPath: string): CachedFile | null {
    const slot = this.#entries.get(key);
    if (slot === undefined) {
      this.#misses++;
      return null;
    }
    const now = Date.now();
    if (now - slot.confirmedAt >= this.#validMs) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(fsPath);
      } catch {
        this.#drop(key, slot);
        this.#misses++;
        return null;
      }
      if (
        !info.isFile || !sameIdentity(slot.file.identity, identityOf(info)) ||
        !siblingsUnchanged(slot.file.siblings)
      ) {
        this.#drop(key, slot);
        this.#misses++;
        return null;
      }
      slot.confirmedAt = now;
    }
    this.#hits++;
    // Most recently used goes last; eviction takes from the front. A hot file asked for again
    // is already last.
    if (this.#last !== slot) {
      this.#entries.delete(key);
      this.#entries.set(key, slot);
      this.#last = slot;
    }
    return slot.file;
  }

  /**
   * Keeps `file` for request path `key` (named `fsPath`), evicting the least recently used;
   * unless a change was reported since `generation` was taken, as the bytes may predate it.
   */
  put(key: string, fsPath: string, file: CachedFile, generation: number): void {
    const size = charge(file);
    if (size > this.capacityBytes || generation !== this.#generation) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#drop(key, old);
    for (const [oldest, victim] of this.#entries) {
      if (this.#bytes + size <= this.capacityBytes) break;
      this.#drop(oldest, victim);
    }
    const slot = { file, named: fsPath, confirmedAt: Date.now() };
    this.#entries.set(key, slot);
    this.#last = slot;
    this.#bytes += size;
  }

  /** Drops every entry whose named or real path is one of `paths` or lies below one. */
  #invalidate(paths: string[]): void {
    for (const path of paths) {
      const below = path + "/";
      for (const [key, slot] of this.#entries) {
        const { named } = slot;
        const { real, siblings } = slot.file;
        if (
          named === path || real === path || named.startsWith(below) ||
          real.startsWith(below) || (siblings !== undefined && namesSibling(siblings, path))
        ) {
          this.#drop(key, slot);
        }
      }
    }
  }

  #drop(key: string, slot: Slot): void {
    if (this.#entries.get(key) !== slot) return;
    this.#entries.delete(key);
    this.#bytes -= charge(slot.file);
    if (this.#last === slot) this.#last = null;
  }

  /** The entry kept for `key`, fresh or not, without counting a lookup or reordering. */
  peek(key: string): CachedFile | null {
    return this.#entries.get(key)?.file ?? null;
  }

  /**
   * Runs `fill` for `key` unless a fill of the same key is under way, whose result is then
   * shared: requests that miss together compress a file once (a fill runs on the event loop).
   */
  fillOnce(key: string, fill: () => Promise<CachedFile>): Promise<CachedFile> {
    let pending = this.#fills.get(key);
    if (pending === undefined) {
      pending = fill().finally(() => this.#fills.delete(key));
      this.#fills.set(key, pending);
    }
    return pending;
  }
}
