// End-to-end test of the dashboard: the real chimed (a temporary SQLite file,
// an API token, a free port) and Debian's Chromium, headless, driven by
// playwright-core. Load the page, give the token, create jobs through the API,
// see them in the table, search, pause and resume, run one now and see the run
// in its history (with the chart and the next fire times), delete one through
// the confirmation dialog, look at the nodes page. Every wait is for an element
// or a condition (no fixed sleeps). Screenshots go to the artifacts directory.
// Prints "N passed, N failed" last; exits 1 when a step failed.
//
// Usage: node dashboard.test.js <chimed binary> <artifacts dir>
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const CHIMED = process.argv[2];
const ARTIFACTS = process.argv[3];
const CHROMIUM = process.env.CHIME_E2E_CHROMIUM || "/usr/bin/chromium";
const TOKEN = "e2e-token-" + Math.random().toString(16).slice(2);
const WAIT_MS = 20000; // the longest any one element or condition may take

const results = [];

// --- the daemon --------------------------------------------------------------------------------

// A chimed on a free port with the token; its log goes to the artifacts.
function startChimed(dir, dbUrl, logName, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, HOME: dir, CHIME_API_TOKEN: TOKEN, ...extraEnv };
    const proc = spawn(CHIMED, ["--port", "0", "--database-url", dbUrl, "--log-level", "debug"],
                       { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
    const log = fs.createWriteStream(path.join(ARTIFACTS, logName));
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("chimed did not log its port in 15 s")), 15000);
    proc.stderr.on("data", (chunk) => {
      log.write(chunk);
      buffered += chunk.toString();
      const m = /chimed listening on http:\/\/([^:\s]+):(\d+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: `http://127.0.0.1:${m[2]}` });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`chimed exited (${code}) before listening`)); // no-op once resolved
    });
  });
}

function stopChimed(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.on("exit", (code) => resolve(code));
    proc.kill("SIGTERM");
  });
}

