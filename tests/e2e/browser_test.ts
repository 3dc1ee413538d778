/// <reference lib="dom" />
/**
 * The site in a real browser: headless Chromium, driven by puppeteer-core over the DevTools
 * protocol, against the real server started here on 127.0.0.1 and a free port. What a person
 * would do: open every page (no console error, no failed request, no 4xx, images and favicon
 * shown), click between pages, open a folder site with its stylesheet, script and SVG, upload
 * JSON from the upload page and open the saved file, see refusals explained, download
 * gallery.jpg by clicking its link, and upload from a page of another origin.
 *
 * Screenshots of every page stay in tests/.tmp/screenshots/ for a person to look at.
 * Chromium is /usr/bin/chromium (.ci/run installs it). Where it is missing the tests are
 * ignored, with a loud warning; under CI=true they fail instead.
 */

import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "puppeteer-core";
import { browserTest as sharedBrowserTest, STEP_MS } from "../helpers/browser.ts";
import {
  PROJECT_DIR,
  RESOURCES,
  tempDir,
  tempRoot,
  TEST_TMP,
  waitFor,
  withServer,
  withSpawnedServer,
} from "../helpers/server.ts";

const SCREENSHOTS = `${TEST_TMP}/screenshots`;
/** The pages of the site, the heading each shows, and whether it shows commands to run. */
const PAGES = [
  { path: "/index.html", name: "index", heading: "Welcome to denohttpd", commands: true },
  { path: "/about.html", name: "about", heading: "About denohttpd", commands: false },
  { path: "/contact.html", name: "contact", heading: "Contact", commands: true },
  { path: "/upload.html", name: "upload", heading: "Upload JSON", commands: true },
];
/** Every page, and `/` (the index again, under its other name). */
const VISITS = [...PAGES, { ...PAGES[0]!, path: "/", name: "root" }];
const UPLOAD_NAME = /^\/uploads\/upload_\d{8}_\d{6}_[A-Za-z0-9]{4}\.json$/;

/** A browser test that makes the screenshot folder first. */
function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  sharedBrowserTest(name, fn, () => Deno.mkdir(SCREENSHOTS, { recursive: true }));
}

/** What went wrong on a page so far: console errors, page errors, failed requests, 4xx/5xx. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console error: ${message.text()} (${message.location().url ?? "?"})`);
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${String(error)}`));
  page.on("requestfailed", (request) => {
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
  return problems;
}

async function newPage(context: BrowserContext | Browser): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  return page;
}

/** Clicks `selector` and waits for the navigation it starts; returns the new page's path. */
async function clickThrough(page: Page, selector: string): Promise<string> {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click(selector)]);
  return new URL(page.url()).pathname;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/**
 * The page fits its width, and its commands are whole: none hidden behind a scrollbar, each
 * naming the origin the page came from, none another port.
 */
async function assertReadable(page: Page, label: string, commands: boolean): Promise<void> {
  const { origin, pageWidth, viewWidth } = await page.evaluate(() => ({
    origin: location.origin,
    pageWidth: document.documentElement.scrollWidth,
    viewWidth: document.documentElement.clientWidth,
  }));
  assert.ok(pageWidth <= viewWidth, `${label}: ${pageWidth} px wide in a ${viewWidth} px view`);
  const filled = await page.$$eval(".origin", (spans) => spans.map((s) => s.textContent));
  assert.equal(filled.length > 0, commands, `${label}: ${filled.length} commands`);
  for (const text of filled) assert.equal(text, origin, `${label}: origin not filled in`);
  const blocks = await page.$$eval("pre", (pres) =>
    pres.map((pre) => ({
      text: pre.textContent ?? "",
      overflows: pre.scrollWidth > pre.clientWidth,
    })));
  for (const block of blocks) {
    const port = new URL(origin).port;
    for (const named of block.text.matchAll(/127\.0\.0\.1:(\d+)/g)) {
      assert.equal(named[1], port, `${label}: a command names port ${named[1]}`);
    }
    assert.ok(!block.overflows, `${label}: a command is cut off: ${block.text}`);
  }
}

