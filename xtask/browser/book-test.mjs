// End-to-end test of the built book in headless Chromium.
//
// Usage: node book-test.mjs <book/build> <book/src/SUMMARY.md> <screenshot dir>
//
// Serves the built book on 127.0.0.1 (a port the OS picks), then checks, page by
// page of SUMMARY.md: the page loads with no console error and no failed
// request; every internal link and #anchor resolves; every image loads; code
// blocks are highlighted; every quiz renders and scores full marks when answered
// with its own answer key; the sidebar lists every chapter. Then it types
// search terms into the search box and checks the results. One screenshot per
// page goes to the screenshot folder. Exits 1 if anything failed.

import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile, mkdir, stat } from 'node:fs/promises';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const [buildDir, summaryPath, shotDir] = process.argv.slice(2);
if (!buildDir || !summaryPath || !shotDir) {
  console.error('usage: node book-test.mjs <book/build> <SUMMARY.md> <screenshot dir>');
  process.exit(2);
}
const srcDir = path.dirname(summaryPath);

// --- SUMMARY.md: the chapters, written and draft --------------------------------
const summary = readFileSync(summaryPath, 'utf8');
const entries = [...summary.matchAll(/\[([^\]]+)\]\(([^)]*)\)/g)].map((m) => ({ title: m[1], file: m[2] }));
const pages = entries.filter((e) => e.file !== '').map((e) => ({ ...e, url: '/' + e.file.replace(/\.md$/, '.html') }));

// --- a static server for the built book ----------------------------------------
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf' };
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = path.join(buildDir, decodeURIComponent(url.pathname));
  if (!file.startsWith(path.resolve(buildDir))) file = path.join(buildDir, '404.html');
  try {
    if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
if (!executablePath) {
  console.error('Chromium is not installed (apt-get install chromium)');
  process.exit(1);
}
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await mkdir(shotDir, { recursive: true });

let passed = 0;
let failed = 0;
let quizCount = 0;
function check(ok, what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`  FAIL ${what}`);
  }
}

const idsOf = new Map(); // page path -> Set of element ids
async function idsFor(context, pagePath) {
  if (!idsOf.has(pagePath)) {
    const p = await context.newPage();
    const response = await p.goto(base + pagePath);
    const ids = response && response.ok() ? new Set(await p.$$eval('[id]', (els) => els.map((e) => e.id))) : null;
    idsOf.set(pagePath, ids);
    await p.close();
  }
  return idsOf.get(pagePath);
}

