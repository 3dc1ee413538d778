/**
 * grantCommand(), shellQuote() and scriptName() (src/server/sandbox_hint.ts): the `deno run`
 * line printed when --root or --uploads lie outside the sandbox is `deno task start`'s, with
 * the read and write scopes replaced, then the operator's own arguments, safe to paste.
 */

import assert from "node:assert/strict";
import { grantCommand, scriptName, shellQuote } from "../../../src/server/sandbox_hint.ts";

const PROJECT = new URL("../../../", import.meta.url);

Deno.test("grantCommand() has deno task start's flags with the scopes replaced", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", PROJECT))).tasks;
  const start = (tasks.start as string)
    .replace("--allow-read=resources", "--allow-read=/srv/site")
    .replace("--allow-write=resources/uploads", "--allow-write=/srv/site/uploads");
  assert.equal(
    grantCommand({ root: "/srv/site", uploads: null }, ["--root", "/srv/site"]),
    `${start} --root /srv/site`,
  );
});

const ROWS: ReadonlyArray<{
  name: string;
  root: string;
  uploads: string | null;
  args: string[];
  want: string | null;
}> = [
  {
    name: "a relative root, uploads inside it by default",
    root: "site",
    uploads: null,
    args: ["8000", "--root", "site"],
    want: "deno run --allow-net --allow-read=site --allow-write=site/uploads " +
      "--allow-sys=statfs main.ts 8000 --root site",
  },
  {
    name: "uploads outside the root: read and written",
    root: "resources",
    uploads: "/var/lib/uploads",
    args: ["--uploads", "/var/lib/uploads"],
    want: "deno run --allow-net --allow-read=resources,/var/lib/uploads " +
      "--allow-write=/var/lib/uploads --allow-sys=statfs main.ts --uploads /var/lib/uploads",
  },
  {
    name: "uploads in a folder of the root",
    root: "/srv/site/",
    uploads: "/srv/site/data/in",
    args: ["--root", "/srv/site/", "--uploads", "/srv/site/data/in"],
    want: "deno run --allow-net --allow-read=/srv/site --allow-write=/srv/site/data/in " +
      "--allow-sys=statfs main.ts --root /srv/site/ --uploads /srv/site/data/in",
  },
  {
    name: "a name beginning like the root is not inside it",
    root: "/srv/site",
    uploads: "/srv/site-uploads",
    args: [],
    want: "deno run --allow-net --allow-read=/srv/site,/srv/site-uploads " +
      "--allow-write=/srv/site-uploads --allow-sys=statfs main.ts",
  },
  {
    name: "spaces and quotes are quoted for the shell",
    root: "/home/me/My Site",
    uploads: null,
    args: ["--root", "/home/me/My Site", "--cors", "*", "--allow-host", "it's.lan"],
    want: "deno run --allow-net '--allow-read=/home/me/My Site' " +
      "'--allow-write=/home/me/My Site/uploads' --allow-sys=statfs main.ts " +
      "--root '/home/me/My Site' --cors '*' --allow-host 'it'\\''s.lan'",
  },
  {
    name: "a comma in a folder cannot be granted by a permission list",
    root: "/srv/a,b",
    uploads: null,
    args: ["--root", "/srv/a,b"],
    want: null,
  },
];

for (const row of ROWS) {
  Deno.test(`grantCommand() for ${row.name}`, () => {
    assert.equal(grantCommand({ root: row.root, uploads: row.uploads }, row.args), row.want);
  });
}

Deno.test("grantCommand() names the script it is given", () => {
  assert.match(
    grantCommand({ root: "site", uploads: null }, [], "/opt/denohttpd/main.ts") ?? "",
    / \/opt\/denohttpd\/main\.ts$/,
  );
});

const QUOTES: ReadonlyArray<[string, string]> = [
  ["plain", "plain"],
  ["--root=/a/b.c", "--root=/a/b.c"],
  ["", "''"],
  ["a b", "'a b'"],
  ["*", "'*'"],
  ["$HOME", "'$HOME'"],
  ["a'b", "'a'\\''b'"],
  ["`x`", "'`x`'"],
  ["a;b", "'a;b'"],
];

for (const [arg, want] of QUOTES) {
  Deno.test(`shellQuote(${JSON.stringify(arg)}) is ${want}`, () => {
    assert.equal(shellQuote(arg), want);
  });
}

Deno.test("scriptName() is main.ts in the working folder, else the absolute path", () => {
  assert.equal(scriptName("file:///srv/denohttpd/main.ts", "/srv/denohttpd"), "main.ts");
  assert.equal(scriptName("file:///srv/denohttpd/main.ts", "/srv/denohttpd/"), "main.ts");
  assert.equal(scriptName("file:///srv/denohttpd/main.ts", "/home/me"), "/srv/denohttpd/main.ts");
  assert.equal(scriptName("file:///srv/my%20server/main.ts", "/tmp"), "/srv/my server/main.ts");
});
