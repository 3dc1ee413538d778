/**
 * Several listeners as one `Deno.Listener`, so that one engine (one pool, one sweeper, one
 * graceful stop, one set of statistics) serves plain HTTP and HTTPS side by side. Which one a
 * connection came in on is data the engine reads from its local port (ServerState.endpointOf).
 *
 * Invariants:
 * - Each member has at most one accept in flight; `accept()` returns whichever connection comes
 *   first, and a member is asked again only at the next `accept()`.
 * - A member's accept failure is thrown as it is, so accept.ts classifies it and backs off as
 *   for a single listener; the other members' accepts stay in flight meanwhile.
 */

type Outcome =
  | { member: Deno.Listener; conn: Deno.Conn }
  | { member: Deno.Listener; error: unknown };

export class ListenerGroup implements Deno.Listener {
  readonly #members: readonly Deno.Listener[];
  readonly #inFlight = new Map<Deno.Listener, Promise<Outcome>>();
  #closed = false;

  constructor(members: readonly Deno.Listener[]) {
    if (members.length === 0) throw new TypeError("a listener group needs a member");
    this.#members = members;
  }

  /** The first member's address (the one `--port` names). */
  get addr(): Deno.Addr {
    return (this.#members[0] as Deno.Listener).addr;
  }

  async accept(): Promise<Deno.Conn> {
    if (this.#closed) throw new Deno.errors.BadResource("the listeners are closed");
    for (const member of this.#members) {
      if (!this.#inFlight.has(member)) {
        this.#inFlight.set(
          member,
          member.accept().then((conn) => ({ member, conn }), (error) => ({ member, error })),
        );
      }
    }
    const outcome = await Promise.race(this.#inFlight.values());
    this.#inFlight.delete(outcome.member);
    if ("error" in outcome) throw outcome.error;
    return outcome.conn;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A connection a member accepted that no accept() will return now is closed, not leaked.
    for (const outcome of this.#inFlight.values()) {
      outcome.then((o) => "conn" in o && o.conn.close()).catch(() => {});
    }
    for (const member of this.#members) {
      try {
        member.close();
      } catch {
        // Already closed.
      }
    }
  }

  ref(): void {
    for (const member of this.#members) member.ref();
  }

  unref(): void {
    for (const member of this.#members) member.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.Conn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