async function apiCall(base, method, p, body) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// --- a tiny harness ----------------------------------------------------------------------------

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function step(name, page, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    return true;
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    if (page) {
      const file = path.join(ARTIFACTS, `failed-${results.length}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`     screenshot: ${file}`);
    }
    return false;
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

// Waits until the element's trimmed text is text.
function waitText(page, selector, text) {
  return page.waitForFunction(([sel, want]) => {
    const e = document.querySelector(sel);
    return e !== null && e.textContent.trim() === want;
  }, [selector, text], { timeout: WAIT_MS });
}

function visibleRows(page) {
  return page.$$eval("#jobs-body tr", (rows) => rows.map((r) => r.dataset.jobId));
}

// --- the scenario ------------------------------------------------------------------------------

const DIGEST = { id: "e2e-digest", name: "e2e digest", func: "chime:noop", trigger: "cron",
                 trigger_args: { hour: 9, minute: 0, timezone: "UTC" } };
const OTHER = { id: "e2e-other", name: "other job", func: "chime:noop", trigger: "interval",
                trigger_args: { minutes: 10 } };
const FAR = { run_date: "2031-01-01T00:00:00+00:00" };
const row = (id) => `#jobs-body tr[data-job-id="${id}"]`;

async function scenario(base, page, problems) {
  const ok = await step("the page loads and asks for the token", page, async () => {
    const r = await page.goto(base + "/");
    check(r.status() === 200, `GET / answered ${r.status()}`);
    await page.locator("#token-input").waitFor({ state: "visible", timeout: WAIT_MS });
    await shot(page, "01-token.png");
  });
  if (!ok) return;

  await step("a wrong token is refused", page, async () => {
    await page.fill("#token-input", "not-the-token");
    await page.click("#token-submit");
    await waitText(page, "#token-error", "The token was refused.");
    check(await page.locator("#login-view").isVisible(), "the token form went away");
  });

  const signedIn = await step("the right token shows the (empty) jobs table", page, async () => {
    await page.fill("#token-input", TOKEN);
    await page.click("#token-submit");
    await page.locator("#jobs-view").waitFor({ state: "visible", timeout: WAIT_MS });
    await waitText(page, "#jobs-empty", "No jobs.");
    const kept = await page.evaluate(() => sessionStorage.getItem("chime.token"));
    check(kept !== null && kept.length > 0, "the token is not in sessionStorage");
  });
  if (!signedIn) return;

  const created = await step("jobs created through the API appear in the table", page, async () => {
    for (const job of [DIGEST, OTHER]) {
      const r = await apiCall(base, "POST", "/schedule/jobs", job);
      check(r.status === 200, `POST /schedule/jobs answered ${r.status} ${JSON.stringify(r.json)}`);
    }
    await page.click("#jobs-refresh");
    await page.locator(row(DIGEST.id)).waitFor({ timeout: WAIT_MS });
    await page.locator(row(OTHER.id)).waitFor({ timeout: WAIT_MS });
    const trigger = (await page.textContent(`${row(DIGEST.id)} td.trigger`)).trim();
    check(trigger === "daily at 09:00 (UTC)", `trigger in words: ${trigger}`);
    const every = (await page.textContent(`${row(OTHER.id)} td.trigger`)).trim();
    check(every === "every 10 minutes", `interval in words: ${every}`);
    check((await page.textContent(`${row(DIGEST.id)} .paused-cell`)).trim() === "no", "new job shown paused");
    await shot(page, "02-jobs.png");
  });
  if (!created) return;

  await step("triggers and durations in words (ui/words.js in the page)", page, async () => {
    const cases = [
      ["interval", { hours: 1, minutes: 30 }, "every 1 hour 30 minutes"],
      ["interval", { seconds: 1 }, "every 1 second"],
      ["cron", { crontab: "*/15 9-17 * * 1-5" }, 'crontab "*/15 9-17 * * 1-5"'],
      ["cron", { day_of_week: "mon-fri", hour: 9, timezone: "Europe/Berlin" }, "on mon-fri at 09:00 (Europe/Berlin)"],
      ["cron", { day_of_week: 0, hour: 8 }, "on mon at 08:00"],
      ["cron", { minute: "*/5" }, "every 5 minutes"],
      ["cron", { minute: 5 }, "hourly at minute 5"],
      ["cron", { day: "last", hour: 23, minute: 30 }, "on day last at 23:30"],
      ["cron", { hour: 3, minute: 0, second: 15 }, "daily at 03:00:15"],
      ["cron", {}, "every second"],
      ["date", { run_date: "2031-01-01T00:00:00+00:00" }, "once at 2031-01-01 00:00:00 UTC"],
      ["date", { run_date: "2031-01-01T09:30:00.250000+01:00", timezone: "Europe/Paris" },
       "once at 2031-01-01 09:30:00 +01:00 (Europe/Paris)"],
    ];
    const got = await page.evaluate(async (list) => {
      const w = await import("/ui/words.js");
      return {
        triggers: list.map(([kind, args]) => w.triggerWords(kind, args)),
        millis: [w.millis(0.04), w.millis(250), w.millis(12345), w.millis(null)],
      };
    }, cases);
    cases.forEach(([kind, args, want], i) =>
      check(got.triggers[i] === want, `${kind} ${JSON.stringify(args)}: "${got.triggers[i]}", want "${want}"`));
    check(JSON.stringify(got.millis) === JSON.stringify(["0.04 ms", "250 ms", "12.3 s", "—"]), `millis ${got.millis}`);
  });

  await step("search filters the table", page, async () => {
    await page.fill("#search", "digest");
    await page.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length === 1, null, { timeout: WAIT_MS });
    check((await visibleRows(page))[0] === DIGEST.id, "the wrong job matched");
    await page.fill("#search", "");
    await page.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length === 2, null, { timeout: WAIT_MS });
  });

  const paused = await step("pause shows the job paused", page, async () => {
    await page.click(`${row(DIGEST.id)} button[data-action="pause"]`);
    await waitText(page, `${row(DIGEST.id)} .paused-cell`, "paused");
    await page.locator(`${row(DIGEST.id)} button[data-action="resume"]`).waitFor({ timeout: WAIT_MS });
    const r = await apiCall(base, "GET", `/schedule/jobs/${DIGEST.id}`);
    check(r.json.paused === true && r.json.next_run_time === null, `the API says ${JSON.stringify(r.json)}`);
    await page.selectOption("#state-filter", "paused");
    await page.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length === 1, null, { timeout: WAIT_MS });
    await shot(page, "03-paused.png");
    await page.selectOption("#state-filter", "all");
  });

  await step("resume shows it active again", page, async () => {
    check(paused, "not paused");
    await page.click(`${row(DIGEST.id)} button[data-action="resume"]`);
    await waitText(page, `${row(DIGEST.id)} .paused-cell`, "no");
    const r = await apiCall(base, "GET", `/schedule/jobs/${DIGEST.id}`);
    check(r.json.paused === false, "the API says it is still paused");
  });

  const jobPage = await step("the job page shows details and the next fire times", page, async () => {
    await page.click(`${row(DIGEST.id)} td.name a`);
    await page.locator("#job-view").waitFor({ state: "visible", timeout: WAIT_MS });
    await waitText(page, "#job-title", DIGEST.name);
    await page.waitForFunction(() => document.querySelectorAll("#job-preview li").length === 10, null, { timeout: WAIT_MS });
    const want = await apiCall(base, "GET", `/schedule/jobs/${DIGEST.id}/preview?count=10`);
    const shown = await page.$$eval("#job-preview li", (lis) => lis.map((li) => li.title));
    check(JSON.stringify(shown) === JSON.stringify(want.json.fires), `fires ${shown} vs ${want.json.fires}`);
    await waitText(page, "#runs-empty", "No runs yet.");
  });

  await step("run now: the run appears in the history, succeeded, and in the chart", page, async () => {
    check(jobPage, "no job page");
    await page.click('#job-actions button[data-action="run"]');
    await page.locator('#runs-body tr[data-status="succeeded"]').waitFor({ timeout: WAIT_MS });
    const runs = await apiCall(base, "GET", `/schedule/jobs/${DIGEST.id}/runs`);
    check(runs.json.runs.length === 1, `the API lists ${runs.json.runs.length} runs`);
    const run = runs.json.runs[0];
    check(run.status === "succeeded" && run.cause === "manual", `run ${JSON.stringify(run)}`);
    const id = await page.getAttribute('#runs-body tr[data-status="succeeded"]', "data-run-id");
    check(Number(id) === run.id, `the page shows run ${id}, the API ${run.id}`);
    await page.locator("#job-chart svg rect.bar.succeeded").waitFor({ timeout: WAIT_MS });
    await page.locator("#job-chart svg circle.late-dot").waitFor({ state: "attached", timeout: WAIT_MS });
    await shot(page, "04-job.png");
  });

  await step("the jobs table shows the last outcome", page, async () => {
    await page.click("#nav-jobs");
    await waitText(page, `${row(DIGEST.id)} td.outcome`, "succeeded");
  });

  await step("a failed run shows its error, a command's run the tail of its output", page, async () => {
    const jobs = [
      { id: "e2e-fail", name: "always fails", func: "chime:fail", trigger: "date", trigger_args: FAR },
      { id: "e2e-exec", name: "prints", func: "chime:exec", trigger: "date", trigger_args: FAR,
        kwargs: { argv: ["/bin/sh", "-c", "seq 1 500"] } },
    ];
    for (const job of jobs) {
      const r = await apiCall(base, "POST", "/schedule/jobs", job);
      check(r.status === 200, `POST ${job.id} answered ${r.status} ${JSON.stringify(r.json)}`);
    }
    await page.goto(`${base}/#/jobs/e2e-fail`);
    await waitText(page, "#job-title", "always fails");
    await page.click('#job-actions button[data-action="run"]');
    await page.locator('#runs-body tr[data-status="failed"] td.output pre.error').waitFor({ timeout: WAIT_MS });
    const error = (await page.textContent('#runs-body tr[data-status="failed"] td.output pre.error')).trim();
    check(error === "chime:fail always fails", `error cell: ${error}`);
    await page.locator("#job-chart svg rect.bar.failed").waitFor({ timeout: WAIT_MS });
    await page.goto(`${base}/#/jobs/e2e-exec`);
    await waitText(page, "#job-title", "prints");
    await page.click('#job-actions button[data-action="run"]');
    const out = '#runs-body tr[data-status="succeeded"] td.output pre.out';
    await page.locator(out).waitFor({ timeout: WAIT_MS });
    const tail = await page.textContent(out);
    check(tail === "…" + ["493", "494", "495", "496", "497", "498", "499", "500"].join("\n"),
          `output tail: ${JSON.stringify(tail)}`);
    const full = await page.getAttribute(out, "title");
    check(full.startsWith("1\n2\n3\n") && full.endsWith("499\n500"), "the title is not the whole output");
    await shot(page, "05-output.png");
    await page.click("#nav-jobs");
    await waitText(page, `${row("e2e-fail")} td.outcome`, "failed");
    await page.selectOption("#state-filter", "failing");
    await page.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length === 1, null, { timeout: WAIT_MS });
    check((await visibleRows(page))[0] === "e2e-fail", "the failing filter shows the wrong job");
    await page.selectOption("#state-filter", "all");
  });

  await step("delete asks for confirmation: cancel keeps the job, confirm removes it", page, async () => {
    await page.click(`${row(OTHER.id)} button[data-action="delete"]`);
    await page.locator("#confirm-dialog").waitFor({ state: "visible", timeout: WAIT_MS });
    await shot(page, "06-confirm.png");
    await page.click("#confirm-cancel");
    await page.locator("#confirm-dialog").waitFor({ state: "hidden", timeout: WAIT_MS });
    check((await apiCall(base, "GET", `/schedule/jobs/${OTHER.id}`)).status === 200, "cancel deleted the job");
    await page.click(`${row(OTHER.id)} button[data-action="delete"]`);
    await page.locator("#confirm-dialog").waitFor({ state: "visible", timeout: WAIT_MS });
    await page.click("#confirm-ok");
    await page.locator(row(OTHER.id)).waitFor({ state: "detached", timeout: WAIT_MS });
    check((await apiCall(base, "GET", `/schedule/jobs/${OTHER.id}`)).status === 404, "the job is still there");
  });

  await step("the nodes page explains a single-node store", page, async () => {
    await page.click("#nav-nodes");
    await page.locator("#nodes-note").waitFor({ state: "visible", timeout: WAIT_MS });
    const note = await page.textContent("#nodes-note");
    check(/No cluster/.test(note) && /sqlite/.test(note), `note: ${note}`);
    await shot(page, "07-nodes.png");
  });

  await step("no console error, page error or CSP violation", null, async () => {
    check(problems.length === 0, problems.join("\n"));
  });
}

