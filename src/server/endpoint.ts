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

/** The ports a configuration listens on, once bound: `--port`'s, and HTTPS's beside it. */
export interface BoundPorts {
  /** The address bound, as the system reports it. */
  hostname: string;
  /** The `--port` listener's (HTTPS on it when it speaks TLS). */
  port: number;
  /** `--https-port`'s; null without it. */
  httpsPort: number | null;
}

export interface EndpointOptions {
  /** The certificate pair, already read and checked (else it is read from its files). */
  pair?: LoadedPair;
  /**
   * Ports already chosen (`probePorts`), to share with other listeners of this process
   * (SO_REUSEPORT): a listener thread's.
   */
  shared?: BoundPorts;
}

/**
 * Opens what `config` asks for: plain HTTP on `port`; or, with a certificate, HTTPS on `port`;
 * or, with `--https-port`, both. Throws StartupError: exit status 1 for a port in use or a file
 * that cannot be read, 2 for a certificate or key that cannot be used.
 */
export async function openEndpoints(
  config: ServerConfig,
  options: EndpointOptions = {},
): Promise<OpenedEndpoints> {
  const { shared } = options;
  const plainOn = (port?: number) =>
    openListener(config, shared === undefined ? {} : { port, reusePort: true });
  if (config.tlsCert === null || config.tlsKey === null) {
    const listener = plainOn(shared?.port);
    const port = (listener.addr as Deno.NetAddr).port;
    return {
      listener,
      endpoints: endpointsFor(config, { port, httpsPort: null }),
      https: null,
    };
  }
  const pair = options.pair ?? await loadPair(config.tlsCert, config.tlsKey);
  const plain = config.httpsPort === null ? null : plainOn(shared?.port);
  let https: HttpsListener;
  try {
    https = openHttps(config, pair, shared?.httpsPort ?? shared?.port);
  } catch (error) {
    plain?.close();
    throw error;
  }
  const httpsPort = https.addr.port;
  if (plain === null) {
    return {
      listener: https,
      endpoints: endpointsFor(config, { port: httpsPort, httpsPort: null }),
      https: { listener: https, pair },
    };
  }
  const port = (plain.addr as Deno.NetAddr).port;
  return {
    listener: new ListenerGroup([plain, https]),
    endpoints: endpointsFor(config, { port, httpsPort }),
    https: { listener: https, pair },
  };
}

/** Reads and checks the certificate pair; a StartupError (status 1 unreadable, 2 unusable). */
export async function loadPair(certPath: string, keyPath: string): Promise<LoadedPair> {
  try {
    return await loadTlsPair(certPath, keyPath);
  } catch (error) {
    if (!(error instanceof TlsPairError)) throw error;
    throw new StartupError(error.message, { exitStatus: error.unreadable ? 1 : 2 });
  }
}

/**
 * The endpoints of `config` on `ports` (`--port` first): plain HTTP, or HTTPS when the port
 * speaks TLS; with `--https-port`, plain HTTP (or its redirect) and HTTPS.
 */
export function endpointsFor(
  config: ServerConfig,
  ports: { port: number; httpsPort: number | null },
): Endpoint[] {
  const tls = config.tlsCert !== null && config.tlsKey !== null;
  const secure = (port: number): Endpoint => ({
    scheme: "https",
    port,
    allowedHosts: hostAllowlist(config.host, port, config.allowHosts, { scheme: "https" }),
    fields: hstsFields(config.hstsSeconds),
    redirectToPort: null,
  });
  if (!tls) return [plainEndpoint(config, ports.port, null)];
  if (ports.httpsPort === null) return [secure(ports.port)];
  const httpsPort = ports.httpsPort;
  return [
    plainEndpoint(config, ports.port, config.redirectHttp ? httpsPort : null),
    secure(httpsPort),
  ];
}

/**
 * Chooses the ports for listeners that will share them (threads.ts): binds each one `config`
 * asks for, without sharing, so that a port in use is refused as for one listener (two servers
 * sharing a port would split its clients) and port 0 gets a free one; then lets them go for
 * the listeners to bind with SO_REUSEPORT.
 */
export function probePorts(config: ServerConfig): BoundPorts {
  const probes: Deno.Listener[] = [];
  try {
    probes.push(openListener(config));
    if (config.tlsCert !== null && config.httpsPort !== null) {
      probes.push(openListener(config, { port: config.httpsPort }));
    }
    const [first, second] = probes.map((probe) => probe.addr as Deno.NetAddr);
    return {
      hostname: (first as Deno.NetAddr).hostname,
      port: (first as Deno.NetAddr).port,
      httpsPort: second?.port ?? null,
    };
  } finally {
    for (const probe of probes) probe.close();
  }
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

/** HTTPS on its port; `sharedPort`: on that port, beside other listeners (SO_REUSEPORT). */
function openHttps(config: ServerConfig, pair: LoadedPair, sharedPort?: number): HttpsListener {
  const port = sharedPort ?? config.httpsPort ?? config.port;
  try {
    return openHttpsListener({
      hostname: config.host,
      port,
      joinPort: sharedPort !== undefined,
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
