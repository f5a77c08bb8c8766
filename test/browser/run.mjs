// Drives the browser test's page in headless Chromium (playwright-core):
// serves the bundle on http://127.0.0.1:PORT (a secure context), runs
// subscribeAndCheck and prints its result as one JSON line.
//
//   node run.mjs BUNDLE PORT URL HASH SECONDS [PROTOCOL,...]
//
// Exits 0 once the page ran (the caller judges the result), 1 when the
// browser or the page could not run.
import fs from "node:fs";
import http from "node:http";
import { openPage } from "./launch.mjs";

const [bundle, port, url, hash, seconds, protocols] = process.argv.slice(2);
if (!seconds) {
  console.error("usage: node run.mjs BUNDLE PORT URL HASH SECONDS [PROTOCOL,...]");
  process.exit(1);
}
const js = fs.readFileSync(bundle);
const server = http.createServer((req, res) => {
  if (req.url === "/page.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(js);
  } else {
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><meta charset="utf-8"><script src="/page.js"></script>');
  }
});
await new Promise((ok) => server.listen(+port, "127.0.0.1", ok));
let browser;
let code = 1;
try {
  let page;
  ({ browser, page } = await openPage());
  await page.goto(`http://127.0.0.1:${port}/`);
  const result = await page.evaluate((o) => globalThis.subscribeAndCheck(o), {
    url, hash, seconds: +seconds, namespace: "live", track: "video",
    protocols: protocols ? protocols.split(",") : undefined,
  });
  console.log(JSON.stringify(result));
  code = 0;
} catch (e) {
  console.error(`run.mjs: ${e}`);
} finally {
  await browser?.close();
  server.close();
}
process.exit(code);
