// Loads simrun's HTML view in Debian's chromium (headless, driven by
// playwright-core) and reports what the page shows, read from its DOM, as
// one JSON object on standard output; the e2e test (tests/e2e/test_html_view.py)
// asserts on it. Also hovers a slice, zooms, follows the first failed
// expectation's link, and takes a screenshot.
//   node view_test.mjs PAGE.html SCREENSHOT.png
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [page_path, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.SIMRUN_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Closed network: no background requests (they are refused, many at a time).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],  // playwright gives it a fresh profile of its own
});
const facts = { consoleErrors: [], requests: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") facts.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => facts.consoleErrors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith("file:")) facts.requests.push(r.url()); });
  const t0 = Date.now();
  await page.goto(pathToFileURL(page_path).href);
  await page.waitForSelector("body[data-ready='1']", { timeout: 120000 });
  facts.loadMs = Date.now() - t0;
  Object.assign(facts, await page.evaluate(() => {
    const canvas = document.getElementById("lane-canvas");
    const g = canvas.getContext("2d");
    const px = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) painted++;
    return {
      title: document.getElementById("title").textContent,
      lanes: [...document.querySelectorAll("#lanes .lane")].map((l) => l.textContent),
      events: Number(document.getElementById("summary").dataset.events),
      scriptMs: window.simrun.loadMs,
      painted,
      counters: [...document.querySelectorAll("#counter-labels .counter-label")].map((l) => l.textContent),
      replay: document.getElementById("replay").textContent,
      mode: document.getElementById("mode").textContent,
      outcome: document.getElementById("outcome").textContent,
      failures: [...document.querySelectorAll("#failures li a")].map((a) => ({ name: a.textContent, ts: Number(a.dataset.ts) })),
      expectations: document.querySelectorAll("#expectations tr").length - 1,
      contentionRows: document.querySelectorAll("#contention tr").length,
      deadlockShown: !document.getElementById("deadlock").hidden,
      cycleEdges: document.querySelectorAll("#deadlock .edge.cycle").length,
      cycleNodes: [...document.querySelectorAll("#deadlock .node.cycle.process")].map((n) => n.textContent),
      objects: [...document.querySelectorAll("#deadlock .node.object")].map((n) => n.textContent),
    };
  }));
  // Interaction: hover the first blocked or op slice's lane until a tooltip shows.
  const box = await page.locator("#lane-canvas").boundingBox();
  facts.tooltip = "";
  for (let y = 12; y < Math.min(box.height, 24 * 6) && !facts.tooltip; y += 24)
    for (let x = 2; x < box.width && !facts.tooltip; x += 6) {
      await page.mouse.move(box.x + x, box.y + y);
      facts.tooltip = await page.evaluate(() => { const t = document.getElementById("tooltip"); return t.style.display === "block" ? t.textContent : ""; });
    }
  const range = () => page.locator("#range").textContent();
  const before = await range();
  await page.click("#zoom-in");
  facts.zoomed = (await range()) !== before;
  if (facts.failures.length) {
    await page.click("#failures li a");
    facts.followed = await range();
  }
  await page.click("#fit");
  await page.mouse.move(0, 0);
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(facts) + "\n");
