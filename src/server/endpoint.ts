/**
 * The listeners of a configuration, and what a connection needs to know about the one it
 * arrived on, as data (an Endpoint): the scheme and what follows from it (which Host values
 * name it, the fields its responses carry, whether it only redirects). The engine never learns
 * which kind of listener it serves; it reads this.
 *
 * Invariant: endpoints are built once at start-up and never changed, so a connection may keep
 * a reference for its whole life.
 */

import type { ServerConfig } from "../config.ts";
import { hostAllowlist, type Scheme } from "../http/host.ts";
import type { Field } from "../http/response.ts";
import { ListenerGroup } from "./listener_group.ts";
import { openListener, reason, StartupError } from "./startup.ts";
import { type LoadedPair, loadTlsPair, TlsPairError } from "./tls.ts";
import { type HttpsListener, openHttpsListener } from "./tls_listener.ts";

export interface Endpoint {
  scheme: Scheme;
  /** The port it listens on (the real one, also when 0 was asked for). */
  port: number;
  /** Host values served here (http/host.ts); null with `--allow-host '*'`. */
  allowedHosts: ReadonlySet<string> | null;
  /** Fields every response here carries, whatever its status: HSTS on HTTPS with `--hsts`. */
  fields: readonly Field[];
  /** `--redirect-http`: every request here is answered 308 to this HTTPS port; else null. */
  redirectToPort: number | null;
}

/**
 * `Strict-Transport-Security` (RFC 6797 §6.1) for responses over TLS; never sent over plain HTTP,
 * where a browser must ignore it (§8.1) and a network attacker could forge or strip it anyway.
 */
export function hstsFields(maxAgeSeconds: number | null): Field[] {
  return maxAgeSeconds === null ? [] : [["Strict-Transport-Security", `max-age=${maxAgeSeconds}`]];
}

/** The listener the engine serves, the endpoints behind it, and the HTTPS parts to reload. */
export interface OpenedEndpoints {
  /** One listener, or a group of two (plain HTTP beside HTTPS). */
  listener: Deno.Listener;
  /** The `--port` endpoint first. */
  endpoints: Endpoint[];
  https: { listener: HttpsListener; pair: LoadedPair } | null;
}

/**
 * Opens what `config` asks for: plain HTTP on `port`; or, with a certificate, HTTPS on `port`;
 * or, with `--https-port`, both. Throws StartupError: exit status 1 for a port in use or a file
 * that cannot be read, 2 for a certificate or key that cannot be used.
 */
export async function openEndpoints(config: ServerConfig): Promise<OpenedEndpoints> {
  if (config.tlsCert === null || config.tlsKey === null) {
    const listener = openListener(config);
    const port = (listener.addr as Deno.NetAddr).port;
    return {
      listener,
      endpoints: [plainEndpoint(config, port, null)],
      https: null,
    };
  }
  let pair: LoadedPair;
  try {
    pair = await loadTlsPair(config.tlsCert, config.tlsKey);
  } catch (error) {
    if (!(error instanceof TlsPairError)) throw error;
    throw new StartupError(error.message, { exitStatus: error.unreadable ? 1 : 2 });
  }
  const plain = config.httpsPort === null ? null : openListener(config);
  let https: HttpsListener;
  try {
    https = openHttps(config, pair);
  } catch (error) {
    plain?.close();
    throw error;
  }
  const httpsPort = https.addr.port;
  const secure: Endpoint = {
    scheme: "https",
    port: httpsPort,
    allowedHosts: hostAllowlist(config.host, httpsPort, config.allowHosts, { scheme: "https" }),
    fields: hstsFields(config.hstsSeconds),
    redirectToPort: null,
  };
  if (plain === null) {
    return { listener: https, endpoints: [secure], https: { listener: https, pair } };
  }
  const port = (plain.addr as Deno.NetAddr).port;
  return {
    listener: new ListenerGroup([plain, https]),
    endpoints: [plainEndpoint(config, port, config.redirectHttp ? httpsPort : null), secure],
    https: { listener: https, pair },
  };
}

function plainEndpoint(
  config: ServerConfig,
  port: number,
  redirectToPort: number | null,
): Endpoint {
  return {
    scheme: "http",
    port,
    allowedHosts: hostAllowlist(config.host, port, config.allowHosts),
    fields: [],
    redirectToPort,
  };
}

function openHttps(config: ServerConfig, pair: LoadedPair): HttpsListener {
  const port = config.httpsPort ?? config.port;
  try {
    return openHttpsListener({
      hostname: config.host,
      port,
      pair,
      handshakeTimeoutMs: config.tlsHandshakeTimeoutMs,
      failureSummaryMs: config.tlsFailureSummaryMs,
      maxPendingHandshakes: config.tlsMaxPendingHandshakes,
    });
  } catch (error) {
    // rustls refused a pair validatePair accepted (an unsupported key type, say): bad input.
    const input = error instanceof Deno.errors.InvalidData ||
      (error instanceof Error && error.message.includes("KeyMismatch"));
    throw new StartupError(`cannot listen on ${config.host}:${port} with TLS: ${reason(error)}`, {
      exitStatus: input ? 2 : 1,
    });
  }
}
