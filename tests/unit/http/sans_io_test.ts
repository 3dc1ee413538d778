/**
 * The protocol core under src/http/ is sans-I/O (STYLE.md): no file there uses the `Deno`
 * namespace. Comments may name it (parser.ts states the invariant); code may not.
 */

import assert from "node:assert/strict";

const HTTP_DIR = new URL("../../../src/http/", import.meta.url);

/** The code of a TypeScript source with its comments blanked out (strings are kept). */
function withoutComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const close = source.indexOf("*/", i + 2);
      i = close < 0 ? source.length : close + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      // Copy the literal whole, so that "//" inside it is not taken for a comment.
      let j = i + 1;
      while (j < source.length && source[j] !== c && (c === "`" || source[j] !== "\n")) {
        j += source[j] === "\\" ? 2 : 1;
      }
      out += source.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Lines of `source` whose code refers to the Deno namespace (`Deno.x`, `Deno[...]`, `Deno?.`). */
function denoUses(source: string): string[] {
  return withoutComments(source).split("\n").filter((line) => /\bDeno\b/.test(line));
}

async function sourceFiles(dir: URL): Promise<URL[]> {
  const files: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.isDirectory ? `${entry.name}/` : entry.name, dir);
    if (entry.isDirectory) files.push(...await sourceFiles(url));
    else if (/\.[cm]?[jt]sx?$/.test(entry.name)) files.push(url);
  }
  return files;
}

Deno.test("denoUses() finds the Deno namespace in code and ignores it in comments", () => {
  assert.deepEqual(denoUses("const f = await Deno.open(path);"), [
    "const f = await Deno.open(path);",
  ]);
  assert.deepEqual(denoUses('const env = globalThis["Deno"]?.env;'), [
    'const env = globalThis["Deno"]?.env;',
  ]);
  assert.equal(denoUses("const url = 'http://x'; Deno.exit(1);").length, 1);
  assert.deepEqual(denoUses("/**\n * Nothing here touches `Deno.*`.\n */\nconst a = 1;"), []);
  assert.deepEqual(denoUses("const a = 1; // not Deno.readFile\n/* Deno. */"), []);
});

Deno.test("src/http/ is sans-I/O: no file uses the Deno namespace", async () => {
  const files = await sourceFiles(HTTP_DIR);
  const names = files.map((url) => url.pathname.slice(HTTP_DIR.pathname.length));
  assert.ok(names.includes("parser.ts"), `parser.ts not found among ${names.join(", ")}`);
  const offenders: string[] = [];
  for (const file of files) {
    for (const line of denoUses(await Deno.readTextFile(file))) {
      offenders.push(`${file.pathname.slice(HTTP_DIR.pathname.length)}: ${line.trim()}`);
    }
  }
  assert.deepEqual(offenders, []);
});
