/**
 * Apache `htpasswd` files (`user:hash` lines, as `htpasswd -B` writes them), accepting bcrypt
 * hashes only.
 *
 * Invariants:
 * - Pure: the file's bytes in, users and their hashes out, or one HtpasswdError naming the line.
 * - Only bcrypt (`$2y$`, `$2b$`, `$2a$`) is accepted. Apache's other kinds (`$apr1$` MD5,
 *   `{SHA}` SHA-1, crypt, plain text) are fast to brute-force from a copied file, so a file
 *   with one is refused rather than half-served.
 * - Read as Apache's mod_authn_file reads it: lines trimmed of surrounding white space (so CRLF
 *   files work), `#` comments and blank lines skipped, the user name up to the first colon, the
 *   hash up to the next (anything after a second colon is a comment field, as there). Unlike
 *   Apache, where the first of two lines for one user wins, a repeated user is refused.
 */

/** A problem with the file's content, naming the line (1-based; 0: the file as a whole). */
export class HtpasswdError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(line === 0 ? message : `line ${line}: ${message}`);
    this.name = "HtpasswdError";
    this.line = line;
  }
}

/** A bcrypt hash as crypt(3) writes it: version, two-digit cost, 22 salt + 31 hash characters. */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** What a hash is, by its prefix (the kinds Apache's htpasswd and crypt(3) write). */
function hashKind(hash: string): string {
  if (hash.startsWith("$apr1$")) return "an MD5 ($apr1$) hash";
  if (hash.startsWith("{SHA}")) return "a SHA-1 ({SHA}) hash";
  if (hash.startsWith("$1$")) return "an MD5-crypt ($1$) hash";
  if (hash.startsWith("$5$")) return "a SHA-256-crypt ($5$) hash";
  if (hash.startsWith("$6$")) return "a SHA-512-crypt ($6$) hash";
  if (/^\$2[a-z]?\$/.test(hash)) return "a malformed or unsupported bcrypt hash";
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return "a crypt (DES) hash, or a plain-text password";
  return "a plain-text password or an unknown kind of hash";
}

/** The bcrypt cost of a hash this module accepted. */
export function bcryptCost(hash: string): number {
  return Number(hash.slice(4, 6));
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The users of an htpasswd file and their bcrypt hashes, in file order. */
export function parseHtpasswd(bytes: Uint8Array): Map<string, string> {
  const users = new Map<string, string>();
  const lineOf = new Map<string, number>();
  let start = 0;
  for (let number = 1; start <= bytes.length; number++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let line: string;
    try {
      line = UTF8.decode(bytes.subarray(start, end)).trim();
    } catch {
      throw new HtpasswdError(number, "not UTF-8 text");
    }
    start = end + 1;
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon < 0) throw new HtpasswdError(number, "expected user:hash");
    const user = line.slice(0, colon);
    const rest = line.slice(colon + 1);
    const next = rest.indexOf(":");
    const hash = next < 0 ? rest : rest.slice(0, next);
    if (user === "") throw new HtpasswdError(number, "empty user name");
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(user)) {
      throw new HtpasswdError(number, "control characters in the user name");
    }
    const shown = JSON.stringify(user);
    const match = BCRYPT.exec(hash);
    if (match === null) {
      throw new HtpasswdError(
        number,
        `user ${shown} has ${
          hashKind(hash)
        }; only bcrypt is accepted: set the password again with htpasswd -B`,
      );
    }
    const cost = Number(match[1]);
    if (cost < 4 || cost > 31) {
      throw new HtpasswdError(number, `user ${shown}: bcrypt cost ${cost} is outside 4 to 31`);
    }
    const earlier = lineOf.get(user);
    if (earlier !== undefined) {
      throw new HtpasswdError(number, `user ${shown} is already on line ${earlier}`);
    }
    lineOf.set(user, number);
    users.set(user, hash);
  }
  if (users.size === 0) throw new HtpasswdError(0, "no users (add one with htpasswd -B FILE USER)");
  return users;
}