browserTest(
  "browser: every page loads with no error or failed request, images and favicon shown",
  async (browser) => {
    await using root = await tempRoot();
    await withServer({ root: root.path }, async (server) => {
      const origin = `http://127.0.0.1:${server.port}`;
      for (const { path, name, heading, commands } of VISITS) {
        // A fresh context each time: Chromium asks for the favicon only once per profile.
        const context = await browser.createBrowserContext();
        try {
          const page = await newPage(context);
          const problems = watch(page);
          const favicon = page.waitForResponse((r) => new URL(r.url()).pathname === "/favicon.ico");
          const response = await page.goto(`${origin}${path}`, { waitUntil: "networkidle0" });
          assert.equal(response?.status(), 200, path);
          assert.equal(response?.headers()["content-type"], "text/html; charset=utf-8");
          assert.equal(await page.$eval("h1", (h) => h.textContent), heading);
          const icon = await favicon;
          assert.equal(icon.status(), 200, `${path}: favicon`);
          assert.equal(icon.headers()["content-type"], "image/x-icon");
          // Chromium asks for br (also over plain HTTP to this address) and gets it, page and
          // favicon alike; it decodes them itself (the heading above was read from the page).
          assert.equal(response?.headers()["content-encoding"], "br", `${path}: the page`);
          assert.equal(icon.headers()["content-encoding"], "br", `${path}: the favicon`);
          assert.equal(response?.headers()["vary"], "Accept-Encoding", path);

          const images = await page.$$eval("img", (imgs) =>
            imgs.map((img) => ({
              src: img.getAttribute("src"),
              alt: img.alt,
              shown: img.complete && img.naturalWidth > 0,
            })));
          assert.ok(images.some((img) => img.src === "/logo.png"), `${path}: no logo`);
          if (name === "about") assert.ok(images.some((img) => img.src === "/banner.png"));
          for (const img of images) {
            assert.ok(img.shown, `${path}: ${img.src} not shown`);
            assert.ok(img.alt.trim() !== "", `${path}: ${img.src} has no alt text`);
          }

          const nav = await page.$$eval("nav a", (as) => as.map((a) => a.getAttribute("href")));
          assert.deepEqual(nav, PAGES.map((p) => p.path), `${path}: nav`);
          await assertReadable(page, path, commands);
          await screenshot(page, name);
          // As narrow as a phone: the commands wrap instead of hiding behind a scrollbar.
          await page.setViewport({ width: 360, height: 720 });
          await assertReadable(page, `${path} at 360 px`, commands);
          if (name === "index") await screenshot(page, "index-narrow");
          assert.deepEqual(problems, [], `${path}: ${problems.join("; ")}`);
        } finally {
          await context.close();
        }
      }

      // The favicon is a real icon, not only a 200: it decodes as an image.
      const page = await newPage(browser);
      await page.goto(`${origin}/index.html`);
      const size = await page.evaluate(async () => {
        const img = new Image();
        img.src = "/favicon.ico";
        await img.decode();
        return [img.naturalWidth, img.naturalHeight];
      });
      assert.ok(size[0]! >= 16 && size[1]! >= 16, `favicon decodes as ${size}`);
    });
  },
);

browserTest("browser: clicking the links between the pages opens each page", async (browser) => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    const page = await newPage(browser);
    const problems = watch(page);
    await page.goto(`http://127.0.0.1:${server.port}/`);
    const tour = [
      "/about.html",
      "/contact.html",
      "/upload.html",
      "/index.html",
      "/contact.html",
      "/index.html",
    ];
    for (const target of tour) {
      const path = await clickThrough(page, `nav a[href="${target}"]`);
      assert.equal(path, target);
      const heading = PAGES.find((p) => p.path === target)?.heading;
      assert.equal(await page.$eval("h1", (h) => h.textContent), heading);
    }
    // The links to the upload page in the text of the home and contact pages too.
    assert.equal(await clickThrough(page, 'li a[href="/upload.html"]'), "/upload.html");
    await clickThrough(page, 'nav a[href="/contact.html"]');
    assert.equal(await clickThrough(page, 'p a[href="/upload.html"]'), "/upload.html");
    assert.deepEqual(problems, []);
  });
});

