// Browser test of an example SP app: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core. Usage: node login.mjs <base-url> <mode> <screenshot.png>
//   mode sp-initiated : sign in from the app through the test IdP, land on / with the name
//   mode idp-allowed  : IdP-initiated login succeeds (server started with SAML_ALLOW_IDP_INITIATED=1)
//   mode idp-refused  : IdP-initiated login is refused with unsolicited_response
//   mode replay       : the same SAMLResponse POSTed twice: the second is refused as a replay
//   mode operations   : a login, a refused re-post and a logout counted at /metrics with their
//                       labels, /ops/health healthy, no user in the metrics or the app's log
//   mode slo-sp       : sign in through the test IdP, then "Sign out" ends the session at the IdP
//                      too (LogoutRequest to the IdP, signed LogoutResponse back) and lands on /
//   mode slo-idp      : sign in, then the test IdP signs the user out everywhere (IdP-initiated
//                      LogoutRequest to the app): the app answers Success and is signed out
//   mode slo-third-party : sign in through samlify, then "Sign out" goes through samlify's SLO
//   mode big-response : a ~300 KB Response (5,500 groups) through the test IdP is accepted
//   mode login-csrf   : an attacker page on another site posts the attacker's own Response to the
//                      ACS of a signed-in and of an anonymous victim: both stay who they were
//   mode logout-csrf  : an attacker page on another site posts to /saml/logout: still signed in
//   mode idp-xss      : an attacker page posts a javascript: ACS URL to the test IdP: no script runs
//   mode simplesamlphp : against a real SimpleSAMLphp IdP ($IDP_BASE): sign in as ada, "Sign out"
//                      (SP-initiated SLO, LogoutResponse back by HTTP-POST), sign in again, then
//                      SimpleSAMLphp's own logout (IdP-initiated); the logout messages come by
//                      $SLO_BINDING (post or redirect); ENCRYPTED=1: the Response was encrypted
//   mode simplesamlphp-login : only the sign-in of the mode above (ARTIFACT=1: by artifact)
//   mode profiles     : an organization administrator goes from no SSO profile to SSO enforced
//                      with samlify as the customer's IdP (started here with the profile's SP
//                      metadata), verifying the domain against a DNS server run here on
//                      $DNS_PORT; then password login for the domain is refused and its user is
//                      sent to SSO; a second organization sees only its own profile
//   mode slo-two-apps : sign in to this app and to a second one ($SECOND_APP, trusting this app's
//                      test IdP); "Sign out" here ends the session in the second app too
// sp-initiated types a work email into the home page's field (routed to the configured IdP even
// though it claims no domain); replay leaves it empty. Both require the demo-mode warning.
import http from 'node:http';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const [base, mode, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const fail = async (msg) => { console.error(`FAIL ${mode}: ${msg}`); await browser.close(); process.exit(1); };
try {
  const page = await browser.newPage();
  if (mode === 'sp-initiated' || mode === 'replay') {
    await page.goto(`${base}/`);
    if (!(await page.isVisible('#demo-warning'))) await fail('no demo-mode warning while the test IdP is trusted');
    await page.fill('#email', mode === 'sp-initiated' ? 'grace@example.com' : '');
    let acsPost = null;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/saml/acs')) acsPost = r.postData(); });
    await page.click('#sign-in');
    await page.waitForSelector('#first_name');
    await page.fill('#email', 'grace@example.com');
    await page.fill('#first_name', 'Grace');
    await page.fill('#last_name', 'Hopper');
    await page.fill('#groups', 'navy, compilers');
    await page.click('#sign-in');
    await page.waitForSelector('#who', { timeout: 15000 });
    const who = await page.textContent('#who');
    const name = await page.textContent('#name');
    const groups = await page.textContent('#groups');
    if (!who.includes('grace@example.com') || name.trim() !== 'Grace Hopper' || !groups.includes('navy, compilers')) {
      await fail(`unexpected page: ${who} / ${name} / ${groups}`);
    }
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    if (mode === 'replay') {
      if (!acsPost) await fail('did not see the ACS POST');
      const resp = await page.request.post(`${base}/saml/acs`, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' }, data: acsPost, maxRedirects: 0,
      });
      const body = await resp.text();
      if (resp.status() !== 403 || !/id="code">replayed_assertion</.test(body)) {
        await fail(`replayed POST not refused: ${resp.status()} ${body.slice(0, 200)}`);
      }
    }
  } else if (mode === 'operations') {
    // A fresh app: one login, the same Response posted again (refused), a Single Logout, then
    // the operator endpoints count each with the right labels, and the log names no user.
    let acsPost = null;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/saml/acs')) acsPost = r.postData(); });
    await page.goto(`${base}/`);
    await page.click('#sign-in');
    await page.waitForSelector('#first_name');
    await page.fill('#email', 'ops-user@example.com');
    await page.click('#sign-in');
    await page.waitForSelector('#who', { timeout: 15000 });
    const again = await page.request.post(`${base}/saml/acs`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, data: acsPost, maxRedirects: 0,
    });
    if (again.status() !== 403) await fail(`replay answered ${again.status()}`);
    await page.click('#logout');
    await page.waitForSelector('#sign-in', { timeout: 15000 });
    const text = await (await page.request.get(`${base}/metrics`)).text();
    // Prometheus text format: name{labels} value. Each expected series, labels in any order.
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
      const m = l.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
      if (!m) return null;
      const labels = Object.fromEntries([...(m[2] || '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return { name: m[1], labels, value: Number(m[3]) };
    }).filter(Boolean);
    const value = (name, want) => series.filter((x) => x.name === name
      && Object.entries(want).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
    const expect = (name, want, n) => {
      const got = value(name, want);
      if (got !== n) throw new Error(`${name} ${JSON.stringify(want)}: ${got}, expected ${n}\n${text}`);
    };
    expect('saml_sp_logins_total', { tenant: 'default', outcome: 'success', code: '' }, 1);
    expect('saml_sp_logins_total', { tenant: 'default', outcome: 'failure', code: 'replayed_assertion' }, 1);
    expect('saml_sp_logouts_total', { tenant: 'default', action: 'logout_started', outcome: 'success' }, 1);
    expect('saml_sp_logouts_total', { tenant: 'default', action: 'logout_finished', outcome: 'success' }, 1);
    for (const step of ['decode', 'parse', 'verify', 'store', 'provision', 'total']) {
      if (value('saml_sp_acs_step_seconds_count', { step }) < 1) await fail(`no ${step} timing\n${text}`);
    }
    if (/ops-user|example\.com/.test(text)) await fail('a metric names a user');
    // The certificate gauge is there at the first scrape.
    if (!/saml_sp_idp_certificate_expiry_days\{tenant="default"\} \d/.test(text)) await fail(`no certificate gauge at the first scrape\n${text}`);
    const health = await page.request.get(`${base}/ops/health`);
    const h = await health.json();
    if (health.status() !== 200 || !h.healthy) await fail(`health ${health.status()} ${JSON.stringify(h)}`);
    const t = h.tenants.find((x) => x.tenant === 'default');
    if (!t || t.state !== 'enabled' || t.certificates !== 'ok' || !(t.certificate_days_left > 0)) await fail(`tenant health ${JSON.stringify(h)}`);
    if (!h.stores.every((x) => x.reachable)) await fail(`stores ${JSON.stringify(h.stores)}`);
    const gauges = await (await page.request.get(`${base}/metrics`)).text();
    if (!/saml_sp_idp_certificate_expiry_days\{tenant="default"\} \d/.test(gauges)) await fail(`no certificate gauge\n${gauges}`);
    if (process.env.APP_LOG) {
      const log = fs.readFileSync(process.env.APP_LOG, 'utf8');
      if (log.includes('ops-user')) await fail(`the app's log names the user:\n${log.split('\n').filter((l) => l.includes('ops-user')).join('\n')}`);
    }
  } else if (mode === 'minimal') {
    // examples/minimal_axum.rs through samlify: the home page shows the signed-in email.
    await page.goto(`${base}/`);
    await page.click('#sign-in');
    await page.waitForSelector('#who', { timeout: 15000 });
    if ((await page.textContent('#who')).trim() !== 'grace@samlify.example') await fail('not signed in');
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  } else if (mode === 'slo-sp' || mode === 'slo-idp' || mode === 'slo-third-party') {
    const seen = [];
    page.on('request', (r) => seen.push(r.url()));
    await page.goto(`${base}/`);
    await page.click('#sign-in');
    if (mode !== 'slo-third-party') {
      await page.waitForSelector('#first_name');
      await page.click('#sign-in');
    }
    await page.waitForSelector('#who', { timeout: 15000 });
    const email = (await page.textContent('#who')).replace('Signed in as ', '').trim();
    if (mode === 'slo-idp') {
      await page.goto(`${base}/test-idp/logout`);
      await page.fill('#logout-email', email);
      await page.click('#idp-logout');
      await page.waitForSelector('#idp-signed-out', { timeout: 15000 });
      const status = (await page.textContent('#idp-logout-status')).trim();
      if (status !== 'Success') await fail(`the app answered ${status}`);
      if (!seen.some((u) => u.includes('/saml/slo?SAMLRequest='))) await fail('no LogoutRequest reached the app');
      if (!seen.some((u) => u.includes('/test-idp/slo?SAMLResponse='))) await fail('no LogoutResponse reached the IdP');
    } else {
      await page.click('#logout');
      await page.waitForSelector('#sign-in', { timeout: 15000 });
      const idpSlo = mode === 'slo-sp' ? '/test-idp/slo?SAMLRequest=' : '/slo?SAMLRequest=';
      if (!seen.some((u) => u.includes(idpSlo))) await fail('the logout did not go through the IdP');
      if (!seen.some((u) => u.includes('/saml/slo?SAMLResponse='))) await fail('no LogoutResponse came back');
    }
    // Signed out: the next request shows the sign-in form.
    await page.goto(`${base}/`);
    if (await page.isVisible('#who')) await fail('still signed in after logout');
    if (!(await page.isVisible('#sign-in'))) await fail('no sign-in form after logout');
  } else if (mode === 'simplesamlphp' || mode === 'simplesamlphp-login') {
    const idp = process.env.IDP_BASE;
    if (!idp) await fail('IDP_BASE is not set');
    const post = process.env.SLO_BINDING === 'post';
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push([r.url(), r.postData() || '']); });
    const seen = [];
    page.on('request', (r) => seen.push(r.url()));
    // A logout message reached the app's SLO endpoint by the expected binding.
    const arrived = (param) => (post
      ? posts.some(([u, b]) => u === `${base}/saml/slo` && b.includes(`${param}=`))
      : seen.some((u) => u.startsWith(`${base}/saml/slo?${param}=`)));
    const signIn = async () => {
      await page.goto(`${base}/`);
      await page.click('#sign-in');
      await page.waitForSelector('input[name=username]', { timeout: 15000 });
      await page.fill('input[name=username]', 'ada');
      await page.fill('input[name=password]', 'secret');
      await page.press('input[name=password]', 'Enter');
      await page.waitForSelector('#who, #code', { timeout: 15000 });
      if (await page.isVisible('#code')) await fail(`refused: ${await page.textContent('#code')}`);
      const who = await page.textContent('#who');
      if (!who.includes('ada@example.com')) await fail(`signed in as ${who}`);
      const name = (await page.textContent('#name')).trim();
      if (name !== 'Ada Lovelace') await fail(`name ${name}`);
      if (process.env.ARTIFACT === '1') {
        // The Response never passed through the browser: an artifact came back by redirect.
        if (!seen.some((u) => u.startsWith(`${base}/saml/acs?SAMLart=`))) await fail('no artifact reached the ACS');
        if (posts.some(([u]) => u === `${base}/saml/acs`)) await fail('a Response was posted through the browser');
        // The same artifact again (a replayed redirect): refused, and no session comes of it.
        const again = seen.find((u) => u.startsWith(`${base}/saml/acs?SAMLart=`));
        const ctx = await browser.newContext();
        const replay = await ctx.request.get(again, { maxRedirects: 0 });
        const body = await replay.text();
        if (replay.status() !== 400 && replay.status() !== 403) await fail(`replayed artifact answered ${replay.status()}`);
        if (!/id="code">binding</.test(body)) await fail(`replayed artifact: ${body.slice(0, 300)}`);
        await ctx.close();
      }
      if (process.env.ENCRYPTED === '1') {
        const acs = posts.filter(([u]) => u === `${base}/saml/acs`).pop();
        const xml = Buffer.from(new URLSearchParams(acs[1]).get('SAMLResponse'), 'base64').toString();
        if (!xml.includes('EncryptedAssertion') || xml.includes('ada@example.com')) await fail('the Response was not encrypted');
      }
    };
    const signedOut = async (what) => {
      await page.goto(`${base}/`);
      if (await page.isVisible('#who')) await fail(`still signed in after ${what}`);
    };
    await signIn();
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    if (mode === 'simplesamlphp') {
      // SP-initiated: our signed LogoutRequest to SimpleSAMLphp, its LogoutResponse back.
      await page.click('#logout');
      await page.waitForSelector('#sign-in', { timeout: 15000 });
      if (!seen.some((u) => u.startsWith(`${idp}/saml2/idp/SingleLogoutService.php?SAMLRequest=`))) await fail('the logout did not go to SimpleSAMLphp');
      if (!arrived('SAMLResponse')) await fail(`no LogoutResponse came back by ${post ? 'POST' : 'Redirect'}`);
      await signedOut('SP-initiated logout');
      // SimpleSAMLphp's session ended too: signing in asks for the password again.
      await signIn();
      // IdP-initiated: SimpleSAMLphp sends its signed LogoutRequest to the app, which answers it.
      await page.goto(`${idp}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(`${base}/`)}`);
      await page.waitForURL(`${base}/`, { timeout: 15000 });
      if (!arrived('SAMLRequest')) await fail(`no LogoutRequest reached the app by ${post ? 'POST' : 'Redirect'}`);
      await signedOut('IdP-initiated logout');
    }
  } else if (mode === 'big-response') {
    // Enterprise users in thousands of groups: a Response of ~300 KB must sign in.
    const groups = Array.from({ length: 5500 }, (_, i) => `group-${String(i).padStart(5, '0')}`);
    let acsPost = null;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/saml/acs')) acsPost = r.postData(); });
    await page.goto(`${base}/`);
    await page.click('#sign-in');
    await page.waitForSelector('#first_name');
    await page.fill('#groups', groups.join(', '));
    await page.click('#sign-in');
    await page.waitForSelector('#who', { timeout: 30000 });
    const size = Buffer.from(new URLSearchParams(acsPost).get('SAMLResponse'), 'base64').length;
    if (size < 300000) await fail(`the Response was only ${size} bytes`);
    const shown = await page.textContent('#groups');
    if (!shown.includes('group-00000') || !shown.includes('group-05499')) await fail('groups missing');
    console.log(`big-response: ${size} bytes accepted`);
  } else if (mode === 'slo-two-apps') {
    const second = process.env.SECOND_APP;
    if (!second) await fail('SECOND_APP is not set');
    const seen = [];
    page.on('request', (r) => seen.push(r.url()));
    for (const app of [base, second]) {
      await page.goto(`${app}/`);
      await page.click('#sign-in');
      await page.waitForSelector('#first_name');
      await page.click('#sign-in');
      await page.waitForSelector('#who', { timeout: 15000 });
    }
    await page.goto(`${second}/`);
    if (!(await page.isVisible('#who'))) await fail('not signed in to the second app');
    await page.goto(`${base}/`);
    await page.click('#logout');
    await page.waitForSelector('#sign-in', { timeout: 15000 });
    for (const hop of [`${base}/test-idp/slo?SAMLRequest=`, `${second}/saml/slo?SAMLRequest=`,
      `${base}/test-idp/slo?SAMLResponse=`, `${base}/saml/slo?SAMLResponse=`]) {
      if (!seen.some((u) => u.startsWith(hop))) await fail(`the logout never went to ${hop}`);
    }
    for (const app of [second, base]) {
      await page.goto(`${app}/`);
      if (await page.isVisible('#who')) await fail(`still signed in at ${app}`);
    }
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  } else if (mode === 'third-party' || mode === 'third-party-encrypted') {
    // The app points at samlify (SAML_IDP_METADATA): sign in there and land on / as its user.
    await page.goto(`${base}/`);
    if (await page.isVisible('#demo-warning')) await fail('demo-mode warning shown with a real IdP configured');
    let acsBody = null;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/saml/acs')) acsBody = r.postData(); });
    await page.click('#sign-in');
    await page.waitForSelector('#who', { timeout: 15000 });
    const who = await page.textContent('#who');
    const name = await page.textContent('#name');
    if (!who.includes('grace@samlify.example') || name.trim() !== 'Grace Samlify') await fail(`unexpected page: ${who} / ${name}`);
    if (mode === 'third-party-encrypted') {
      const posted = Buffer.from(new URLSearchParams(acsBody).get('SAMLResponse'), 'base64').toString();
      if (!posted.includes('EncryptedAssertion') || posted.includes('grace@samlify.example')) await fail('the posted Response was not encrypted');
    }
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  } else if (mode === 'idp-allowed' || mode === 'idp-refused') {
    await page.goto(`${base}/test-idp/initiate`);
    await page.fill('#email', 'ida@example.com');
    await page.click('#sign-in');
    if (mode === 'idp-allowed') {
      await page.waitForSelector('#who', { timeout: 15000 });
      if (!(await page.textContent('#who')).includes('ida@example.com')) await fail('not signed in');
    } else {
      await page.waitForSelector('#code', { timeout: 15000 });
      const code = await page.textContent('#code');
      if (code.trim() !== 'unsolicited_response') await fail(`expected unsolicited_response, got ${code}`);
    }
  } else if (mode === 'login-csrf' || mode === 'logout-csrf' || mode === 'idp-xss') {
    // The attacker's page on another site: http://localhost:<port>, while the app is on
    // http://127.0.0.1 (a different site, so the app's SameSite=Lax cookies stay home).
    const attack = { html: '' };
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(attack.html);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const evil = `http://localhost:${server.address().port}/`;
    const esc = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const autopost = (action, fields) => `<!DOCTYPE html><html><body><h1>You won a prize</h1><form method="post" action="${esc(action)}">${
      Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('')
    }</form><script>document.forms[0].submit()</script></body></html>`;
    const signIn = async (p, email) => {
      await p.goto(`${base}/`);
      await p.click('#sign-in');
      await p.waitForSelector('#first_name');
      await p.fill('#email', email);
      await p.click('#sign-in');
      await p.waitForSelector('#who', { timeout: 15000 });
    };
    const whoIs = async (p) => {
      await p.goto(`${base}/`);
      return (await p.isVisible('#who')) ? (await p.textContent('#who')).trim() : 'anonymous';
    };
    if (mode === 'login-csrf') {
      // The attacker starts a login in his own browser and keeps his signed Response.
      const mallory = await (await browser.newContext()).newPage();
      let stolen = null;
      await mallory.route('**/saml/acs', async (route) => {
        stolen = new URLSearchParams(route.request().postData());
        await route.abort();
      });
      await mallory.goto(`${base}/`);
      await mallory.click('#sign-in');
      await mallory.waitForSelector('#first_name');
      await mallory.fill('#email', 'mallory@example.com');
      await mallory.click('#sign-in').catch(() => {});
      for (let i = 0; i < 100 && !stolen; i++) await mallory.waitForTimeout(100);
      if (!stolen) await fail('the attacker got no Response');
      attack.html = autopost(`${base}/saml/acs`, { SAMLResponse: stolen.get('SAMLResponse'), RelayState: stolen.get('RelayState') });
      // Victim 1 is signed in as herself; victim 2 is anonymous. Each visits the page.
      const grace = await (await browser.newContext()).newPage();
      await signIn(grace, 'grace@example.com');
      const anon = await (await browser.newContext()).newPage();
      for (const [victim, expected] of [[grace, 'Signed in as grace@example.com'], [anon, 'anonymous']]) {
        await victim.goto(evil);
        await victim.waitForLoadState('networkidle');
        await victim.waitForTimeout(500);
        const code = (await victim.isVisible('#code')) ? (await victim.textContent('#code')).trim() : '(none)';
        const who = await whoIs(victim);
        if (who !== expected) await fail(`the victim became ${who} (code ${code})`);
        if (code !== 'login_browser_mismatch' && code !== 'unknown_in_response_to') await fail(`refused with ${code}`);
      }
    } else if (mode === 'logout-csrf') {
      await signIn(page, 'grace@example.com');
      attack.html = autopost(`${base}/saml/logout`, {});
      await page.goto(evil);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(500);
      const code = (await page.isVisible('#code')) ? (await page.textContent('#code')).trim() : '(none)';
      if (code !== 'cross_site_request') await fail(`the cross-site sign-out answered ${code}`);
      if ((await whoIs(page)) !== 'Signed in as grace@example.com') await fail('the cross-site form signed the user out');
    } else {
      // A cross-site POST to the test IdP's login form naming a javascript: ACS URL.
      let dialogs = 0;
      page.on('dialog', async (d) => { dialogs += 1; await d.dismiss(); });
      await signIn(page, 'grace@example.com');
      attack.html = autopost(`${base}/test-idp/login`, {
        acs: 'javascript:alert(document.body.innerText)', sp: `${base}/saml/metadata`, email: 'x@example.com', RelayState: '',
      });
      await page.goto(evil);
      await page.waitForLoadState('networkidle');
      await page.waitForTimeout(500);
      if (dialogs > 0) await fail('the attacker\'s script ran on the demo\'s origin');
      const code = (await page.isVisible('#code')) ? (await page.textContent('#code')).trim() : '(none)';
      if (code !== 'binding') await fail(`the test IdP answered ${code}`);
    }
    server.close();
  } else if (mode === 'profiles') {
    // The DNS server the app asks (SAML_DNS_SERVER): TXT answers from `records`, else NXDOMAIN.
    const records = new Map();
    const dns = dgram.createSocket('udp4');
    dns.on('message', (q, rinfo) => {
      let i = 12; const labels = [];
      while (q[i] !== 0) { labels.push(q.subarray(i + 1, i + 1 + q[i]).toString().toLowerCase()); i += 1 + q[i]; }
      const question = q.subarray(12, i + 5);
      const answers = records.get(labels.join('.') + '.');
      const head = Buffer.from([q[0], q[1], 0x81, answers ? 0x80 : 0x83, 0, 1, 0, answers ? answers.length : 0, 0, 0, 0, 0]);
      const rr = (answers || []).map((a) => {
        const txt = Buffer.from(a);
        const fixed = Buffer.from([0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, txt.length + 1, txt.length]);
        return Buffer.concat([fixed, txt]);
      });
      dns.send(Buffer.concat([head, question, ...rr]), rinfo.port, rinfo.address);
    });
    await new Promise((ok) => dns.bind(Number(process.env.DNS_PORT), '127.0.0.1', ok));
    const state = async () => (await page.textContent('#state')).trim();
    // 1. The administrator of "acme" creates a profile: the SP values are there at once.
    await page.goto(`${base}/demo-admin?as=ann&org=acme`);
    await page.fill('#profile-name', 'Acme via samlify');
    await page.click('#create-profile');
    await page.waitForSelector('#sp-entity-id');
    if (await state() !== 'draft') await fail(`state ${await state()}`);
    const id = (await page.textContent('#profile-id')).trim();
    const acsUrl = (await page.textContent('#acs-url')).trim();
    if (acsUrl !== `${base}/sso/${id}/acs`) await fail(`ACS URL ${acsUrl}`);
    // The customer's IdP (samlify) is given the SP metadata, and shows its three values.
    const spMd = await (await page.request.get(`${base}/settings/sso/${id}/sp-metadata`)).text();
    const dir = fs.mkdtempSync('target/e2e/profiles-');
    fs.writeFileSync(`${dir}/sp.xml`, spMd);
    const idpPort = Number(process.env.SAMLIFY_PORT);
    const samlify = spawn('node', ['tests/interop_idp/server.js', String(idpPort), `${dir}/sp.xml`, 'tests/fixtures/keys/idp.key', 'tests/fixtures/keys/idp.crt', `${dir}/idp.xml`], { stdio: 'ignore' });
    try {
      for (let n = 0; n < 100 && !fs.existsSync(`${dir}/idp.xml`); n++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      const idpMd = fs.readFileSync(`${dir}/idp.xml`, 'utf8');
      const issuer = idpMd.match(/entityID="([^"]+)"/)[1];
      const sso = idpMd.match(/SingleSignOnService[^>]*Location="([^"]+)"/)[1];
      const cert = idpMd.match(/X509Certificate>([^<]+)</)[1];
      // 2. Paste the three values; a wrong paste is refused with its field, nothing saved.
      await page.fill('#issuer', issuer);
      await page.fill('#sso-url', 'ftp://nowhere');
      await page.fill('#certificate', 'not a certificate');
      await page.click('#save-idp');
      await page.waitForSelector('#problems');
      const fields = await page.$$eval('#problems li', (l) => l.map((x) => x.dataset.field));
      if (fields.join(',') !== 'sso_url,certificate') await fail(`problems ${fields}`);
      if (await state() !== 'draft') await fail('saved despite problems');
      await page.fill('#issuer', issuer);
      await page.fill('#sso-url', sso);
      await page.fill('#certificate', cert);
      await page.click('#save-idp');
      await page.waitForSelector('#state');
      if (await state() !== 'configured') await fail(`state after saving ${await state()}`);
      // 3. Test the connection: samlify signs in grace; nobody is signed in to the app.
      await page.click('#test');
      await page.waitForSelector('#test-result', { timeout: 15000 });
      if ((await page.getAttribute('#test-result', 'data-passed')) !== 'true') await fail('the test login failed');
      if ((await page.textContent('#test-email')).trim() !== 'grace@samlify.example') await fail('mapped identity');
      if ((await page.textContent('#test-name')).trim() !== 'Grace Samlify') await fail('mapped name');
      await page.goto(`${base}/`);
      if (await page.isVisible('#who')) await fail('the test login signed someone in');
      // 4. Activate, verify the domain by DNS, enforce.
      await page.goto(`${base}/settings/sso?profile=${id}`);
      await page.click('#activate');
      await page.waitForSelector('#state');
      if (await state() !== 'active') await fail(`state after activating ${await state()}`);
      await page.fill('#domain', 'samlify.example');
      await page.click('#claim');
      await page.waitForSelector('li.domain');
      const txtName = (await page.textContent('li.domain .txt-name')).trim();
      const txtValue = (await page.textContent('li.domain .txt-value')).trim();
      await page.click('li.domain button.verify');
      await page.waitForSelector('li.domain');
      if ((await page.getAttribute('li.domain', 'data-verified')) !== 'false') await fail('verified without a record');
      records.set(txtName, [txtValue]);
      await page.click('li.domain button.verify');
      await page.waitForSelector('li.domain[data-verified="true"]', { timeout: 10000 });
      await page.click('#enforce');
      await page.waitForSelector('#refused');
      await page.check('#confirm');
      await page.click('#enforce');
      await page.waitForSelector('#state');
      if (await state() !== 'enforced') await fail(`state after enforcing ${await state()}`);
      if (shot) await page.screenshot({ path: shot, fullPage: true });
      // 5. A user of the domain: password sign-in refused, sent to SSO, signed in. With
      //    SECOND_BASE (two instances on one PostgreSQL behind one cookie domain), the user
      //    arrives at the second instance, which learnt of the profile from the database.
      const userBase = process.env.SECOND_BASE || base;
      const user = await browser.newPage();
      const savedAt = Date.now();
      for (;;) {
        await user.goto(`${userBase}/`);
        await user.fill('#password-email', 'grace@samlify.example');
        await user.fill('#password', 'hunter2');
        await user.click('#password-sign-in');
        await user.waitForLoadState('load');
        if (await user.isVisible('#password-refused')) break;
        if (Date.now() - savedAt > 5000) await fail(`${userBase} does not enforce SSO 5 s after the profile was saved`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await user.goto(`${userBase}/`);
      await user.fill('#sso-email', 'grace@samlify.example');
      await user.click('#sso-sign-in');
      await user.waitForSelector('#who', { timeout: 15000 });
      if (!(await user.textContent('#who')).includes('grace@samlify.example')) await fail('the domain user was not signed in by SSO');
      if (userBase !== base) {
        // The login started on the second instance and finished at the first's ACS; the
        // session is in the database: both instances see it.
        await user.goto(`${userBase}/`);
        if (!(await user.isVisible('#who')) || !(await user.textContent('#who')).includes('grace@samlify.example')) await fail('the second instance does not see the session');
        console.log(`ok profiles: signed in on a second instance (${userBase}) through the shared database`);
      }
      // 6. A second organization is set up independently.
      const other = await (await browser.newContext()).newPage();
      await other.goto(`${base}/demo-admin?as=ben&org=globex`);
      if ((await other.$$('a.profile')).length !== 0) await fail('globex sees acme\'s profile');
      await other.fill('#profile-name', 'Globex');
      await other.click('#create-profile');
      await other.waitForSelector('#state');
      const names = await other.$$eval('a.profile', (l) => l.map((x) => x.textContent));
      if (names.join(',') !== 'Globex') await fail(`globex lists ${names}`);
      const r = await other.request.get(`${base}/settings/sso?profile=${id}`);
      if ((await r.text()).includes('Acme via samlify')) await fail('globex can read acme\'s profile');
    } finally {
      samlify.kill();
      dns.close();
    }
  } else {
    await fail('unknown mode');
  }
  console.log(`ok ${mode}`);
  await browser.close();
} catch (e) {
  await fail(String(e && e.stack || e));
}