async function headersStep(base) {
  await step("assets: content types, ETag/304, CSP, served without the token; the API needs it", null, async () => {
    const index = await fetch(base + "/");
    check(index.status === 200, `GET / ${index.status}`);
    check(index.headers.get("content-type") === "text/html; charset=utf-8", index.headers.get("content-type"));
    const csp = index.headers.get("content-security-policy") || "";
    check(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), `CSP: ${csp}`);
    const js = await fetch(base + "/ui/app.js");
    check(js.headers.get("content-type") === "text/javascript; charset=utf-8", js.headers.get("content-type"));
    const etag = js.headers.get("etag");
    check(/^"[0-9a-f]{16}"$/.test(etag || ""), `ETag ${etag}`);
    const again = await fetch(base + "/ui/app.js", { headers: { "If-None-Match": etag } });
    check(again.status === 304, `revalidation answered ${again.status}`);
    const api = await fetch(base + "/schedule/jobs");
    check(api.status === 401, `the API without the token answered ${api.status}`);
  });
}

// With the PostgreSQL store the nodes page lists the node, alive, and its
// heartbeat moves. CHIME_E2E_PG_URL is a fresh database (test_dashboard_e2e.sh
// makes one on the cluster of scripts/with_pg.sh); without it the step fails.
async function clusterStep(browser, dir) {
  let node = null;
  let page = null;
  await step("with PostgreSQL (and no token) the nodes page lists the node and its heartbeat moves", null, async () => {
    const url = process.env.CHIME_E2E_PG_URL;
    check(url, "CHIME_E2E_PG_URL is not set: run the test under scripts/with_pg.sh (make test does)");
    // This one runs without a token: the page must not ask for one.
    node = await startChimed(dir, url, "chimed-pg.log",
                             { CHIME_API_TOKEN: "", CHIME_NODE_NAME: "e2e-node", CHIME_HEARTBEAT_INTERVAL: "1s" });
    page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
    await page.goto(node.base + "/#/nodes");
    const cell = '#nodes-body tr[data-node="e2e-node"]';
    await page.locator(cell).waitFor({ timeout: WAIT_MS });
    check(!(await page.locator("#login-view").isVisible()), "a token-less chimed asked for a token");
    check(!(await page.locator("#forget-token").isVisible()), "Forget token shown without a token");
    await waitText(page, `${cell} td.state`, "alive");
    const pid = (await page.textContent(`${cell} td.num`)).trim();
    check(Number(pid) === node.proc.pid, `pid ${pid}, chimed's is ${node.proc.pid}`);
    const first = await page.getAttribute(`${cell} td.heartbeat`, "title");
    await page.waitForFunction(([sel, was]) => {
      const e = document.querySelector(sel);
      return e !== null && e.title !== was;
    }, [`${cell} td.heartbeat`, first], { timeout: WAIT_MS });
    await shot(page, "08-nodes-postgres.png");
  });
  if (page) await page.close().catch(() => {});
  if (node) {
    const code = await stopChimed(node.proc);
    results.push({ name: "the PostgreSQL chimed stops cleanly", ok: code === 0 });
    console.log(`${code === 0 ? "ok  " : "FAIL"} the PostgreSQL chimed stops cleanly (exit ${code})`);
  }
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chime-e2e-"));
  let daemon = null;
  let browser = null;
  try {
    await step("chimed starts", null, async () => {
      daemon = await startChimed(dir, `sqlite:///${dir}/e2e.db`, "chimed.log", { CHIME_ALLOW_EXEC: "true" });
    });
    if (!daemon) return;
    await headersStep(daemon.base);
    const args = process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [];
    await step("headless Chromium starts", null, async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    });
    if (!browser) return;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    // Chromium logs every 4xx fetch as a console error; those are checked by
    // status below instead: the API answers 401 before the token is given and
    // for the wrong one, and GET /schedule/nodes is 404 with SQLite.
    page.on("console", (msg) => {
      if (msg.type() === "error" && !/^Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("response", (r) => {
      const expected = r.status() === 401 || (r.status() === 404 && r.url().endsWith("/schedule/nodes"));
      if (r.status() >= 400 && !expected) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    await scenario(daemon.base, page, problems);
    await clusterStep(browser, dir);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (daemon) {
      const code = await stopChimed(daemon.proc);
      results.push({ name: "chimed stops cleanly", ok: code === 0 });
      console.log(`${code === 0 ? "ok  " : "FAIL"} chimed stops cleanly (exit ${code})`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main()
  .catch((err) => {
    results.push({ name: "harness", ok: false });
    console.log(`FAIL harness: ${err && err.stack ? err.stack : err}`);
  })
  .finally(() => {
    const failed = results.filter((r) => !r.ok).length;
    console.log(`artifacts: ${ARTIFACTS}`);
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
