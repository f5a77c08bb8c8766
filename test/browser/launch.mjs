// What the browser tests' drivers share: Debian's Chromium, headless,
// driven by playwright-core, with the page's console on stderr.
import { chromium } from "playwright-core";

// Launches the browser and opens a page; returns { browser, page }.
export async function openPage(viewport) {
  // As root Chromium runs only without its sandbox; QUIC needs no flag.
  const browser = await chromium.launch({
    executablePath: process.env.FR_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
    timeout: 60000,
  });
  const page = await browser.newPage(viewport ? { viewport } : {});
  page.on("console", (m) => console.error(`page ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  return { browser, page };
}