browserTest(
  "browser: a folder site renders with its stylesheet, script and SVG",
  async (browser) => {
    await using root = await tempRoot({ files: [] });
    await Deno.mkdir(`${root.path}/site`);
    await Deno.writeTextFile(
      `${root.path}/site/index.html`,
      `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Folder site</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="style.css"></head>
<body><h1>A folder site</h1><img src="logo.svg" alt="a green circle" width="64" height="64">
<p id="status">the script has not run</p><script src="app.js"></script></body>
</html>
`,
    );
    await Deno.writeTextFile(
      `${root.path}/site/style.css`,
      "body { background: rgb(250, 240, 200); }\nh1 { color: rgb(12, 34, 156); }\n",
    );
    await Deno.writeTextFile(
      `${root.path}/site/app.js`,
      'document.getElementById("status").textContent = "app.js ran";\n',
    );
    await Deno.writeTextFile(
      `${root.path}/site/logo.svg`,
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">' +
        '<circle cx="32" cy="32" r="30" fill="green"/></svg>\n',
    );
    await withServer({ root: root.path }, async (server) => {
      const page = await newPage(browser);
      const problems = watch(page);
      const types = new Map<string, string | undefined>();
      page.on("response", (r) => types.set(new URL(r.url()).pathname, r.headers()["content-type"]));
      // Without the slash: the 301 to /site/ makes the relative links resolve inside the folder.
      await page.goto(`http://127.0.0.1:${server.port}/site`, { waitUntil: "networkidle0" });
      assert.equal(new URL(page.url()).pathname, "/site/");
      const color = await page.$eval("h1", (h) => getComputedStyle(h).color);
      assert.equal(color, "rgb(12, 34, 156)");
      const background = await page.$eval("body", (b) => getComputedStyle(b).backgroundColor);
      assert.equal(background, "rgb(250, 240, 200)");
      assert.equal(await page.$eval("#status", (p) => p.textContent), "app.js ran");
      const svg = await page.$eval("img", (img) => img.complete && img.naturalWidth === 64);
      assert.ok(svg, "logo.svg not shown");
      assert.equal(types.get("/site/style.css"), "text/css; charset=utf-8");
      assert.equal(types.get("/site/app.js"), "text/javascript; charset=utf-8");
      assert.equal(types.get("/site/logo.svg"), "image/svg+xml");
      await screenshot(page, "folder-site");
      assert.deepEqual(problems, []);
    });
  },
);

/** Replaces the upload page's document as a person typing it would. */
async function typeDocument(page: Page, text: string): Promise<void> {
  await page.$eval("#doc", (doc) => (doc as HTMLTextAreaElement).value = "");
  await page.type("#doc", text);
}

/** Sets the document at once (for documents too long to type) and tells the page. */
async function setDocument(page: Page, text: string): Promise<void> {
  await page.$eval("#doc", (doc, value) => {
    (doc as HTMLTextAreaElement).value = value;
    doc.dispatchEvent(new Event("input", { bubbles: true }));
  }, text);
}

/** Clicks `button` and waits until the result box shows the server's answer. */
async function sendAndWait(page: Page, button: string): Promise<{ kind: string; text: string }> {
  await page.click(button);
  await page.waitForSelector("#result.ok, #result.bad");
  return await page.$eval("#result", (r) => ({ kind: r.className, text: r.textContent ?? "" }));
}

async function uploadsIn(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  return names.sort();
}

