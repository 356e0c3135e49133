// The dashboard: a hash-routed single page (#/ jobs, #/jobs/<id> one job,
// #/nodes the cluster) over the REST API. Every view re-reads what it shows
// every few seconds; actions re-read at once.
import { api, ApiError, setToken, token } from "./api.js";
import { renderChart } from "./chart.js";
import { millis, relativeTime, shortTime, triggerWords } from "./words.js";

const REFRESH_MS = 3000;
const RUNS_PAGE = 50;
const OUTPUT_TAIL = 240;
const OUTPUT_LINES = 8;

const $ = (id) => document.getElementById(id);
const VIEWS = ["login-view", "jobs-view", "job-view", "nodes-view"];

// gen numbers the reads: one that an action or a page change overtook
// renders nothing (its answer may predate the action).
const state = { jobs: [], lastRuns: new Map(), timer: null, runsCursor: null, olderRuns: [], gen: 0 };

function h(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  $("nav-jobs").classList.toggle("active", view === "jobs-view" || view === "job-view");
  $("nav-nodes").classList.toggle("active", view === "nodes-view");
}

function flash(text, kind = "error") {
  const f = $("flash");
  f.textContent = text;
  f.className = kind;
  f.hidden = !text;
}

function detailText(err) {
  if (err instanceof ApiError) return `${err.status}: ${err.message}`;
  return String(err && err.message ? err.message : err);
}

// A 401 sends the user to the token form; other errors are shown above the page.
function failed(err) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin(token() ? "The token was refused." : "");
    return;
  }
  flash(detailText(err));
}

function showLogin(message) {
  stopRefresh();
  show("login-view");
  $("forget-token").hidden = true;
  $("conn-state").textContent = "";
  $("token-error").textContent = message;
  $("token-error").hidden = !message;
  $("token-input").focus();
}

function timeCell(iso) {
  return h("td", { title: iso || "" }, shortTime(iso), iso ? h("span", { class: "muted rel" }, ` ${relativeTime(iso)}`) : null);
}

function outcomeBadge(status) {
  if (!status) return h("span", { class: "muted" }, "—");
  return h("span", { class: `badge ${status}` }, status.replace("_", " "));
}

// --- confirmation -----------------------------------------------------------------------------

function confirmAction(text, okLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    const done = (value) => () => {
      $("confirm-ok").onclick = $("confirm-cancel").onclick = dialog.oncancel = null;
      dialog.close();
      resolve(value);
    };
    $("confirm-ok").onclick = done(true);
    $("confirm-cancel").onclick = done(false);
    dialog.oncancel = done(false);
    dialog.showModal();
  });
}

// --- actions ----------------------------------------------------------------------------------

async function act(job, action) {
  try {
    if (action === "delete") {
      const ok = await confirmAction(`Delete job "${job.name}" (${job.id})? Its run history is kept.`, "Delete");
      if (!ok) return;
      await api.remove(job.id);
      flash(`Deleted ${job.name}.`, "info");
      if (location.hash !== "#/") location.hash = "#/";
    } else if (action === "pause") {
      await api.pause(job.id);
    } else if (action === "resume") {
      await api.resume(job.id);
    } else if (action === "run") {
      const r = await api.runNow(job.id);
      flash(`Started run ${r.run_id} of ${job.name}.`, "info");
    }
  } catch (err) {
    failed(err);
  }
  refresh();
}

function actionButtons(job) {
  const button = (action, label, cls) =>
    h("button", { type: "button", class: cls, dataset: { action }, onclick: () => act(job, action) }, label);
  return [
    job.paused ? button("resume", "Resume") : button("pause", "Pause"),
    button("run", "Run now"),
    button("delete", "Delete", "danger"),
  ];
}

// --- the jobs table ---------------------------------------------------------------------------

function matches(job, query, filter) {
  const last = state.lastRuns.get(job.id);
  if (filter === "active" && job.paused) return false;
  if (filter === "paused" && !job.paused) return false;
  if (filter === "failing" && !(last && ["failed", "timed_out", "lost"].includes(last.status))) return false;
  if (!query) return true;
  const hay = [job.name, job.id, job.func, job.trigger, triggerWords(job.trigger, job.trigger_args)]
    .join(" ").toLowerCase();
  return query.toLowerCase().split(/\s+/).every((word) => hay.includes(word));
}

