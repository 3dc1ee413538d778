/**
 * Where uploads are kept: the crash-safe and durable write of one document, the bound on the
 * space uploads take, and the group commit of the uploads folder.
 *
 * Invariants:
 * - A name `upload_*.json` only ever appears complete: the bytes are written and synced to a
 *   temporary `.upload-*.tmp` in the same folder, hard-linked to the final name (a link fails
 *   rather than overwrite), the temporary name removed, and the folder synced; only then does
 *   `save` return, so a `201` survives a power cut.
 * - Every failure removes what it wrote (the temporary file, and the final name if the folder
 *   sync failed), so a failed upload leaves no file and keeps no disk space.
 * - One folder sync covers every link made before it started (group commit): concurrent uploads
 *   share a sync instead of queuing one each.
 * - The space counted as stored, plus that reserved by uploads in progress, never exceeds
 *   `maxBytes`, and an upload never leaves less than `minFreeBytes` free on the file system.
 *   Space is counted in file-system blocks (4 KiB), so a flood of tiny documents counts as
 *   what it costs the disk, and the bound also caps the number of files.
 * - A reservation is taken before anything is awaited, so concurrent uploads cannot all pass
 *   the check and overshoot the bound together.
 * - All file-system access goes through `UploadFs`, so faults can be injected at every step.
 * - With several listener threads (`--threads`) every thread's store counts in one
 *   `UploadSpace` on a SharedArrayBuffer, so the bound holds for all of them together; the
 *   folder is cleaned up and measured once, by the main thread, before any thread serves.
 */

import { statfs } from "node:fs/promises";
import { fileStamp } from "../http/date.ts";
import { HttpError } from "../http/status.ts";
import { log, ThrottledWarning } from "../log.ts";
import { describeError, isOutOfDescriptors, isOutOfSpace, outOfDescriptors } from "./fs_errors.ts";

const TMP_PREFIX = ".upload-";
const TMP_SUFFIX = ".tmp";
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Names tried before giving up; 62^4 names per second make a collision streak this long absurd. */
const NAME_ATTEMPTS = 20;
/**
 * When the bound is reached, the folder is measured again in the background (files removed by
 * an operator free their space), one measurement at a time, at most this often; uploads are
 * answered from the count at hand meanwhile, never made to wait for a scan.
 */
const RESCAN_INTERVAL_MS = 5_000;
/** The unit space is counted in: a file takes whole blocks. */
const BLOCK_BYTES = 4096;

/** The space `size` bytes take on disk, in whole blocks (at least one: the bound caps files). */
export function spaceFor(size: number): number {
  return Math.max(1, Math.ceil(size / BLOCK_BYTES)) * BLOCK_BYTES;
}
/**
 * Free space is measured (statfs) at most this often; in between, what uploads stored since
 * the measurement is subtracted from it. A statfs per upload cost a tenth of the throughput.
 */
const FREE_SPACE_VALID_MS = 250;

/** The file-system operations an upload needs. */
export interface UploadFs {
  /** Creates `path` for writing; fails if it exists. */
  create(path: string): Promise<UploadFile>;
  link(existing: string, created: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Makes the folder's entries (names made and removed) durable. */
  syncFolder(dir: string): Promise<void>;
  /** Bytes available to the server on the file system holding `dir`. */
  freeBytes(dir: string): Promise<number>;
  /** The folder's entries: name and space on disk (see `spaceFor`) of each regular file. */
  list(dir: string): AsyncIterable<{ name: string; size: number }>;
}

export interface UploadFile {
  write(bytes: Uint8Array): Promise<number>;
  syncData(): Promise<void>;
  close(): void;
}

/** The real file system. */
export const DENO_UPLOAD_FS: UploadFs = {
  create: (path) => Deno.open(path, { write: true, createNew: true }),
  link: (existing, created) => Deno.link(existing, created),
  remove: (path) => Deno.remove(path),
  async syncFolder(dir) {
    const folder = await Deno.open(dir, { read: true });
    try {
      await folder.sync();
    } finally {
      folder.close();
    }
  },
  async freeBytes(dir) {
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  },
  async *list(dir) {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      try {
        const info = await Deno.stat(`${dir}/${entry.name}`);
        // Blocks of 512 bytes as stat(2) counts them, where the platform says.
        const onDisk = info.blocks === null ? 0 : info.blocks * 512;
        yield { name: entry.name, size: Math.max(onDisk, spaceFor(info.size)) };
      } catch {
        // Removed meanwhile.
      }
    }
  },
};

