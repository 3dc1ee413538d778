/**
 * The certificate and key of HTTPS: read from their two files, validated, described for the log,
 * and reloaded — on SIGHUP, and when the files change — into the HTTPS listener.
 *
 * Invariants:
 * - Reading and validating need read permission on the two files and nothing else.
 * - A pair is checked before any listener is made from it: a PEM certificate chain whose first
 *   certificate parses, a PEM private key, and the key belonging to that certificate. rustls
 *   checks again when the listener is made; an error there is reported the same way.
 * - A pair that fails is reported in one line and changes nothing: the pair in use stays.
 * - Reloads run one at a time, in the order they were asked for.
 */

import { log } from "../log.ts";

export interface TlsPair {
  /** The certificate chain, PEM, leaf first. */
  cert: string;
  /** The leaf's private key, PEM. */
  key: string;
}

/** A validated pair and what the log says about it. */
export interface LoadedPair extends TlsPair {
  /** Subject, names, issuer and expiry of the leaf, in one line. */
  description: string;
  /** When the leaf stops being valid. */
  notAfter: Date;
  /** When it starts to be. */
  notBefore: Date;
}

/** Why a pair cannot be used; `unreadable`: a file could not be read (else its content is bad). */
export class TlsPairError extends Error {
  readonly unreadable: boolean;

  constructor(message: string, unreadable: boolean) {
    super(message);
    this.name = "TlsPairError";
    this.unreadable = unreadable;
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/;
const ENCRYPTED_KEY_BLOCK = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/** Reads and validates the pair in `certPath` and `keyPath`; throws TlsPairError. */
export async function loadTlsPair(certPath: string, keyPath: string): Promise<LoadedPair> {
  const cert = await readPem(certPath, "certificate");
  const key = await readPem(keyPath, "key");
  return await validatePair({ cert, key }, { certPath, keyPath });
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TlsPairError(`cannot read ${what} file "${path}": ${readFailure(error)}`, true);
  }
}

function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `not permitted (the sandbox needs --allow-read of the file)`;
  }
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.IsADirectory) return "a folder, not a file";
  if (error instanceof TypeError) return "not UTF-8 text (a PEM file is; DER is not supported)";
  return error instanceof Error ? error.message : String(error);
}

