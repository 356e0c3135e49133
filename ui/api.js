// The REST API client of the dashboard: every call sends the token kept in
// sessionStorage (Authorization: Bearer) and turns a non-2xx answer into an
// ApiError carrying the status and the API's `detail`.
const TOKEN_KEY = "chime.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = text;
  }
  if (!r.ok) throw new ApiError(r.status, data && data.detail !== undefined ? data.detail : r.statusText);
  return data;
}

const enc = encodeURIComponent;

export const api = {
  jobs: () => call("GET", "/schedule/jobs"),
  job: (id) => call("GET", `/schedule/jobs/${enc(id)}`),
  pause: (id) => call("POST", `/schedule/jobs/${enc(id)}/pause`),
  resume: (id) => call("POST", `/schedule/jobs/${enc(id)}/resume`),
  runNow: (id) => call("POST", `/schedule/jobs/${enc(id)}/run`),
  remove: (id) => call("DELETE", `/schedule/jobs/${enc(id)}`),
  jobRuns: (id, limit, cursor) =>
    call("GET", `/schedule/jobs/${enc(id)}/runs?limit=${limit}` + (cursor ? `&cursor=${enc(cursor)}` : "")),
  recentRuns: (limit) => call("GET", `/schedule/runs?limit=${limit}`),
  preview: (id, count) => call("GET", `/schedule/jobs/${enc(id)}/preview?count=${count}`),
  nodes: () => call("GET", "/schedule/nodes"),
};
