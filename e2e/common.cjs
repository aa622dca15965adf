// What the browser tests share: Debian's Chromium launched the same way, and axe-core's WCAG
// rules run on a page as it is.
'use strict';
const { chromium } = require('playwright-core');

const CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Debian's Chromium (or $CHROME_PATH), headless. */
function launch() {
  return chromium.launch({ executablePath: process.env.CHROME_PATH || '/usr/bin/chromium', args: CHROME_FLAGS });
}

/** axe-core's WCAG 2.x A/AA rules and best practices on the page as it is now: each violation
 *  as `rule: elements`. axe is injected inline, so the page's CSP must allow it (or the context
 *  set it aside with `bypassCSP`). */
async function axe(p) {
  await p.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const result = await p.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }));
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

module.exports = { CHROME_FLAGS, launch, axe };
