/**
 * Headless Chromium for the browser tests, driven by puppeteer-core: one fresh profile per test,
 * always closed. Chromium is /usr/bin/chromium (.ci/run installs it); where it is missing the
 * tests are ignored with a loud warning, and under CI=true they fail instead.
 */

import puppeteer, { type Browser } from "puppeteer-core";
import { tempDir } from "./server.ts";

export const CHROMIUM = "/usr/bin/chromium";
/**
 * As this machine needs them: no sandbox as root, and no traffic to anywhere but the tests
 * (`headless: true` below adds `--headless`).
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The bound on every browser step (a navigation, a wait for an element or a response). */
export const STEP_MS = 10_000;

const chromiumMissing = await Deno.stat(CHROMIUM).then(() => false, () => true);
const inCI = Deno.env.get("CI") === "true";
if (chromiumMissing && !inCI) {
  console.warn(
    `\n!!! ${CHROMIUM} not found: the browser tests are IGNORED.\n` +
      `!!! Install Chromium (apt-get install -y chromium) to run them; under CI=true they fail.\n`,
  );
}

/**
 * A test with its own Chromium (fresh profile), always closed; ignored or failing as above.
 * `before` runs first (e.g. making the screenshot folder).
 */
export function browserTest(
  name: string,
  fn: (browser: Browser) => Promise<void>,
  before?: () => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: chromiumMissing && !inCI,
    async fn() {
      if (chromiumMissing) throw new Error(`${CHROMIUM} not found; .ci/run installs Chromium`);
      await before?.();
      await using profile = await tempDir();
      const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        userDataDir: profile.path,
        // Chromium gets no variable of the test's environment (nor needs the permission to read
        // it), and a home of its own.
        env: { PATH: "/usr/bin:/bin", HOME: profile.path },
        timeout: 30_000,
        protocolTimeout: 30_000,
      });
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}
