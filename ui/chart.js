// A small inline SVG chart of a job's recent runs, oldest on the left: one bar
// per run for its duration, a line through the runs' lateness, both on one
// millisecond scale (the axis label gives the top of the scale).
import { millis } from "./words.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 180, PAD_L = 64, PAD_R = 12, PAD_T = 12, PAD_B = 28;

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function axes(svg, top) {
  svg.append(el("line", { x1: PAD_L, y1: H - PAD_B, x2: W - PAD_R, y2: H - PAD_B, class: "axis" }));
  svg.append(el("line", { x1: PAD_L, y1: PAD_T, x2: PAD_L, y2: H - PAD_B, class: "axis" }));
  svg.append(el("text", { x: PAD_L - 6, y: PAD_T + 4, class: "label", "text-anchor": "end" }, millis(top)));
  svg.append(el("text", { x: PAD_L - 6, y: H - PAD_B, class: "label", "text-anchor": "end" }, "0"));
}

function legend(svg) {
  const y = H - 8;
  svg.append(el("rect", { x: PAD_L, y: y - 9, width: 10, height: 10, class: "bar" }));
  svg.append(el("text", { x: PAD_L + 14, y, class: "label" }, "duration"));
  svg.append(el("line", { x1: PAD_L + 90, y1: y - 4, x2: PAD_L + 104, y2: y - 4, class: "late" }));
  svg.append(el("text", { x: PAD_L + 108, y, class: "label" }, "lateness"));
}

/** Replaces the content of container with the chart of runs (newest first, as the API lists them). */
export function renderChart(container, runs) {
  container.replaceChildren();
  const points = runs.filter((r) => r.duration_ms !== null || r.lateness_ms !== null).slice(0, 50).reverse();
  if (!points.length) {
    container.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "No finished runs yet." }));
    return;
  }
  const top = Math.max(1, ...points.map((r) => Math.max(r.duration_ms || 0, r.lateness_ms || 0)));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": "Durations and lateness of recent runs" });
  axes(svg, top);
  const step = (W - PAD_L - PAD_R) / points.length;
  const scale = (v) => H - PAD_B - ((v || 0) / top) * (H - PAD_T - PAD_B);
  const late = [];
  points.forEach((r, i) => {
    const x = PAD_L + i * step;
    const y = Math.min(scale(r.duration_ms), H - PAD_B - 1); // a run too short to see still shows
    const width = Math.max(1, Math.min(24, step * 0.7));
    const bar = el("rect", { x: x + (step - width) / 2, y, width, height: H - PAD_B - y, class: `bar ${r.status}` });
    bar.append(el("title", {}, `run ${r.id}: ${r.status}, duration ${millis(r.duration_ms)}, lateness ${millis(r.lateness_ms)}`));
    svg.append(bar);
    if (r.lateness_ms !== null) late.push([x + step / 2, scale(r.lateness_ms)]);
  });
  if (late.length > 1) svg.append(el("polyline", { points: late.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "late" }));
  for (const [x, y] of late) svg.append(el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, class: "late-dot" }));
  legend(svg);
  container.append(svg);
}
