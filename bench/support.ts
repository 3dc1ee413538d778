/** What the benchmark scripts share: a free port, waiting for a server to listen, the median. */

const HOST = "127.0.0.1";

/** A port of 127.0.0.1 free a moment ago (the server started next binds it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves once 127.0.0.1:`port` accepts a connection; false after `tries` × 50 ms. */
export async function listening(port: number, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return false;
}

/** The median of `values` (the mean of the middle two for an even count; NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid] as number
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
