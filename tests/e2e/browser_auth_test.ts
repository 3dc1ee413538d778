/// <reference lib="dom" />
/**
 * The upload page in a real browser when the server asks for credentials: headless Chromium
 * (puppeteer-core) against the real server with users. The page's `fetch` gets the `401` and
 * its `WWW-Authenticate`; the browser answers the challenge with the credentials it is given
 * (puppeteer's `page.authenticate` stands in for the person typing into the browser's prompt),
 * and the page shows the server's answer either way. With `--auth-scope all` the pages
 * themselves need the credentials.
 *
 * Chromium is /usr/bin/chromium (.ci/run installs it); missing, these tests are ignored with a
 * warning, and under CI=true they fail.
 */

import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import type { Browser, Page } from "puppeteer-core";
import { browserTest, STEP_MS } from "../helpers/browser.ts";
import type { ServerConfig } from "../../src/config.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const USERS: Partial<ServerConfig> = {
  authUsers: [{ user: "alice", hash: bcrypt.hashSync("s3cret", 4) }],
  authFailuresPerMinute: 0,
};

/**
 * A page whose browser answers a challenge with `credentials`, or, with null, as a person
 * pressing Cancel in the prompt (headless Chromium has no prompt: unanswered, a challenged
 * fetch would wait for good).
 */
async function newPage(
  browser: Browser,
  credentials: { username: string; password: string } | null,
): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  if (credentials !== null) {
    await page.authenticate(credentials);
  } else {
    const cdp = await page.createCDPSession();
    cdp.on("Fetch.requestPaused", (event) => {
      cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
    });
    cdp.on("Fetch.authRequired", (event) => {
      cdp.send("Fetch.continueWithAuth", {
        requestId: event.requestId,
        authChallengeResponse: { response: "CancelAuth" },
      }).catch(() => {});
    });
    await cdp.send("Fetch.enable", { handleAuthRequests: true, patterns: [{ urlPattern: "*" }] });
  }
  return page;
}

/** Types `text` as the document, sends it, and returns what the result box then shows. */
async function send(page: Page, text: string): Promise<{ kind: string; text: string }> {
  await page.$eval("#doc", (doc, value) => {
    (doc as HTMLTextAreaElement).value = value;
    doc.dispatchEvent(new Event("input", { bubbles: true }));
  }, text);
  await page.$eval("#result", (r) => (r as HTMLElement).className = "");
  await page.click("#send");
  await page.waitForSelector("#result.ok, #result.bad");
  return await page.$eval("#result", (r) => ({ kind: r.className, text: r.textContent ?? "" }));
}

async function uploadsIn(folder: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  return names.sort();
}

browserTest(
  "browser: the upload page with credentials asked for: refused without, saved with the browser's answer to the challenge",
  async (browser) => {
    await using root = await tempRoot();
    await withServer({ root: root.path, ...USERS }, async (server) => {
      const url = `http://127.0.0.1:${server.port}/upload.html`;
      // The page itself is public (scope upload). No credentials (Cancel in the prompt): the
      // server's 401, with its challenge, is shown; nothing saved.
      const cancelled = await newPage(browser, null);
      const challenges: (string | undefined)[] = [];
      cancelled.on("response", (response) => {
        if (response.status() === 401) challenges.push(response.headers()["www-authenticate"]);
      });
      assert.equal((await cancelled.goto(url))?.status(), 200);
      const refused = await send(cancelled, '{"who":"nobody"}');
      assert.equal(refused.kind, "box bad", refused.text);
      assert.match(refused.text, /^401 /);
      assert.deepEqual(challenges, ['Basic realm="denohttpd", charset="UTF-8"']);
      assert.deepEqual(await uploadsIn(root.uploads), []);

      // A wrong password: the browser answers the challenge, is refused again, and gives up.
      const wrong = await newPage(browser, { username: "alice", password: "wrong" });
      await wrong.goto(url);
      const again = await send(wrong, '{"who":"mallory"}');
      assert.match(again.text, /^401 /, again.text);
      assert.deepEqual(await uploadsIn(root.uploads), []);

      // The right password: the request, answered with credentials, is saved.
      const right = await newPage(browser, { username: "alice", password: "s3cret" });
      await right.goto(url);
      const saved = await send(right, '{"who":"alice"}');
      assert.equal(saved.kind, "box ok", saved.text);
      assert.match(saved.text, /^201 Created:/);
      const names = await uploadsIn(root.uploads);
      assert.equal(names.length, 1);
      assert.equal(await Deno.readTextFile(`${root.uploads}/${names[0]}`), '{"who":"alice"}');
    });
  },
);

browserTest(
  "browser: with --auth-scope all the pages need the credentials too, and then work",
  async (browser) => {
    await using root = await tempRoot();
    await withServer({ root: root.path, ...USERS, authScope: "all" }, async (server) => {
      const cancelled = await newPage(browser, null);
      const denied = await cancelled.goto(`http://127.0.0.1:${server.port}/upload.html`);
      assert.equal(denied?.status(), 401);
      assert.equal(await cancelled.$eval("body", (b) => b.textContent?.trim()), "401 Unauthorized");
      const page = await newPage(browser, { username: "alice", password: "s3cret" });
      const shown = await page.goto(`http://127.0.0.1:${server.port}/upload.html`);
      assert.equal(shown?.status(), 200);
      assert.equal(await page.$eval("h1", (h) => h.textContent), "Upload JSON");
      const saved = await send(page, '{"scope":"all"}');
      assert.match(saved.text, /^201 Created:/, saved.text);
      // The saved file opens too (it is under the scope as well).
      const href = await page.$eval("#saved", (a) => (a as HTMLAnchorElement).href);
      const opened = await page.goto(href);
      assert.equal(opened?.status(), 200);
      assert.deepEqual(await opened?.json(), { scope: "all" });
    });
  },
);