const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
for (const [index, entry] of pages.entries()) {
  console.log(`page ${entry.url} (${entry.title})`);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => errors.push(`exception: ${err.message}`));
  page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()}`));
  page.on('response', (res) => { if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.url()}`); });
  const response = await page.goto(base + entry.url, { waitUntil: 'load' });
  check(response && response.ok(), `${entry.url} loads`);
  await page.waitForTimeout(200);
  check(errors.length === 0, `${entry.url} has no console error or failed request: ${errors.join('; ')}`);

  // Images.
  const images = await page.$$eval('main img', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0 })));
  for (const img of images) check(img.ok, `${entry.url}: image ${img.src} loads`);

  // Code blocks: highlight.js marks every block it handled with .hljs; Rust
  // blocks must come out with highlighted keywords.
  const code = await page.$$eval('main pre code', (blocks) => blocks.map((b) => ({ cls: b.className, hl: b.classList.contains('hljs'), spans: b.querySelectorAll('span[class^="hljs-"]').length })));
  for (const c of code) {
    check(c.hl, `${entry.url}: code block (${c.cls}) is highlighted`);
    if (/language-rust/.test(c.cls)) check(c.spans > 0, `${entry.url}: Rust block has highlighted tokens`);
  }

  // Internal links and anchors.
  const links = await page.$$eval('main a[href]', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of links) {
    if (/^[a-z]+:/.test(href) || href.startsWith('//')) continue;
    const target = new URL(href, base + entry.url);
    const ids = await idsFor(context, target.pathname);
    check(ids !== null, `${entry.url}: link ${href} resolves`);
    if (ids && target.hash) {
      check(ids.has(decodeURIComponent(target.hash.slice(1))), `${entry.url}: anchor ${href} exists`);
    }
  }

  // Quizzes (mdbook-quiz): each renders, and answering every question with the
  // answer key the page carries scores full marks, so no question is broken.
  const quizzes = await page.$$eval('.quiz-placeholder', (ps) => ps.map((p) => JSON.parse(p.dataset.quizQuestions).questions));
  for (const [q, questions] of quizzes.entries()) {
    const quiz = page.locator('.quiz-placeholder').nth(q);
    const rendered = await quiz.locator('.mdbook-quiz button.start').waitFor({ timeout: 30000 }).then(() => true, () => false);
    check(rendered, `${entry.url}: quiz ${q + 1} renders with a Start button`);
    if (!rendered) continue;
    await quiz.locator('button.start').click();
    for (const [i, question] of questions.entries()) {
      const form = quiz.locator('form.response');
      await form.waitFor({ timeout: 30000 });
      const answers = [question.answer.answer].flat();
      if (question.type === 'ShortAnswer') {
        await form.locator('input[name="answer"]').fill(answers[0]);
      } else {
        for (const a of answers) await form.locator(`input[name="answer"][value="${a.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"]`).check();
      }
      await form.locator('input[type="submit"]').click();
      if (i + 1 < questions.length) await quiz.locator(`.counter:has-text("Question ${i + 2} /")`).waitFor({ timeout: 30000 }).catch(() => {});
    }
    const score = await quiz.locator('p:has-text("You answered")').first().textContent({ timeout: 30000 }).catch(() => '');
    check(score.includes(`${questions.length}/${questions.length}`), `${entry.url}: quiz ${q + 1} scores ${questions.length}/${questions.length} with its own answer key (got "${score.trim()}")`);
    quizCount++;
  }

  // The sidebar lists every chapter of SUMMARY.md, drafts included.
  if (index === 0) {
    const sidebar = await page.$$eval('.sidebar .chapter li', (lis) => lis.map((li) => li.textContent.trim()));
    for (const e of entries) {
      check(sidebar.some((t) => t.includes(e.title)), `sidebar lists "${e.title}"`);
    }
  }

  await page.screenshot({ path: path.join(shotDir, entry.url.slice(1).replace(/\//g, '--').replace(/\.html$/, '.png')), fullPage: false });
  await page.close();
}

// --- search ---------------------------------------------------------------------
// For a term, the pages whose source mentions it most must be among the results,
// and every result must point at a page that mentions it.
// What a page says is its built <main>, listings and outputs included (a
// page's source may only include the text that mentions the term).
const mainText = (html) => (html.match(/<main>([\s\S]*)<\/main>/)?.[1] ?? '').replace(/<[^>]*>/g, ' ');
const sources = pages.map((p) => ({ ...p, text: mainText(readFileSync(path.join(buildDir, p.url), 'utf8')) }));
for (const term of ['ABA', 'Acquire']) {
  const counts = sources
    .map((s) => ({ url: s.url, n: (s.text.match(new RegExp(`\\b${term}\\b`, 'g')) ?? []).length }))
    .filter((c) => c.n > 0)
    .sort((a, b) => b.n - a.n);
  const page = await context.newPage();
  await page.goto(base + pages[0].url);
  await page.click('#mdbook-search-toggle');
  // The search box reacts to key presses, so type the term as a reader would.
  await page.type('#mdbook-searchbar', term, { delay: 20 });
  await page.waitForSelector('#mdbook-searchresults li', { timeout: 30000 }).catch(() => {});
  const results = await page.$$eval('#mdbook-searchresults li a', (as) => as.map((a) => a.getAttribute('href')));
  const resultPages = new Set(results.map((h) => new URL(h, base + pages[0].url).pathname));
  console.log(`search "${term}": ${results.length} results on ${resultPages.size} pages; mentioned on ${counts.length} pages`);
  if (counts.length === 0) {
    console.log(`  (no page mentions "${term}" yet: nothing to find)`);
  } else {
    check(results.length > 0, `search "${term}" finds something`);
    for (const c of counts.slice(0, 3)) check(resultPages.has(c.url), `search "${term}" lists ${c.url}, which mentions it ${c.n} times`);
    // mdBook's search expands the term as a prefix, case-insensitively ("ABA"
    // also finds "abandon"), so a result must hold a word that starts with it.
    const prefix = new RegExp(`\\b${term}`, 'i');
    for (const r of resultPages) check(prefix.test(sources.find((s) => s.url === r)?.text ?? ''), `search "${term}" result ${r} has a word starting with it`);
  }
  await page.screenshot({ path: path.join(shotDir, `search-${term}.png`) });
  await page.close();
}

await browser.close();
server.close();
console.log(`quizzes answered: ${quizCount}`);
check(quizCount > 0, 'the book has at least one quiz, answered in full');
console.log(`browser checks: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
