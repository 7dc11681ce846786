// The dashboard in a real browser: Debian's chromium driven by playwright-core, with axe-core
// run on every page. Started by tests/cli/web.rs (`the_dashboard_in_a_real_browser`), which
// passes the server's URL, two logins, chromium's path and where screenshots go; NODE_PATH
// points at the test tools' node_modules (scripts/lib/test-tools.sh). Exits non-zero with the
// reasons on any failed expectation.

'use strict';

const path = require('path');
const { chromium } = require('playwright-core');
const axePath = require.resolve('axe-core/axe.min.js');

const base = process.env.DBWARD_URL;
const shots = process.env.DBWARD_SCREENSHOTS;
const [operator, operatorPassword] = process.env.DBWARD_OPERATOR.split(/:(.*)/s);
const [viewer, viewerPassword] = process.env.DBWARD_VIEWER.split(/:(.*)/s);
const failures = [];

function expect(ok, what) {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
}

// Serious or critical accessibility violations of the page, as lines.
async function axe(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    failures.push(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }
  console.log(`${bad.length ? 'FAIL' : 'ok  '} axe on ${name}: ${bad.length} serious or critical violations`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await axe(page, name);
}

async function login(page, name, password) {
  await page.goto(`${base}/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.DBWARD_CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    // axe is injected as a script, which the pages' Content-Security-Policy forbids.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();

    await page.goto(`${base}/`);
    expect(page.url().endsWith('/login'), 'a stranger is sent to the login page');
    await shot(page, 'login');
    await page.fill('#name', operator);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect((await page.textContent('[role=alert]')).includes('Wrong name or password'), 'a wrong password is told');

    await login(page, operator, operatorPassword);
    expect(new URL(page.url()).pathname === '/', 'the operator lands on the overview');
    const row = page.locator('tr', { has: page.locator('a', { hasText: 'crm/crm' }) });
    expect((await row.getAttribute('class')) === 'row-critical', 'crm/crm is a critical row');
    const label = row.locator('.state');
    const colour = await label.evaluate((el) => getComputedStyle(el).color);
    const critical = await page.evaluate(() => {
      const probe = document.createElement('span');
      probe.style.color = 'var(--crit)';
      document.body.appendChild(probe);
      const c = getComputedStyle(probe).color;
      probe.remove();
      return c;
    });
    expect(colour === critical, `crm/crm's state is in the critical colour (${colour} = ${critical})`);
    expect((await label.textContent()).trim() === 'CRITICAL', 'its state reads CRITICAL');
    expect((await row.textContent()).includes('failed'), 'its problem says the backup failed');
    // crm is also in the schedule "strict" with rpo = "1s": its last good backup is past it.
    const crmRpo = row.locator('td.rpo');
    expect((await crmRpo.getAttribute('class')).split(' ').includes('over'), 'crm/crm\'s age cell is marked over');
    expect((await crmRpo.textContent()).includes('of 1s') && (await crmRpo.textContent()).includes('past RPO'),
      `crm/crm says its age is past the RPO of 1s (${(await crmRpo.textContent()).trim()})`);
    const shopRow = page.locator('tr', { has: page.locator('a', { hasText: 'shop/shop' }) });
    const shopRpo = shopRow.locator('td.rpo');
    expect(!(await shopRpo.textContent()).includes('past RPO') && (await shopRpo.textContent()).includes('no rpo set'),
      'shop/shop has no rpo and is not past one');
    expect((await shopRow.locator('td.copies').textContent()).includes('1 on-host, 0 off-host'),
      'shop/shop\'s copies: one on this host, none off it');
    expect((await shopRow.locator('td.copies').textContent()).includes('not encrypted'), 'and they are not encrypted');
    expect((await page.textContent('thead')).includes('Restore vs RTO'), 'the overview has the RTO column');
    await shot(page, 'overview');

    await page.goto(`${base}/?state=critical`);
    expect((await page.locator('tbody tr').count()) >= 1 && !(await page.textContent('tbody')).includes('shop/shop'),
      'the state filter shows only critical rows');

    await page.goto(`${base}/`);
    await page.selectOption('#agent', { index: 1 });
    await Promise.all([page.waitForNavigation(), page.click('button:text("Filter")')]);
    expect(new URL(page.url()).searchParams.get('agent') !== '' && (await page.locator('tbody tr').count()) >= 2,
      'the agent filter keeps the databases that agent backed up');
    await page.goto(`${base}/?agent=no-such-agent`);
    expect((await page.locator('tbody tr').count()) === 0, 'an agent that backed nothing up shows no row');

    // Auto-refresh: a drill clicked in another tab appears on the overview without a reload.
    await page.goto(`${base}/`);
    const shopDrill = page.locator('tr', { has: page.locator('a', { hasText: 'shop/shop' }) }).locator('td.drill');
    expect((await shopDrill.textContent()).trim() === 'never', 'shop/shop was never drilled');
    await page.evaluate(() => { window.dbwardMarker = 'the same page'; });
    const tab = await context.newPage();
    await tab.goto(`${base}/db/shop/shop`);
    await Promise.all([tab.waitForNavigation(), tab.click('text=Drill now')]);
    expect(tab.url().includes('started=drill'), 'Drill now says it started');
    await tab.close();
    let drilled = false;
    for (let i = 0; i < 120 && !drilled; i++) {
      await page.waitForTimeout(500);
      drilled = (await shopDrill.textContent()).trim() !== 'never';
    }
    expect(drilled, 'the overview refreshed itself to show the drill');
    expect((await page.evaluate(() => window.dbwardMarker)) === 'the same page', 'without reloading the page');
    expect((await page.textContent('[role=status]')).startsWith('Refreshed at'), 'and says when it refreshed');

    await page.goto(`${base}/problems`);
    expect((await page.textContent('tbody')).includes('crm/crm'), 'the problems page lists crm/crm');
    await shot(page, 'problems');
    await page.goto(`${base}/destinations`);
    expect((await page.textContent('tbody')).includes('local'), 'the destinations page lists local');
    await shot(page, 'destinations');

    await page.goto(`${base}/db/crm/crm`);
    const points = await page.locator('svg.chart[aria-label^="Stored size"] circle.point').count();
    expect((await page.locator('svg.chart').count()) === 4, 'four charts: dump size, stored size, duration, row count');
    const rows = await page.locator('#backups tbody tr').count();
    expect(points === rows && rows === 2, `the chart has one point per backup (${points} points, ${rows} backups)`);
    const rowChart = page.locator('svg.chart[aria-label^="Row count"]');
    const rowPoints = await rowChart.locator('circle.point').count();
    expect(rowPoints === rows, `the row-count chart has one point per backup (${rowPoints} points, ${rows} backups)`);
    expect((await rowChart.locator('circle.point.failed').count()) === 1, 'the failed backup is marked on the row-count chart');
    expect((await rowChart.getAttribute('aria-label')).includes('up to 2 rows'), 'the good backup counted its 2 rows');
    expect((await page.textContent('pre code')).includes('dbward restore --latest --source crm --database crm'),
      'the restore command is ready to copy');
    await shot(page, 'database');

    await page.goto(`${base}/db/shop/shop`);
    const before = await page.locator('#backups tbody tr').count();
    const refused = await page.evaluate(async () => {
      const r = await fetch('/db/shop/shop/backup', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'csrf=',
      });
      return r.status;
    });
    expect(refused === 403, `a POST without the CSRF token is refused (${refused})`);
    await Promise.all([page.waitForNavigation(), page.click('text=Back up now')]);
    expect(page.url().includes('started=backup'), 'Back up now says it started');
    let after = before;
    for (let i = 0; i < 120 && after <= before; i++) {
      await page.waitForTimeout(500);
      await page.reload();
      after = await page.locator('#backups tbody tr').count();
    }
    expect(after === before + 1, `the new backup appears (${before} → ${after})`);
    expect((await page.textContent('#backups tbody tr:first-child')).includes('succeeded'), 'and it succeeded');

    await page.click('#backups tbody tr:first-child a');
    expect((await page.textContent('h1')).startsWith('Backup '), 'the backup page opens');
    expect((await page.textContent('body')).includes('Tables'), 'it lists the tables');
    await shot(page, 'backup');
    await page.goto(`${base}/fleet`);
    await shot(page, 'fleet');
    await page.goto(`${base}/audit`);
    expect((await page.textContent('tbody')).includes(`${operator} (user)`), 'the audit log shows who backed up');
    await shot(page, 'audit');

    await Promise.all([page.waitForNavigation(), page.click('text=Log out')]);
    expect(page.url().endsWith('/login'), 'logout returns to the login page');
    await page.goto(`${base}/`);
    expect(page.url().endsWith('/login'), 'after logout the overview needs a login again');

    await login(page, viewer, viewerPassword);
    await page.goto(`${base}/db/shop/shop`);
    expect((await page.locator('text=Back up now').count()) === 0, 'a viewer sees no Back up now button');
    const viewerStatus = await page.evaluate(async () => {
      const csrf = document.querySelector('input[name=csrf]').value;
      const r = await fetch('/api/v1/backups', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify({ source: 'shop', database: 'shop' }),
      });
      return r.status;
    });
    expect(viewerStatus === 403, `the API refuses a viewer (${viewerStatus})`);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored === '{}{}', `nothing in the browser's storage or script-readable cookies (${stored})`);
  } finally {
    await browser.close();
  }
  if (failures.length) {
    console.error(`\n${failures.length} failure(s):\n${failures.join('\n')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