browserTest(
  "browser: the upload page saves typed and picked JSON, and its link opens the saved file",
  async (browser) => {
    await using root = await tempRoot();
    await withServer({ root: root.path }, async (server) => {
      const page = await newPage(browser);
      const problems = watch(page);
      await page.goto(`http://127.0.0.1:${server.port}/upload.html`);
      const typed = '{"from":"browser test","n":42,"nested":{"ok":true},"text":"café ✓"}';
      await typeDocument(page, typed);
      const check = await page.$eval("#check", (c) => ({ kind: c.className, text: c.textContent }));
      assert.equal(check.kind, "box ok");
      assert.match(check.text ?? "", /^Valid JSON: \d+ bytes/);

      const result = await sendAndWait(page, "#send");
      assert.equal(result.kind, "box ok", result.text);
      assert.match(result.text, /^201 Created:/);
      const href = await page.$eval("#saved", (a) => (a as HTMLAnchorElement).href);
      const location = new URL(href).pathname;
      assert.match(location, UPLOAD_NAME);
      await screenshot(page, "upload-201");
      const name = location.slice("/uploads/".length);
      assert.equal(await Deno.readTextFile(`${root.uploads}/${name}`), typed);

      // The link opens the saved document, as JSON.
      const [opened] = await Promise.all([page.waitForNavigation(), page.click("#saved")]);
      assert.equal(new URL(page.url()).pathname, location);
      assert.equal(opened?.status(), 200);
      assert.equal(opened?.headers()["content-type"], "application/json");
      assert.deepEqual(await opened?.json(), JSON.parse(typed));
      const shown = await page.$eval("pre", (pre) => pre.textContent ?? "");
      assert.deepEqual(JSON.parse(shown), JSON.parse(typed));
      await screenshot(page, "upload-opened");

      // A picked file fills the document and is saved byte for byte.
      await page.goBack();
      const input = await page.$("input[type=file]");
      await (input as NonNullable<typeof input>).uploadFile(`${RESOURCES}/sample.json`);
      const sample = await Deno.readTextFile(`${RESOURCES}/sample.json`);
      await page.waitForFunction(
        (text) => (document.getElementById("doc") as HTMLTextAreaElement).value === text,
        {},
        sample,
      );
      const again = await sendAndWait(page, "#send");
      assert.match(again.text, /^201 Created:/);
      const second = new URL(await page.$eval("#saved", (a) => (a as HTMLAnchorElement).href));
      assert.notEqual(second.pathname, location);
      const saved = await Deno.readFile(
        `${root.uploads}/${second.pathname.slice("/uploads/".length)}`,
      );
      assert.deepEqual(saved, await Deno.readFile(`${RESOURCES}/sample.json`));
      assert.equal((await uploadsIn(root.uploads)).length, 2);
      assert.deepEqual(problems, []);
    });
  },
);

browserTest(
  "browser: the upload page shows why a document is refused, in the browser or by the server",
  async (browser) => {
    await using root = await tempRoot();
    await withServer({ root: root.path }, async (server) => {
      const page = await newPage(browser);
      const problems = watch(page);
      const posts: string[] = [];
      page.on("request", (r) => {
        if (r.method() === "POST") posts.push(new URL(r.url()).pathname);
      });
      await page.goto(`http://127.0.0.1:${server.port}/upload.html`);

      // Not JSON: the browser says why (JSON.parse's own message) and sends nothing.
      const bad = '{"from": "you", "items": [1, 2,]}';
      await typeDocument(page, bad);
      const why = await page.evaluate((text) => {
        try {
          JSON.parse(text);
          return "";
        } catch (error) {
          return (error as Error).message;
        }
      }, bad);
      const check = await page.$eval("#check", (c) => ({ kind: c.className, text: c.textContent }));
      assert.equal(check.kind, "box bad");
      assert.ok(check.text?.startsWith(`Not valid JSON: ${why}`), check.text ?? "");
      await page.click("#send");
      assert.equal(await page.$eval("#result", (r) => (r as HTMLElement).hidden), true);
      assert.deepEqual(posts, [], "an invalid document was sent");
      await screenshot(page, "upload-invalid");

      // Sent anyway: the server's 400, explained.
      const refused = await sendAndWait(page, "#force");
      assert.equal(refused.kind, "box bad");
      assert.match(refused.text, /^400 Bad Request: The server could not read the body as JSON/);
      await screenshot(page, "upload-400");

      // Valid but over the default --max-body: the browser warns, the server answers 413.
      const big = JSON.stringify({ padding: "x".repeat(9000) });
      await setDocument(page, big);
      const warning = await page.$eval(
        "#check",
        (c) => ({ kind: c.className, text: c.textContent }),
      );
      assert.equal(warning.kind, "box warn");
      assert.match(
        warning.text ?? "",
        new RegExp(`${big.length} bytes, over the server's default`),
      );
      const tooLarge = await sendAndWait(page, "#send");
      assert.equal(tooLarge.kind, "box bad");
      assert.match(tooLarge.text, /^413 Content Too Large: The document is larger/);
      await screenshot(page, "upload-413");

      assert.deepEqual(posts, ["/upload", "/upload"]);
      assert.deepEqual(await uploadsIn(root.uploads), [], "a refused document was saved");
      // The only problems are the two refusals themselves (each a 4xx and its console line).
      const unexpected = problems.filter((p) =>
        !/^(400|413) for http:\/\/127\.0\.0\.1:\d+\/upload$/.test(p) &&
        !/^console error: Failed to load resource: .* (400|413) .*\/upload\)$/.test(p)
      );
      assert.deepEqual(unexpected, []);
      assert.equal(problems.length, 4, problems.join("; "));
    });
  },
);

