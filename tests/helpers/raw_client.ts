/**
 * A raw TCP client for black-box tests: writes exact bytes and parses exactly what comes back,
 * without any of fetch's normalisation. Every read is bounded by a timeout. With the `tls`
 * option the same bytes go over TLS (`Deno.connectTls`, trusting the given CA certificates).
 */

export interface RawResponse {
  status: number;
  reason: string;
  /** The status line's version, e.g. "HTTP/1.1". */
  version: string;
  /** Header fields in order, names lower-cased. */
  fields: [string, string][];
  body: Uint8Array;
  /** Convenience: first value of a field (lower-case name), or null. */
  header(name: string): string | null;
  text(): string;
}

/** Request header fields, in order. */
export type FieldList = [string, string][];

/** Where and how to connect: plain TCP by default, TLS with `tls`. */
export interface ConnectOptions {
  /** Default 127.0.0.1 (also the name the certificate is checked against over TLS). */
  hostname?: string;
  tls?: {
    /** PEM certificates to trust (the test CA). */
    caCerts: string[];
    /** ALPN protocols to offer; none by default. */
    alpnProtocols?: string[];
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * A connection that buffers what it reads, so several responses can be pulled off in order.
 * Closed by `close()`, or at the end of the scope when declared with `using`.
 */
export class RawClient implements Disposable {
  readonly conn: Deno.Conn;
  /** Unconsumed bytes: a view into #store starting at #offset. */
  #buf = new Uint8Array(0);
  #store = new Uint8Array(0);
  #offset = 0;
  #eof = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to `port`; the second argument is the host name or ConnectOptions. */
  static async connect(
    port: number,
    options: string | ConnectOptions = {},
  ): Promise<RawClient> {
    const { hostname = "127.0.0.1", tls } = typeof options === "string"
      ? { hostname: options }
      : options;
    if (tls === undefined) return new RawClient(await Deno.connect({ hostname, port }));
    const conn = await Deno.connectTls({
      hostname,
      port,
      caCerts: tls.caCerts,
      alpnProtocols: tls.alpnProtocols,
    });
    return new RawClient(conn);
  }

  async send(data: string | Uint8Array): Promise<void> {
    const payload = typeof data === "string" ? encoder.encode(data) : data;
    let offset = 0;
    while (offset < payload.length) offset += await this.conn.write(payload.subarray(offset));
  }

  /** Reads more bytes into the buffer; false at EOF or reset. Rejects after `timeoutMs`. */
  async #fill(timeoutMs: number): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`read timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      let n: number | null;
      try {
        n = await Promise.race([this.conn.read(chunk), timeout]);
      } catch (error) {
        // Over TLS a close without close_notify is reported as an unexpected end.
        if (
          error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.UnexpectedEof
        ) {
          n = null;
        } else throw error;
      }
      if (n === null) {
        this.#eof = true;
        return false;
      }
      this.#append(chunk.subarray(0, n));
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Appends to the buffer with amortised growth (large downloads stay linear). */
  #append(data: Uint8Array): void {
    const length = this.#buf.length + data.length;
    if (this.#store.length - this.#offset < length) {
      const store = new Uint8Array(Math.max(length * 2, 64 * 1024));
      store.set(this.#buf);
      this.#store = store;
      this.#offset = 0;
    }
    this.#store.set(data, this.#offset + this.#buf.length);
    this.#buf = this.#store.subarray(this.#offset, this.#offset + length);
  }

  #consume(n: number): void {
    this.#offset += n;
    this.#buf = this.#buf.subarray(n);
  }

  /** Reads one response. For HEAD requests pass `{ head: true }` (no body follows). */
  async response(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? 5000;
    for (;;) {
      const end = indexOf(this.#buf, "\r\n\r\n");
      if (end >= 0) {
        const headText = decoder.decode(this.#buf.subarray(0, end));
        const lines = headText.split("\r\n");
        const statusLine = lines.shift() ?? "";
        const match = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(statusLine);
        if (match === null) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
        const fields = lines.map((line): [string, string] => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        });
        const status = Number(match[2]);
        const get = (name: string) => fields.find(([n]) => n === name)?.[1] ?? null;
        this.#consume(end + 4);
        let body = new Uint8Array(0);
        const noBody = options.head || status < 200 || status === 204 || status === 304;
        if (!noBody) {
          const length = get("content-length");
          if (length === null) throw new Error("response without Content-Length");
          const n = Number(length);
          while (this.#buf.length < n) {
            if (!await this.#fill(timeoutMs)) throw new Error("connection closed mid-body");
          }
          body = this.#buf.slice(0, n);
          this.#consume(n);
        }
        return {
          version: match[1] as string,
          status,
          reason: match[3] as string,
          fields,
          body,
          header: get,
          text: () => decoder.decode(body),
        };
      }
      if (!await this.#fill(timeoutMs)) {
        throw new Error(
          `connection closed before a full response (${this.#buf.length} bytes buffered)`,
        );
      }
    }
  }

  /** True when the server closes the connection (EOF or reset) within `timeoutMs`. */
  async closed(timeoutMs = 3000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      try {
        if (!await this.#fill(until - Date.now())) return true;
      } catch {
        return false;
      }
    }
    return false;
  }

  /** Bytes received but not yet consumed by `response()`. */
  get pending(): number {
    return this.#buf.length;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Sends `request` on a fresh connection and returns the first response. */
export async function exchange(
  port: number,
  request: string | Uint8Array,
  options: { head?: boolean; timeoutMs?: number; connect?: ConnectOptions } = {},
): Promise<RawResponse> {
  const client = await RawClient.connect(port, options.connect);
  try {
    await client.send(request);
    return await client.response(options);
  } finally {
    client.close();
  }
}

/**
 * The exact head of a bodiless request: `METHOD target HTTP/1.1`, `Host: 127.0.0.1:port`, then
 * `fields` in order, then the empty line. The method defaults to GET.
 */
export function requestHead(
  port: number,
  target: string,
  options: { method?: string; fields?: FieldList } = {},
): string {
  const extra = (options.fields ?? []).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${options.method ?? "GET"} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`;
}

/** A GET (or HEAD) of `target` as built by requestHead, on a fresh connection; its response. */
export async function get(
  port: number,
  target: string,
  options: {
    method?: "GET" | "HEAD";
    fields?: FieldList;
    timeoutMs?: number;
    connect?: ConnectOptions;
  } = {},
): Promise<RawResponse> {
  const method = options.method ?? "GET";
  return await exchange(port, requestHead(port, target, { method, fields: options.fields }), {
    head: method === "HEAD",
    timeoutMs: options.timeoutMs,
    connect: options.connect,
  });
}

function indexOf(haystack: Uint8Array, needle: string): number {
  const n = encoder.encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}
