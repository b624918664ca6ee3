// Lighthouse (mobile profile: a mid-range phone, throttled CPU and network) on the box's pages,
// run in Debian's Chromium. Prints one JSON line per page: the performance and accessibility
// scores, the timings, and the audits that cost points; the Rust test judges.
// Usage: node lighthouse.mjs URL PAGE… where PAGE is HASH (signed out, e.g. #/login) or
// HASH@COOKIE (e.g. #/photos@hearth_session=…)
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const [url, ...pages] = process.argv.slice(2);
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM || "/usr/bin/chromium",
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
});
try {
  for (const page of pages) {
    const [hash, cookie] = page.split("@");
    const result = await lighthouse(new URL(`/${hash}`, url).href, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility"],
      extraHeaders: cookie ? { Cookie: cookie } : undefined,
    });
    const lhr = result.lhr;
    const score = (c) => Math.round((lhr.categories[c].score ?? 0) * 100);
    const ms = (a) => Math.round(lhr.audits[a]?.numericValue ?? -1);
    const lost = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== "informative" && a.scoreDisplayMode !== "notApplicable")
      .map((a) => `${a.id}: ${a.displayValue || a.title}`);
    console.log(JSON.stringify({
      page: hash,
      final_url: lhr.finalDisplayedUrl,
      performance: score("performance"),
      accessibility: score("accessibility"),
      fcp_ms: ms("first-contentful-paint"),
      lcp_ms: ms("largest-contentful-paint"),
      tbt_ms: ms("total-blocking-time"),
      cls: lhr.audits["cumulative-layout-shift"]?.numericValue,
      speed_index_ms: ms("speed-index"),
      lost,
      runtime_error: lhr.runtimeError?.message,
    }));
  }
} finally {
  await chrome.kill();
}