browserTest("browser: clicking gallery.jpg downloads it, byte for byte", async (browser) => {
  await using root = await tempRoot();
  await using downloads = await tempDir();
  await withServer({ root: root.path }, async (server) => {
    const context = await browser.createBrowserContext({
      downloadBehavior: { policy: "allow", downloadPath: downloads.path },
    });
    try {
      const page = await newPage(context);
      await page.goto(`http://127.0.0.1:${server.port}/about.html`);
      await page.click('a[href="/gallery.jpg"]');
      const expected = await Deno.readFile(`${RESOURCES}/gallery.jpg`);
      const file = `${downloads.path}/gallery.jpg`;
      // Chromium writes to a temporary name and renames the file once it is complete.
      await waitFor(
        async () => (await Deno.stat(file).catch(() => null))?.size === expected.length,
        { what: () => `gallery.jpg in ${downloads.path}`, timeoutMs: 20_000, intervalMs: 50 },
      );
      assert.deepEqual(await Deno.readFile(file), expected);
      assert.deepEqual(await uploadsIn(downloads.path), ["gallery.jpg"]);
      // A download is not a navigation: the page stays.
      assert.equal(new URL(page.url()).pathname, "/about.html");
    } finally {
      await context.close();
    }
  });
});

/** A page that POSTs JSON to the server named in its query, then reads the saved file back. */
const CROSS_ORIGIN_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Cross-origin upload</title><link rel="icon" href="data:,"></head>
<body><h1>Cross-origin upload</h1><p id="result">sending</p>
<script>
  const server = new URLSearchParams(location.search).get("server");
  const doc = { from: location.origin, message: "across origins" };
  (async () => {
    const out = { sent: doc };
    try {
      const response = await fetch(server + "/upload", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(doc),
      });
      out.status = response.status;
      out.location = response.headers.get("Location");
      out.body = await response.json();
      out.saved = await (await fetch(new URL(out.location, server))).json();
    } catch (error) {
      out.error = error.name + ": " + error.message;
    }
    document.getElementById("result").textContent = JSON.stringify(out);
    document.body.dataset.done = "yes";
  })();