export interface UploadLimits {
  /** Space all stored uploads may take together (see `spaceFor`); 0: no bound. */
  maxBytes: number;
  /** Bytes that must stay free on the file system after an upload; 0: not checked. */
  minFreeBytes: number;
}

/** The step of a save that failed, for the log. */
type Step = "create" | "write" | "sync" | "link" | "folder sync";

/** True for a temporary upload file's name (never served, removed at start-up). */
export function isTemporaryUpload(name: string): boolean {
  return name.startsWith(TMP_PREFIX) && name.endsWith(TMP_SUFFIX);
}

/**
 * The space counted for the uploads folder: what is stored, what uploads in progress have
 * reserved, when the folder was last measured, and every byte stored since the start. Built on
 * a SharedArrayBuffer, it is one count for every thread that holds the buffer.
 *
 * Invariants: `taken` (stored + reserved) only grows by a compare-and-swap that checks the
 * bound, so it never exceeds the bound however many threads reserve at once; no lock, so a
 * thread descheduled mid-operation holds up no other. `reserved` is `taken - stored`.
 */
export class UploadSpace {
  /** Bytes of the buffer a space needs: four 64-bit counters. */
  static readonly BYTES = 4 * 8;

  /** [taken = stored + reserved, stored, measured at (epoch ms), stored in all since the start] */
  readonly #cells: BigInt64Array;

  constructor(buffer: ArrayBufferLike = new ArrayBuffer(UploadSpace.BYTES)) {
    this.#cells = new BigInt64Array(buffer, 0, 4);
  }