function jobRow(job) {
  const last = state.lastRuns.get(job.id);
  return h("tr", { dataset: { jobId: job.id }, class: job.paused ? "paused" : "" },
    h("td", { class: "name" }, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name),
      job.broken ? h("span", { class: "badge failed", title: job.broken }, "broken") : null),
    h("td", { class: "mono" }, job.func),
    h("td", { class: "trigger", title: JSON.stringify(job.trigger_args) }, triggerWords(job.trigger, job.trigger_args)),
    timeCell(job.next_run_time),
    h("td", { class: "outcome" }, outcomeBadge(last && last.status)),
    h("td", { class: "paused-cell" }, job.paused ? "paused" : "no"),
    h("td", {}, h("div", { class: "actions" }, ...actionButtons(job))));
}

function renderJobs() {
  const query = $("search").value.trim();
  const filter = $("state-filter").value;
  const shown = state.jobs.filter((j) => matches(j, query, filter));
  $("jobs-body").replaceChildren(...shown.map(jobRow));
  $("jobs-count").textContent = shown.length === state.jobs.length
    ? `(${state.jobs.length})` : `(${shown.length} of ${state.jobs.length})`;
  $("jobs-empty").hidden = shown.length > 0;
  $("jobs-empty").textContent = state.jobs.length ? "No job matches the search." : "No jobs.";
}

async function loadJobs(stale) {
  const [jobs, recent] = await Promise.all([api.jobs(), api.recentRuns(1000)]);
  if (stale()) return;
  state.jobs = jobs;
  state.lastRuns = new Map();
  for (const run of recent.runs) if (!state.lastRuns.has(run.job_id)) state.lastRuns.set(run.job_id, run);
  show("jobs-view");
  renderJobs();
}

// --- one job ----------------------------------------------------------------------------------

function detailRows(job) {
  const rows = [
    ["Id", job.id], ["Name", job.name], ["Func", job.func],
    ["Trigger", triggerWords(job.trigger, job.trigger_args)],
    ["Trigger args", `${job.trigger} ${JSON.stringify(job.trigger_args)}`],
    ["Next run", job.next_run_time ? `${shortTime(job.next_run_time)} (${relativeTime(job.next_run_time)})` : "— (paused)"],
    ["Args", JSON.stringify(job.args)], ["Kwargs", JSON.stringify(job.kwargs)],
    // An absent policy field is the scheduler's setting.
    ["Coalesce", "coalesce" in job ? String(job.coalesce) : "scheduler default"],
    ["Misfire grace", !("misfire_grace_time" in job) ? "scheduler default"
      : job.misfire_grace_time === null ? "unlimited" : `${job.misfire_grace_time} s`],
    ["Max instances", "max_instances" in job ? String(job.max_instances) : "scheduler default"],
    ["Job store", job.jobstore],
    ["Created", shortTime(job.created_at)], ["Updated", shortTime(job.updated_at)],
  ];
  if (job.broken) rows.unshift(["Broken", job.broken]);
  return rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v === undefined ? "—" : v)]);
}

// A chime:exec run's output is a JSON object with the tails of stdout and
// stderr: those are what a reader wants. Any other output is shown as is.
function outputText(output) {
  if (!output) return "";
  try {
    const o = JSON.parse(output);
    if (o && typeof o === "object" && ("stdout_tail" in o || "stderr_tail" in o))
      return `${o.stdout_tail || ""}${o.stderr_tail || ""}`;
  } catch (e) {
    // not JSON: plain text from a plugin
  }
  return output;
}

// The last OUTPUT_LINES lines, at most OUTPUT_TAIL characters; hover for all.
function tailBlock(text, cls) {
  let tail = text.length > OUTPUT_TAIL ? text.slice(-OUTPUT_TAIL) : text;
  const lines = tail.split("\n");
  if (lines.length > OUTPUT_LINES) tail = lines.slice(-OUTPUT_LINES).join("\n");
  const cut = tail.length < text.length;
  return h("pre", { class: cls, title: cut ? text : null }, cut ? `…${tail}` : tail);
}

function outputTail(run) {
  const output = outputText(run.output).replace(/\n$/, "");
  if (!run.error && !output) return h("span", { class: "muted" }, "—");
  return h("div", {}, run.error ? tailBlock(run.error, "error") : null, output ? tailBlock(output, "out") : null);
}

function runRow(run) {
  return h("tr", { dataset: { runId: run.id, status: run.status } },
    h("td", {}, String(run.id)),
    timeCell(run.scheduled_time),
    h("td", { class: "outcome" }, outcomeBadge(run.status)),
    h("td", {}, run.cause || "—"),
    h("td", { class: "num" }, millis(run.lateness_ms)),
    h("td", { class: "num" }, millis(run.duration_ms)),
    h("td", {}, run.node || "—"),
    h("td", { class: "output" }, outputTail(run)));
}