</script>
</body>
</html>
`;

interface CrossOriginResult {
  sent: unknown;
  status?: number;
  location?: string | null;
  body?: { filepath?: string };
  saved?: unknown;
  error?: string;
}

browserTest(
  "browser: a page of another origin uploads with --cors for it, and is blocked without",
  async (browser) => {
    await using pages = await tempRoot({ files: [] });
    await Deno.writeTextFile(`${pages.path}/cross.html`, CROSS_ORIGIN_PAGE);
    await withServer({ root: pages.path }, async (other) => {
      const otherOrigin = `http://127.0.0.1:${other.port}`;
      for (const allowed of [true, false]) {
        await using root = await tempRoot({ files: ["index.html"] });
        // The upload server as deno task start runs it, with the real --cors flag.
        const args = ["0", ...(allowed ? ["--cors", otherOrigin] : [])];
        const rootArg = root.path.slice(PROJECT_DIR.length + 1);
        await withSpawnedServer(args, { root: rootArg }, async (server) => {
          const page = await newPage(browser);
          try {
            const problems = watch(page);
            const uploadOrigin = `http://127.0.0.1:${server.port}`;
            await page.goto(`${otherOrigin}/cross.html?server=${encodeURIComponent(uploadOrigin)}`);
            await page.waitForSelector("body[data-done]");
            const result: CrossOriginResult = JSON.parse(
              await page.$eval("#result", (p) => p.textContent ?? ""),
            );
            await screenshot(page, allowed ? "cross-origin-allowed" : "cross-origin-blocked");
            const saved = await uploadsIn(root.uploads);
            if (allowed) {
              assert.equal(result.error, undefined, result.error);
              assert.equal(result.status, 201);
              // Location is readable across origins: the server exposes it.
              assert.match(result.location ?? "", UPLOAD_NAME);
              assert.equal(result.body?.filepath, result.location);
              assert.deepEqual(result.saved, result.sent);
              assert.deepEqual(saved, [(result.location ?? "").slice("/uploads/".length)]);
              assert.deepEqual(problems, []);
            } else {
              // The browser asked first (a preflight, refused with 405) and never sent the POST.
              assert.equal(result.status, undefined);
              assert.match(result.error ?? "", /^TypeError: Failed to fetch/);
              assert.deepEqual(saved, [], "a blocked upload was saved");
              await waitFor(() => /OPTIONS \/upload HTTP\/1\.1.*-> 405/.test(server.log()), {
                what: "the refused preflight in the upload server's log",
              });
              assert.ok(!/POST \/upload/.test(server.log()), "the POST reached the server");
              assert.ok(
                problems.some((p) => /blocked by CORS policy/.test(p)),
                `no CORS error in the console: ${problems.join("; ")}`,
              );
              assert.ok(
                problems.every((p) => /CORS|net::ERR_FAILED|\/upload/.test(p)),
                problems.join("; "),
              );
            }
          } finally {
            await page.close();
          }
        });
      }
    });
  },
);

/** A page that shows an image of the server named in its query, then fetches the same URL. */
const IMAGE_THEN_FETCH_PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Image, then fetch</title><link rel="icon" href="data:,"></head>
<body><p id="result">loading</p>
<script>
  const server = new URLSearchParams(location.search).get("server");
  const image = new Image();
  image.onload = image.onerror = async () => {
    let result;
    try {
      const response = await fetch(server + "/logo.png");
      result = { status: response.status, bytes: (await response.arrayBuffer()).byteLength };
    } catch (error) {
      result = { error: error.name + ": " + error.message };
    }
    document.getElementById("result").textContent = JSON.stringify(result);
    document.body.dataset.done = "yes";
  };
  image.src = server + "/logo.png";
</script>
</body>
</html>
`;

browserTest(
  "browser: an image cached from a --cors server does not block the page's fetch of the same URL",
  async (browser) => {
    await using pages = await tempRoot({ files: [] });
    await Deno.writeTextFile(`${pages.path}/image.html`, IMAGE_THEN_FETCH_PAGE);
    await using root = await tempRoot({ files: ["logo.png"] });
    // An old file: its Last-Modified makes the response heuristically cacheable (RFC 9111 §4.2.2).
    const old = new Date("2020-01-01T00:00:00Z");
    await Deno.utime(`${root.path}/logo.png`, old, old);
    await withServer({ root: pages.path }, async (other) => {
      const otherOrigin = `http://127.0.0.1:${other.port}`;
      await withServer({ root: root.path, corsOrigins: [otherOrigin] }, async (server) => {
        const page = await newPage(browser);
        try {
          const api = `http://127.0.0.1:${server.port}`;
          await page.goto(`${otherOrigin}/image.html?server=${encodeURIComponent(api)}`);
          await page.waitForSelector("body[data-done]");
          const result = JSON.parse(await page.$eval("#result", (p) => p.textContent ?? ""));
          const size = (await Deno.stat(`${root.path}/logo.png`)).size;
          assert.deepEqual(result, { status: 200, bytes: size });
        } finally {
          await page.close();
        }
      });
    });
  },
);