  get stored(): number {
    return Number(Atomics.load(this.#cells, 1));
  }

  /** Stored and reserved together: what the bound is checked against. */
  get taken(): number {
    return Number(Atomics.load(this.#cells, 0));
  }

  get reserved(): number {
    return Number(Atomics.load(this.#cells, 0) - Atomics.load(this.#cells, 1));
  }

  /** Bytes stored since the start, never decreasing (free-space estimates subtract from it). */
  get storedInAll(): number {
    return Number(Atomics.load(this.#cells, 3));
  }

  /** Reserves `space` unless that would pass `maxBytes` (0: no bound); false when refused. */
  reserve(space: number, maxBytes: number): boolean {
    const add = BigInt(space);
    const max = BigInt(maxBytes);
    for (;;) {
      const taken = Atomics.load(this.#cells, 0);
      if (max > 0n && taken + add > max) return false;
      if (Atomics.compareExchange(this.#cells, 0, taken, taken + add) === taken) return true;
    }
  }

  /** Ends a reservation: the space is now stored (`kept`), or given back. */
  settle(space: number, kept: boolean): void {
    const amount = BigInt(space);
    if (kept) {
      Atomics.add(this.#cells, 1, amount);
      Atomics.add(this.#cells, 3, amount);
    } else {
      Atomics.sub(this.#cells, 0, amount);
    }
  }

  /** The folder was measured at `atMs` to hold `stored` bytes. */
  measured(stored: number, atMs: number): void {
    const now = BigInt(stored);
    const before = Atomics.exchange(this.#cells, 1, now);
    Atomics.add(this.#cells, 0, now - before);
    Atomics.store(this.#cells, 2, BigInt(Math.floor(atMs)));
  }

  /**
   * True for the one caller that may measure the folder now: none did within `intervalMs`
   * (its time is taken at once, so a failing measurement is not retried sooner either).
   */
  claimMeasurement(nowMs: number, intervalMs: number): boolean {
    const now = BigInt(Math.floor(nowMs));
    const last = Atomics.load(this.#cells, 2);
    if (now - last < BigInt(Math.ceil(intervalMs))) return false;
    return Atomics.compareExchange(this.#cells, 2, last, now) === last;
  }
}

export class UploadStore {
  readonly dir: string;
  readonly limits: UploadLimits;
  readonly #fs: UploadFs;
  readonly #folderSync: GroupCommit;
  /** One throttle per kind, so a rare failure is not folded into a flood of another. */
  readonly #refusals = new ThrottledWarning(log.server);
  readonly #failures = new ThrottledWarning(log.server);
  readonly #leftovers = new ThrottledWarning(log.server);
  readonly #space: UploadSpace;
  #measuring: Promise<void> | null = null;
  /** False when the sandbox does not let the server measure free space (no --allow-sys=statfs). */
  #freeSpaceKnown = true;
  /** The last free-space measurement, when it was taken, and `storedInAll` at that moment. */
  #freeBytes = 0;
  #freeMeasuredAt = -Infinity;
  #storedAtFree = 0;

  /** `space`: the count to use (one shared by several threads' stores, see UploadSpace). */
  constructor(
    dir: string,
    limits: UploadLimits,
    fs: UploadFs = DENO_UPLOAD_FS,
    space: UploadSpace = new UploadSpace(),
  ) {
    this.dir = dir;
    this.limits = limits;
    this.#fs = fs;
    this.#space = space;
    this.#folderSync = new GroupCommit(() => fs.syncFolder(dir));
  }

  /** Bytes counted as stored (measured at start-up and when the bound is reached). */
  get storedBytes(): number {
    return this.#space.stored;
  }

  /**
   * Joins a folder another store has opened (`open`) and counts in the same `UploadSpace`:
   * nothing is removed or measured again (a thread's store, see UploadSpace).
   */
  attach(freeSpaceKnown: boolean): void {
    this.#freeSpaceKnown = freeSpaceKnown;
  }

  /**
   * Removes temporary files a crash left behind and measures what is stored and what is free.
   * Called once at start-up. `freeSpaceChecked` is false when the sandbox does not allow the
   * free-space check, which is then skipped (the caller warns).
   */
  async open(): Promise<{ removed: number; freeSpaceChecked: boolean }> {
    let removed = 0;
    let stored = 0;
    for await (const entry of this.#fs.list(this.dir)) {
      if (isTemporaryUpload(entry.name)) {
        await this.#fs.remove(`${this.dir}/${entry.name}`);
        removed++;
      } else {
        stored += entry.size;
      }
    }
    this.#space.measured(stored, Date.now());
    if (this.limits.minFreeBytes > 0) {
      try {
        await this.#fs.freeBytes(this.dir);
      } catch (error) {
        if (
          !(error instanceof Deno.errors.NotCapable) &&
          !(error instanceof Deno.errors.PermissionDenied)
        ) throw error;
        this.#freeSpaceKnown = false;
      }
    }
    return { removed, freeSpaceChecked: this.#freeSpaceKnown };
  }

  /**
   * Stores `bytes` as a new `upload_YYYYMMDD_HHMMSS_xxxx.json`, durably; returns the name.
   * Throws HttpError 507 when the bound or the disk is full, 503 when out of file descriptors,
   * 500 for any other failure; in each case nothing is left on disk.
   */
  async save(bytes: Uint8Array): Promise<string> {
    const space = spaceFor(bytes.length);
    this.#reserve(space);
    let kept = false;
    try {
      await this.#checkFreeSpace();
      const name = await this.#write(bytes);
      kept = true;
      return name;
    } finally {
      this.#space.settle(space, kept);
    }
  }

  /** Takes `space` out of the bound at once (no await before it), or refuses with 507. */
  #reserve(space: number): void {
    const { maxBytes } = this.limits;
    if (!this.#space.reserve(space, maxBytes)) {
      this.#measureSoon();
      this.#refuse(`uploads folder holds its limit of ${maxBytes} bytes (--uploads-max-bytes)`);
    }
  }

  /** 507 when what is reserved (this upload included) would leave less than minFreeBytes. */
  async #checkFreeSpace(): Promise<void> {
    const { minFreeBytes } = this.limits;
    if (minFreeBytes === 0 || !this.#freeSpaceKnown) return;
    const free = await this.#free();
    if (free - this.#space.reserved < minFreeBytes) {
      this.#refuse(
        `${free} bytes free on the uploads file system, below ${minFreeBytes} (--min-free-bytes)`,
      );
    }
  }

  /** Starts one background measurement of the folder, unless one ran lately or is running. */
  #measureSoon(): void {
    if (this.#measuring !== null) return;
    if (!this.#space.claimMeasurement(Date.now(), RESCAN_INTERVAL_MS)) return;
    this.#measuring = this.#measure().finally(() => {
      this.#measuring = null;
    });
  }

  /** Free bytes on the uploads file system, as of now (see FREE_SPACE_VALID_MS). */
  async #free(): Promise<number> {
    const now = Date.now();
    if (now - this.#freeMeasuredAt >= FREE_SPACE_VALID_MS) {
      try {
        this.#freeBytes = await this.#fs.freeBytes(this.dir);
      } catch (error) {
        throw this.#failure("measure free space", error);
      }
      this.#freeMeasuredAt = now;
      this.#storedAtFree = this.#space.storedInAll;
    }
    return this.#freeBytes - (this.#space.storedInAll - this.#storedAtFree);
  }

  #refuse(why: string): never {
    this.#refusals.warn(`upload refused: ${why}`);
    throw new HttpError(507, why);
  }

  async #measure(): Promise<void> {
    // The measurement's time was claimed: a failing scan is not retried before the interval.
    let stored = 0;
    try {
      for await (const entry of this.#fs.list(this.dir)) {
        if (!isTemporaryUpload(entry.name)) stored += entry.size;
      }
    } catch {
      return; // Keep the count we have; it only errs on the safe side.
    }
    this.#space.measured(stored, Date.now());
  }

  async #write(bytes: Uint8Array): Promise<string> {
    const fs = this.#fs;
    const tmp = `${this.dir}/${TMP_PREFIX}${randomAlphanumeric(12)}${TMP_SUFFIX}`;
    let step: Step = "create";
    let tmpExists = false;
    let name: string | null = null;
    try {
      const file = await fs.create(tmp);
      tmpExists = true;
      try {
        step = "write";
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
        // Durable before it gets its public name: a power cut must not leave an empty upload.
        step = "sync";
        await file.syncData();
      } finally {
        file.close();
      }
      step = "link";
      name = await this.#link(tmp);
      // A temporary name that cannot be removed now is removed at the next start-up.
      tmpExists = false;
      await this.#discard(tmp);
      // The new name (and the temporary one's removal) must survive a power cut before 201.
      step = "folder sync";
      await this.#folderSync.commit();
      return name;
    } catch (error) {
      if (name !== null) await this.#discard(`${this.dir}/${name}`);
      throw this.#failure(step, error);
    } finally {
      if (tmpExists) await this.#discard(tmp);
    }
  }

  /** Links `tmp` to a fresh upload name; returns the name. */
  async #link(tmp: string): Promise<string> {
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = `upload_${fileStamp(Date.now())}_${randomAlphanumeric(4)}.json`;
      try {
        await this.#fs.link(tmp, `${this.dir}/${name}`);
        return name;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    throw new Error("no free upload name");
  }

  async #discard(path: string): Promise<void> {
    try {
      await this.#fs.remove(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      this.#leftovers.warn(
        `cannot remove ${path} after a failed upload: ${describeError(error)}`,
      );
    }
  }

  /** The HttpError for a failed step, logged as one line (repeats folded, see ThrottledWarning). */
  #failure(step: string, error: unknown): HttpError {
    if (isOutOfDescriptors(error)) return outOfDescriptors(`upload not stored: ${step}`, error);
    const why = `upload not stored: ${step} failed: ${describeError(error)}`;
    this.#failures.warn(why);
    return new HttpError(isOutOfSpace(error) ? 507 : 500, why);
  }
}

/**
 * Runs `sync` on behalf of callers, one run at a time. A caller is covered by the first run that
 * starts after it called; callers that arrive while a run is under way share the next one.
 */
export class GroupCommit {
  readonly #sync: () => Promise<void>;
  #next: PromiseWithResolvers<void> | null = null;
  #running = false;

  constructor(sync: () => Promise<void>) {
    this.#sync = sync;
  }

  commit(): Promise<void> {
    if (this.#next === null) this.#next = Promise.withResolvers<void>();
    const { promise } = this.#next;
    if (!this.#running) this.#run();
    return promise;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#next !== null) {
        const batch = this.#next;
        this.#next = null;
        try {
          await this.#sync();
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

function randomAlphanumeric(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 62 does not divide 256; the slight bias is irrelevant for a uniqueness suffix.
  for (const b of bytes) out += ALPHANUMERIC[b % ALPHANUMERIC.length];
  return out;
}