function renderPreview(fires) {
  $("job-preview").replaceChildren(...fires.map((f) => h("li", { title: f }, shortTime(f), h("span", { class: "muted" }, ` ${relativeTime(f)}`))));
  $("job-preview-empty").hidden = fires.length > 0;
}

async function loadJob(id, stale) {
  const [job, runs, preview] = await Promise.all([
    api.job(id), api.jobRuns(id, RUNS_PAGE), api.preview(id, 10).catch(() => ({ fires: [] })),
  ]);
  if (stale()) return;
  show("job-view");
  $("job-title").textContent = job.name;
  $("job-state").textContent = job.paused ? "paused" : "active";
  $("job-state").className = `badge ${job.paused ? "paused" : "active"}`;
  $("job-actions").replaceChildren(...actionButtons(job));
  $("job-details").replaceChildren(...detailRows(job));
  renderPreview(job.paused ? [] : preview.fires);
  renderChart($("job-chart"), runs.runs);
  const seen = new Set(runs.runs.map((r) => r.id)); // runs since the older pages were read shift the pages
  const all = runs.runs.concat(state.olderRuns.filter((r) => !seen.has(r.id)));
  $("runs-body").replaceChildren(...all.map(runRow));
  $("runs-empty").hidden = all.length > 0;
  if (!state.olderRuns.length) state.runsCursor = runs.next_cursor;
  $("runs-more").hidden = !state.runsCursor;
}

async function loadOlderRuns(id) {
  try {
    const page = await api.jobRuns(id, RUNS_PAGE, state.runsCursor);
    state.olderRuns = state.olderRuns.concat(page.runs);
    state.runsCursor = page.next_cursor;
    refresh();
  } catch (err) {
    failed(err);
  }
}

// --- nodes ------------------------------------------------------------------------------------

function nodeRow(node) {
  const heartbeat = timeCell(node.heartbeat_at);
  heartbeat.classList.add("heartbeat");
  return h("tr", { dataset: { node: node.name }, class: node.alive ? "" : "dead" },
    h("td", {}, node.name), h("td", {}, node.host), h("td", { class: "num" }, String(node.pid)),
    timeCell(node.started_at), heartbeat,
    h("td", { class: "state" }, h("span", { class: `badge ${node.alive ? "succeeded" : "lost"}` }, node.alive ? "alive" : "dead")));
}

async function loadNodes(stale) {
  show("nodes-view");
  try {
    const data = await api.nodes();
    if (stale()) return;
    $("nodes-body").replaceChildren(...data.nodes.map(nodeRow));
    $("nodes-table").hidden = false;
    $("nodes-note").hidden = true;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    if (stale()) return;
    $("nodes-table").hidden = true;
    $("nodes-note").textContent = `No cluster: ${err.message}. Nodes are listed with the PostgreSQL store.`;
    $("nodes-note").hidden = false;
  }
}

// --- routing and refresh ----------------------------------------------------------------------

function route() {
  const hash = location.hash || "#/";
  const m = /^#\/jobs\/(.+)$/.exec(hash);
  if (m) return { view: "job", id: decodeURIComponent(m[1]) };
  if (hash === "#/nodes") return { view: "nodes" };
  return { view: "jobs" };
}

async function refresh() {
  const r = route();
  const gen = ++state.gen;
  const stale = () => gen !== state.gen;
  try {
    if (r.view === "job") await loadJob(r.id, stale);
    else if (r.view === "nodes") await loadNodes(stale);
    else await loadJobs(stale);
    if (stale()) return;
    $("conn-state").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("forget-token").hidden = !token();
    startRefresh();
  } catch (err) {
    if (stale()) return;
    if (err instanceof ApiError && err.status === 404 && r.view === "job") {
      flash(`Job ${r.id} not found (deleted?).`);
      location.hash = "#/";
      return;
    }
    failed(err);
  }
}

function startRefresh() {
  stopRefresh();
  state.timer = setTimeout(refresh, REFRESH_MS);
}

function stopRefresh() {
  clearTimeout(state.timer);
  state.timer = null;
}

function init() {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token-input").value.trim());
    $("token-input").value = "";
    flash("");
    refresh();
  });
  $("forget-token").addEventListener("click", () => {
    setToken("");
    showLogin("");
  });
  $("search").addEventListener("input", renderJobs);
  $("state-filter").addEventListener("change", renderJobs);
  $("jobs-refresh").addEventListener("click", refresh);
  $("runs-more").addEventListener("click", () => loadOlderRuns(route().id));
  window.addEventListener("hashchange", () => {
    state.olderRuns = [];
    state.runsCursor = null;
    flash("");
    refresh();
  });
  refresh();
}

init();