/** Checks `pair` (the texts of the files named in `paths`) and describes its leaf. */
export async function validatePair(
  pair: TlsPair,
  paths: { certPath: string; keyPath: string },
): Promise<LoadedPair> {
  const { certPath, keyPath } = paths;
  const bad = (message: string) => new TlsPairError(message, false);
  if (!CERTIFICATE_BLOCK.test(pair.cert)) {
    throw bad(`"${certPath}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  if (ENCRYPTED_KEY_BLOCK.test(pair.key)) {
    throw bad(
      `"${keyPath}" holds an encrypted key; decrypt it first (openssl pkey -in ENC -out KEY)`,
    );
  }
  if (!KEY_BLOCK.test(pair.key)) {
    throw bad(`"${keyPath}" holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  // node:crypto parses X.509; loaded only when TLS is used (it costs start-up time).
  const { X509Certificate, createPrivateKey } = await import("node:crypto");
  let leaf;
  try {
    leaf = new X509Certificate(pair.cert);
  } catch (error) {
    throw bad(`the first certificate in "${certPath}" is not valid X.509 (${message(error)})`);
  }
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch (error) {
    throw bad(`the key in "${keyPath}" cannot be read (${message(error)})`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw bad(`the key in "${keyPath}" does not belong to the certificate in "${certPath}"`);
  }
  const names = leaf.subjectAltName === undefined ? "no subjectAltName" : leaf.subjectAltName;
  const notAfter = leaf.validToDate;
  const notBefore = leaf.validFromDate;
  return {
    ...pair,
    notAfter,
    notBefore,
    description: `${leaf.subject.replaceAll("\n", ", ")} (${names}), issued by ${
      leaf.issuer.replaceAll("\n", ", ")
    }, valid until ${notAfter.toISOString()}`,
  };
}

/** A warning about the validity period of `pair` at `now`, or null when it is valid. */
export function validityWarning(pair: LoadedPair, now = new Date()): string | null {
  if (now > pair.notAfter) {
    return `the certificate expired on ${pair.notAfter.toISOString()}; clients will refuse it`;
  }
  if (now < pair.notBefore) {
    return `the certificate is not valid before ${pair.notBefore.toISOString()}; clients will refuse it`;
  }
  return null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a reloaded pair goes to: the HTTPS listener, or every listener thread's (threads.ts),
 * which may answer later. Throws (or rejects) when the pair could not be put to use.
 */
export interface PairTarget {
  reload(pair: TlsPair): void | Promise<void>;
}

/**
 * Re-reads the pair into the listener on demand (SIGHUP) and, when asked, whenever the files
 * change. Every attempt ends in one log line: reloaded, unchanged, or why the old pair stays.
 */
export class CertificateReloader {
  readonly #listener: PairTarget;
  readonly #certPath: string;
  readonly #keyPath: string;
  #current: LoadedPair;
  #queue: Promise<void> = Promise.resolve();
  #watcher: { close(): void } | null = null;

  constructor(
    listener: PairTarget,
    paths: { certPath: string; keyPath: string },
    current: LoadedPair,
  ) {
    this.#listener = listener;
    this.#certPath = paths.certPath;
    this.#keyPath = paths.keyPath;
    this.#current = current;
  }

  /** The pair new connections get. */
  get current(): LoadedPair {
    return this.#current;
  }

  /** Reads the files again and, when they hold a new valid pair, serves new connections with it. */
  reload(trigger: string): Promise<void> {
    this.#queue = this.#queue.then(() => this.#reload(trigger));
    return this.#queue;
  }

  async #reload(trigger: string): Promise<void> {
    let next: LoadedPair;
    try {
      next = await loadTlsPair(this.#certPath, this.#keyPath);
    } catch (error) {
      log.server.error(
        "{trigger}: TLS certificate not reloaded: {reason}; still serving {current}",
        {
          trigger,
          reason: message(error),
          current: this.#current.description,
        },
      );
      return;
    }
    if (next.cert === this.#current.cert && next.key === this.#current.key) {
      log.server.info("{trigger}: TLS certificate files unchanged; still serving {current}", {
        trigger,
        current: this.#current.description,
      });
      return;
    }
    try {
      await this.#listener.reload(next);
    } catch (error) {
      log.server.error(
        "{trigger}: TLS certificate not reloaded: {reason}; still serving {current}",
        {
          trigger,
          reason: message(error),
          current: this.#current.description,
        },
      );
      return;
    }
    this.#current = next;
    const warning = validityWarning(next);
    const line = "{trigger}: TLS certificate reloaded: {description}; new connections use it, " +
      "open ones keep the old one{warning}";
    const fields = {
      trigger,
      description: next.description,
      warning: warning === null ? "" : ` (${warning})`,
    };
    if (warning === null) log.server.info(line, fields);
    else log.server.warn(line, fields);
  }

  /** Reloads after the files change, once they have been quiet for `debounceMs`. */
  watch(debounceMs: number): void {
    this.#watcher ??= watchFiles([this.#certPath, this.#keyPath], {
      debounceMs,
      onChange: () => this.reload("certificate files changed"),
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }
}

/** How long to wait before watching again when a file is missing (mid-replacement, deleted). */
const REWATCH_MS = 1_000;

/**
 * Calls `onChange` after `paths` change and then stay quiet for `debounceMs`. A file replaced by
 * a rename leaves the watch on the old file, so after each change the files are watched anew;
 * one that is missing is looked for again every REWATCH_MS, and its return counts as a change.
 * Reads (the reload's own) are not changes. If watching is impossible the reloads are left to
 * SIGHUP, and a warning says so.
 */
export function watchFiles(
  paths: readonly string[],
  options: { debounceMs: number; onChange(): Promise<void> },
): { close(): void } {
  let closed = false;
  let watcher: Deno.FsWatcher | null = null;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let rewatch: ReturnType<typeof setTimeout> | undefined;
  let missing = false;

  const changed = () => {
    clearTimeout(debounce);
    debounce = setTimeout(async () => {
      watcher?.close();
      watcher = null;
      await options.onChange();
      // One turn of the event loop, so the closed watch is gone before the new one is made.
      await new Promise((resolve) => setTimeout(resolve, 0));
      watch();
    }, options.debounceMs);
    Deno.unrefTimer(debounce);
  };

  const watch = () => {
    if (closed || watcher !== null) return;
    let current: Deno.FsWatcher;
    try {
      current = Deno.watchFs([...paths], { recursive: false });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        missing = true;
        rewatch = setTimeout(watch, REWATCH_MS);
        Deno.unrefTimer(rewatch);
        return;
      }
      log.server.warn("cannot watch the TLS certificate files ({error}); reload them with SIGHUP", {
        error: message(error),
      });
      return;
    }
    watcher = current;
    if (missing) {
      missing = false;
      changed();
    }
    (async () => {
      try {
        for await (const event of current) {
          if (event.kind !== "access" && event.kind !== "other") changed();
        }
      } catch {
        // Closed, or the watched file went away: the next change or rewatch takes over.
      }
    })();
  };

  watch();
  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearTimeout(rewatch);
      watcher?.close();
      watcher = null;
    },
  };
}
