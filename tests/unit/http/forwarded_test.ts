/**
 * src/http/forwarded.ts: IP addresses and CIDR ranges as `--trust-proxy` and `--metrics-allow`
 * read them, and the client a trusted proxy forwarded a request for (RFC 7239 `Forwarded`,
 * `X-Forwarded-For`): the rightmost address that is not itself a trusted proxy, never from any
 * other peer, the peer's address whenever the fields give no clean answer.
 */

import assert from "node:assert/strict";
import { FieldList } from "../../../src/http/fields.ts";
import {
  AddressRanges,
  clientAddress,
  formatCidr,
  formatIp,
  parseCidr,
  parseForwarded,
  parseIp,
} from "../../../src/http/forwarded.ts";

/** Text → canonical text (IPv4 or IPv6, as `formatIp` writes it), or null when not an address. */
const IP_CASES: ReadonlyArray<[string, string | null]> = [
  ["0.0.0.0", "0.0.0.0"],
  ["127.0.0.1", "127.0.0.1"],
  ["255.255.255.255", "255.255.255.255"],
  ["256.0.0.1", null],
  ["1.2.3", null],
  ["1.2.3.4.5", null],
  ["01.2.3.4", null],
  ["1.2.3.-4", null],
  ["1.2.3.4 ", null],
  ["::", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["2001:db8::1", "2001:db8::1"],
  ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
  ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
  ["fe80::1:2", "fe80::1:2"],
  ["::ffff:192.0.2.1", "192.0.2.1"],
  ["::FFFF:c000:0201", "192.0.2.1"],
  ["::1.2.3.4", "::102:304"],
  ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ["1:2:3:4:5:6:7:1.2.3.4", null],
  ["1:2:3:4:5:6:7:8:9", null],
  ["1:2:3:4:5:6:7", null],
  ["1:2:3:4:5:6:7::8", null],
  ["1::2::3", null],
  ["12345::", null],
  [":::", null],
  [":1::", null],
  ["1::2:", null],
  ["1.2.3.4::", null],
  ["g::1", null],
  ["[::1]", null],
  ["fe80::1%eth0", null],
  ["", null],
  ["localhost", null],
];

for (const [text, want] of IP_CASES) {
  Deno.test(`parseIp(${JSON.stringify(text)}) is ${want ?? "not an address"}`, () => {
    const ip = parseIp(text);
    assert.equal(ip === null ? null : formatIp(ip), want);
  });
}

/** Text → canonical range, or null. */
const CIDR_CASES: ReadonlyArray<[string, string | null]> = [
  ["10.0.0.0/8", "10.0.0.0/8"],
  ["10.1.2.3/8", "10.0.0.0/8"],
  ["192.0.2.7", "192.0.2.7/32"],
  ["0.0.0.0/0", "0.0.0.0/0"],
  ["172.16.0.0/12", "172.16.0.0/12"],
  ["172.31.255.255/12", "172.16.0.0/12"],
  ["::1", "::1/128"],
  ["::/0", "::/0"],
  ["fd00::/8", "fd00::/8"],
  ["2001:db8:ffff::/33", "2001:db8:8000::/33"],
  ["2001:db8::1/64", "2001:db8::/64"],
  ["::ffff:10.0.0.0/8", "10.0.0.0/8"],
  ["10.0.0.0/33", null],
  ["::/129", null],
  ["10.0.0.0/", null],
  ["10.0.0.0/08", null],
  ["10.0.0.0/-1", null],
  ["10.0.0.0/8/8", null],
  ["/8", null],
  ["10.0.0/8", null],
  ["any", null],
  ["", null],
];

for (const [text, want] of CIDR_CASES) {
  Deno.test(`parseCidr(${JSON.stringify(text)}) is ${want ?? "not a range"}`, () => {
    const range = parseCidr(text);
    assert.equal(range === null ? null : formatCidr(range), want);
  });
}

const RANGES = ["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "::1"];
const MEMBER_CASES: ReadonlyArray<[readonly string[], string, boolean]> = [
  [RANGES, "10.0.0.0", true],
  [RANGES, "10.255.255.255", true],
  [RANGES, "11.0.0.0", false],
  [RANGES, "9.255.255.255", false],
  [RANGES, "192.168.1.77", true],
  [RANGES, "192.168.2.1", false],
  [RANGES, "fd12::3", true],
  [RANGES, "fe00::1", false],
  [RANGES, "::1", true],
  [RANGES, "::2", false],
  // What a dual-stack socket reports for an IPv4 peer is that IPv4 address.
  [RANGES, "::ffff:10.1.1.1", true],
  [RANGES, "::ffff:11.1.1.1", false],
  [RANGES, "localhost", false],
  [RANGES, "", false],
  // The families are apart: an IPv4 range never holds an IPv6 address, nor the reverse.
  [["0.0.0.0/0"], "::1", false],
  [["::/0"], "192.0.2.1", false],
  [["::/0"], "::ffff:192.0.2.1", false],
  [["0.0.0.0/0"], "::ffff:192.0.2.1", true],
  [["127.0.0.0/8"], "127.8.9.10", true],
  [[], "127.0.0.1", false],
];

for (const [ranges, address, want] of MEMBER_CASES) {
  Deno.test(
    `AddressRanges [${ranges.join(", ")}] ${want ? "includes" : "excludes"} ${
      JSON.stringify(address)
    }`,
    () => {
      assert.equal(AddressRanges.parse(ranges).includes(address), want);
    },
  );
}

Deno.test("AddressRanges.parse() names the first text that is not a range", () => {
  assert.throws(
    () => AddressRanges.parse(["10.0.0.0/8", "10.0.0.0/40"]),
    /not an address range: "10.0.0.0\/40"/,
  );
});

const PROXIES = AddressRanges.parse(["127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8"]);
const PEER = "127.0.0.1";

interface ClientCase {
  name: string;
  peer?: string;
  fields: [string, string][];
  want: string;
  proxies?: AddressRanges;
}

const CLIENT_CASES: readonly ClientCase[] = [
  // Whom to believe.
  { name: "no forwarding field: the peer", fields: [], want: PEER },
  {
    name: "an untrusted peer's X-Forwarded-For counts for nothing",
    peer: "203.0.113.9",
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "203.0.113.9",
  },
  {
    name: "an untrusted peer's Forwarded counts for nothing",
    peer: "203.0.113.9",
    fields: [["forwarded", "for=198.51.100.7"]],
    want: "203.0.113.9",
  },
  {
    name: "a peer outside every range, dual-stack form",
    peer: "::ffff:203.0.113.9",
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "::ffff:203.0.113.9",
  },
  {
    name: "a trusted peer in dual-stack form",
    peer: "::ffff:127.0.0.1",
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "a trusted IPv6 peer",
    peer: "::1",
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "an IPv6 range does not trust an IPv4 peer",
    peer: "::ffff:127.0.0.1",
    proxies: AddressRanges.parse(["::/0"]),
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "::ffff:127.0.0.1",
  },
  // X-Forwarded-For.
  {
    name: "X-Forwarded-For: one address",
    fields: [["x-forwarded-for", "198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: a trusted proxy on the right is passed over",
    fields: [["x-forwarded-for", "198.51.100.7, 10.0.0.2"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For spoofing: entries the client prepended are never reached",
    fields: [["x-forwarded-for", "6.6.6.6, 10.9.9.9, 198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For spoofing: a fake trusted entry left of the client changes nothing",
    fields: [["x-forwarded-for", "10.0.0.1, 198.51.100.7, 10.0.0.2"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For in several field lines, in order",
    fields: [["x-forwarded-for", "6.6.6.6"], ["x-forwarded-for", "198.51.100.7, 10.0.0.3"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: every entry trusted gives the leftmost",
    fields: [["x-forwarded-for", "10.0.0.5, 10.0.0.2"]],
    want: "10.0.0.5",
  },
  {
    name: "X-Forwarded-For: extra spaces and an empty element",
    fields: [["x-forwarded-for", " 198.51.100.7 ,, 10.0.0.2 ,"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: IPv4 with a port",
    fields: [["x-forwarded-for", "198.51.100.7:4711"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: bare IPv6",
    fields: [["x-forwarded-for", "2001:db8::1"]],
    want: "2001:db8::1",
  },
  {
    name: "X-Forwarded-For: bracketed IPv6 with a port",
    fields: [["x-forwarded-for", "[2001:db8::1]:4711"]],
    want: "2001:db8::1",
  },
  {
    name: "X-Forwarded-For: IPv6 written long comes out canonical",
    fields: [["x-forwarded-for", "2001:DB8:0:0:0:0:0:1"]],
    want: "2001:db8::1",
  },
  {
    name: "X-Forwarded-For: IPv4-mapped comes out dotted",
    fields: [["x-forwarded-for", "::ffff:198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: a trusted IPv6 proxy passed over",
    fields: [["x-forwarded-for", "198.51.100.7, fd00::17"]],
    want: "198.51.100.7",
  },
  { name: "X-Forwarded-For: unknown", fields: [["x-forwarded-for", "unknown"]], want: PEER },
  {
    name: "X-Forwarded-For: unknown as the rightmost untrusted entry",
    fields: [["x-forwarded-for", "198.51.100.7, unknown, 10.0.0.2"]],
    want: PEER,
  },
  {
    name: "X-Forwarded-For: garbage left of the answer is never read",
    fields: [["x-forwarded-for", 'unknown, "><script>, 198.51.100.7']],
    want: "198.51.100.7",
  },
  {
    name: "X-Forwarded-For: not an address",
    fields: [["x-forwarded-for", "client.example"]],
    want: PEER,
  },
  {
    name: "X-Forwarded-For: a leading zero",
    fields: [["x-forwarded-for", "198.51.100.07"]],
    want: PEER,
  },
  {
    name: "X-Forwarded-For: spaces, no comma",
    fields: [["x-forwarded-for", "1.2.3.4 5.6.7.8"]],
    want: PEER,
  },
  { name: "X-Forwarded-For: a zone", fields: [["x-forwarded-for", "fe80::1%eth0"]], want: PEER },
  {
    name: "X-Forwarded-For: a bad port",
    fields: [["x-forwarded-for", "198.51.100.7:x"]],
    want: PEER,
  },
  {
    name: "X-Forwarded-For: IPv4 in brackets",
    fields: [["x-forwarded-for", "[198.51.100.7]"]],
    want: PEER,
  },
  { name: "X-Forwarded-For: empty", fields: [["x-forwarded-for", ""]], want: PEER },
  // Forwarded (RFC 7239).
  {
    name: "Forwarded: for=IPv4",
    fields: [["forwarded", "for=198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: RFC 7239 §4 example, IPv6 quoted with brackets and port",
    fields: [["forwarded", 'for="[2001:db8:cafe::17]:4711"']],
    want: "2001:db8:cafe::17",
  },
  {
    name: "Forwarded: other parameters beside for",
    fields: [["forwarded", "for=198.51.100.7;proto=https;by=10.0.0.2"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: parameter names are case-insensitive",
    fields: [["forwarded", "For=198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: a quoted IPv4 with a port",
    fields: [["forwarded", 'for="198.51.100.7:4711"']],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: RFC 7239 §7.4 example, the proxy's element last",
    fields: [["forwarded", "for=198.51.100.7;proto=http;by=203.0.113.43, for=10.0.0.2"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded spoofing: an element the client prepended is never reached",
    fields: [["forwarded", "for=6.6.6.6, for=198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded in several field lines, in order",
    fields: [["forwarded", "for=6.6.6.6"], ["forwarded", "for=198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: a comma inside a quoted value does not split",
    fields: [["forwarded", 'for="6.6.6.6, for=1.1.1.1", for=198.51.100.7']],
    want: "198.51.100.7",
  },
  { name: "Forwarded: obfuscated identifier", fields: [["forwarded", "for=_hidden"]], want: PEER },
  {
    name: "Forwarded: quoted obfuscated identifier",
    fields: [["forwarded", 'for="_gazonk"']],
    want: PEER,
  },
  { name: "Forwarded: unknown", fields: [["forwarded", "for=unknown"]], want: PEER },
  {
    name: "Forwarded: obfuscated as the rightmost untrusted element",
    fields: [["forwarded", "for=198.51.100.7, for=_hidden"]],
    want: PEER,
  },
  {
    name: "Forwarded: obfuscated left of the answer is never reached",
    fields: [["forwarded", "for=_hidden, for=198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: an obfuscated port is still the address",
    fields: [["forwarded", 'for="198.51.100.7:_p1"']],
    want: "198.51.100.7",
  },
  {
    name: "Forwarded: unquoted IPv6 (brackets are not a token)",
    fields: [["forwarded", "for=[2001:db8::1]"]],
    want: PEER,
  },
  {
    name: "Forwarded: IPv6 without brackets",
    fields: [["forwarded", 'for="2001:db8::1"']],
    want: PEER,
  },
  {
    name: "Forwarded: for twice in one element",
    fields: [["forwarded", "for=198.51.100.7;for=6.6.6.6"]],
    want: PEER,
  },
  { name: "Forwarded: an open quote", fields: [["forwarded", 'for="198.51.100.7']], want: PEER },
  { name: "Forwarded: no for", fields: [["forwarded", "proto=https"]], want: PEER },
  { name: "Forwarded: space around =", fields: [["forwarded", "for = 198.51.100.7"]], want: PEER },
  { name: "Forwarded: not token=value", fields: [["forwarded", "198.51.100.7"]], want: PEER },
  {
    name: "Forwarded: one malformed field line spoils the list",
    fields: [["forwarded", 'for="6.6.6.6'], ["forwarded", "for=198.51.100.7"]],
    want: PEER,
  },
  // Both kinds of field.
  {
    name: "Forwarded and X-Forwarded-For agreeing",
    fields: [["forwarded", "for=198.51.100.7"], ["x-forwarded-for", "198.51.100.7"]],
    want: "198.51.100.7",
  },
  {
    name: "spoofing: a Forwarded the client wrote beside a proxy's X-Forwarded-For",
    fields: [["forwarded", "for=6.6.6.6"], ["x-forwarded-for", "198.51.100.7"]],
    want: PEER,
  },
  {
    name: "spoofing: an X-Forwarded-For the client wrote beside a proxy's Forwarded",
    fields: [["x-forwarded-for", "6.6.6.6"], ["forwarded", "for=198.51.100.7"]],
    want: PEER,
  },
  {
    name: "a malformed Forwarded beside an X-Forwarded-For",
    fields: [["forwarded", "for="], ["x-forwarded-for", "198.51.100.7"]],
    want: PEER,
  },
];

for (const c of CLIENT_CASES) {
  Deno.test(`clientAddress(): ${c.name}`, () => {
    const fields = new FieldList();
    for (const [name, value] of c.fields) fields.add(name, value);
    assert.equal(clientAddress(fields, c.peer ?? PEER, c.proxies ?? PROXIES), c.want);
  });
}

const FORWARDED_SYNTAX: ReadonlyArray<[string, (string | null)[] | null]> = [
  ["for=a", ["a"]],
  ["for=a, for=b", ["a", "b"]],
  ["for=a,for=b", ["a", "b"]],
  ["proto=http;for=a", ["a"]],
  ["by=x, for=b", [null, "b"]],
  ['for="a\\"b"', ['a"b']],
  ['for=""', [""]],
  [", ,for=a,", ["a"]],
  [";for=a;", ["a"]],
  ["", []],
  ["for=a for=b", null],
  ["for=", null],
  ["=a", null],
  ['for="a', null],
  ['for="a"b', null],
  ["for=a;FOR=b", null],
];

for (const [value, want] of FORWARDED_SYNTAX) {
  Deno.test(`parseForwarded(${JSON.stringify(value)})`, () => {
    assert.deepEqual(parseForwarded(value), want);
  });
}
