// Drives the watch page (examples/web, served by serve.py) in headless
// Chromium (playwright-core): opens it, takes a screenshot once SHOT_AT
// frames were drawn, waits until the page's session ended or SECONDS
// passed, and prints one JSON line: the page's watchStats and what the
// canvas shows (size, luma mean and standard deviation over its pixels).
//
//   node watch.mjs PAGE_URL SECONDS SHOT_AT SCREENSHOT.png
//
// Exits 0 once the page ran (the caller judges the result), 1 when the
// browser or the page could not run.
import { openPage } from "./launch.mjs";

const [pageUrl, seconds, shotAt, shot] = process.argv.slice(2);
if (!shot) {
  console.error("usage: node watch.mjs PAGE_URL SECONDS SHOT_AT SCREENSHOT.png");
  process.exit(1);
}
let browser;
let code = 1;
try {
  let page;
  ({ browser, page } = await openPage({ width: 1280, height: 600 }));
  await page.goto(pageUrl);
  const deadline = Date.now() + +seconds * 1000;
  let shotTaken = false;
  for (;;) {
    const s = await page.evaluate(() => globalThis.watchStats);
    if (!shotTaken && s && s.framesDrawn >= +shotAt) {
      await page.waitForTimeout(300); // let the stats table catch up
      await page.screenshot({ path: shot });
      shotTaken = true;
    }
    if (Date.now() > deadline || (s && /^(ended|failed)/.test(s.state))) break;
    await page.waitForTimeout(200);
  }
  const result = await page.evaluate(() => {
    const c = document.getElementById("video");
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sq = 0;
    const n = px.length / 4;
    for (let i = 0; i < px.length; i += 4) {
      const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      sum += y;
      sq += y * y;
    }
    const mean = sum / n;
    return { stats: globalThis.watchStats,
             canvas: { width: c.width, height: c.height, mean, stddev: Math.sqrt(sq / n - mean * mean) } };
  });
  result.screenshot = shotTaken ? shot : null;
  console.log(JSON.stringify(result));
  code = 0;
} catch (e) {
  console.error(`watch.mjs: ${e}`);
} finally {
  await browser?.close();
}
process.exit(code);
