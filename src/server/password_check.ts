/**
 * bcrypt comparisons off the event loop: one worker thread runs them (bcryptjs), one at a time,
 * while the main thread goes on serving.
 *
 * Why a thread: bcryptjs's asynchronous `compare` yields to the event loop only every 100 ms
 * of work, so a cost-10 hash (about 65 ms here) runs in one piece, and a cost-5 one (htpasswd
 * -B's default, about 2 ms) too; every other connection would wait that long for each password
 * checked. In a worker the main thread only posts a message and gets one back.
 *
 * Invariants:
 * - At most `maxPending` comparisons are queued or running; beyond that `check` answers null
 *   at once (the caller refuses the request), so a flood of passwords queues bounded work.
 * - The worker is made from a Blob of this module's own function, so it needs no read
 *   permission of its own (a worker from a file needs `--allow-read` of that file, which
 *   `deno task start`'s sandbox does not grant); it imports only `bcryptjs`.
 */

/** The worker thread's program. It runs there, so it refers to nothing outside itself. */
function workerMain(bcrypt: { compareSync(password: string, hash: string): boolean }): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent) => void) | null;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (event) => {
    const { id, password, hash } = event.data as { id: number; password: string; hash: string };
    let ok = false;
    try {
      ok = bcrypt.compareSync(password, hash);
    } catch {
      ok = false;
    }
    scope.postMessage({ id, ok });
  };
}

/** What the authenticator needs of a password checker (tests give it a scripted one). */
export interface PasswordVerifier {
  /** Comparisons that may be queued or running at once. */
  readonly maxPending: number;
  /** Whether `password` matches `hash`; null when `maxPending` are already waiting. */
  check(password: string, hash: string): Promise<boolean> | null;
  close(): void;
}

const WORKER_SOURCE = `import bcrypt from "bcryptjs";\n(${workerMain.toString()})(bcrypt);\n`;

export class PasswordChecker implements PasswordVerifier {
  readonly maxPending: number;
  #worker: Worker | null = null;
  #url: string | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(ok: boolean): void; reject(e: Error): void }>();
  #closed = false;

  /** Starts the thread at once, so the first password checked does not wait for it. */
  constructor(maxPending: number) {
    this.maxPending = maxPending;
    this.#start();
  }

  /** Comparisons queued or running now. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Whether `password` matches the bcrypt `hash`; null (nothing queued) when `maxPending`
   * comparisons are already waiting. Rejects if the worker thread fails.
   */
  check(password: string, hash: string): Promise<boolean> | null {
    if (this.#closed) throw new Error("password checker closed");
    if (this.#pending.size >= this.maxPending) return null;
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<boolean>();
    this.#pending.set(id, { resolve, reject });
    worker.postMessage({ id, password, hash });
    return promise;
  }

  /** Ends the worker thread; comparisons still pending reject. */
  close(): void {
    this.#closed = true;
    this.#stop(new Error("password checker closed"));
  }

  #start(): Worker {
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(this.#url, { type: "module" });
    worker.onmessage = (event: MessageEvent) => {
      const { id, ok } = event.data as { id: number; ok: boolean };
      const waiting = this.#pending.get(id);
      if (waiting === undefined) return;
      this.#pending.delete(id);
      waiting.resolve(ok === true);
    };
    worker.onerror = (event: ErrorEvent) => {
      // The thread is gone (it failed to load, or ran out of memory): fail what waits, and
      // start a new one for the next comparison.
      event.preventDefault();
      this.#stop(new Error(`password check thread failed: ${event.message}`));
    };
    this.#worker = worker;
    return worker;
  }

  #stop(error: Error): void {
    this.#worker?.terminate();
    this.#worker = null;
    if (this.#url !== null) URL.revokeObjectURL(this.#url);
    this.#url = null;
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const each of waiting) each.reject(error);
  }
}
