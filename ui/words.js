// Plain-words descriptions of triggers, times and durations for the tables.

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const UNITS = [
  ["weeks", "week"], ["days", "day"], ["hours", "hour"], ["minutes", "minute"], ["seconds", "second"],
];

function plural(n, unit) {
  return `${n} ${unit}${Number(n) === 1 ? "" : "s"}`;
}

function intervalWords(a) {
  const parts = UNITS.filter(([key]) => a[key] !== undefined && Number(a[key]) !== 0)
    .map(([key, unit]) => plural(a[key], unit));
  return parts.length ? `every ${parts.join(" ")}` : "every 0 seconds";
}

const isNumber = (v) => v !== undefined && /^\d+$/.test(String(v));
const pad2 = (v) => String(v).padStart(2, "0");

// One cron field in words: "*/5" -> "every 5 minutes", "1-5" -> "minute 1-5".
function fieldWords(value, unit) {
  const v = String(value);
  let m = /^\*\/(\d+)$/.exec(v);
  if (m) return `every ${plural(m[1], unit)}`;
  if (v === "*") return `every ${unit}`;
  return `${unit} ${v}`;
}

function dayOfWeekWords(v) {
  const s = String(v);
  if (/^\d$/.test(s)) return DAY_NAMES[Number(s)] || s; // 0 = Monday (APScheduler)
  return s;
}

function cronTimeWords(a) {
  const given = ["hour", "minute", "second"].filter((k) => a[k] !== undefined);
  const plain = given.every((k) => isNumber(a[k]));
  if (plain && a.hour !== undefined) {
    const sec = a.second !== undefined && Number(a.second) !== 0 ? `:${pad2(a.second)}` : "";
    return `at ${pad2(a.hour)}:${pad2(a.minute ?? 0)}${sec}`;
  }
  if (plain && a.minute !== undefined) {
    return `hourly at minute ${a.minute}` + (a.second !== undefined ? `, second ${a.second}` : "");
  }
  if (plain && a.second !== undefined) return `every minute at second ${a.second}`;
  return given.map((k) => fieldWords(a[k], k)).join(", ");
}

function cronWords(a) {
  if (a.crontab !== undefined) return `crontab "${a.crontab}"`;
  const fields = ["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"];
  if (!fields.some((k) => a[k] !== undefined)) return "every second";
  const dayLevel = ["year", "month", "day", "week", "day_of_week"].some((k) => a[k] !== undefined);
  const parts = [];
  const time = cronTimeWords(a);
  if (!dayLevel && a.hour !== undefined && /^at /.test(time)) parts.push("daily");
  if (a.day_of_week !== undefined) parts.push(`on ${dayOfWeekWords(a.day_of_week)}`);
  if (a.day !== undefined) parts.push(`on day ${a.day}`);
  if (a.week !== undefined) parts.push(`in ISO week ${a.week}`);
  if (a.month !== undefined) parts.push(`in month ${a.month}`);
  if (a.year !== undefined) parts.push(`in ${a.year}`);
  if (time) parts.push(time);
  return parts.join(" ");
}

/** The trigger of a job in words, e.g. "daily at 09:00 (Europe/Berlin)". */
export function triggerWords(kind, args) {
  const a = args || {};
  let text;
  if (kind === "interval") text = intervalWords(a);
  else if (kind === "cron") text = cronWords(a);
  else if (kind === "date") text = `once at ${shortTime(a.run_date)}`;
  else text = kind;
  // An interval is elapsed time: its zone only names how its times are shown.
  if (a.timezone && kind !== "interval") text += ` (${a.timezone})`;
  // An interval's start_date is its anchor, filled in by chime (the first fire,
  // shown as the next run): words only for a cron trigger's start still ahead.
  if (a.start_date && kind === "cron" && Date.parse(a.start_date) > Date.now())
    text += `, from ${shortTime(a.start_date)}`;
  if (a.end_date) text += `, until ${shortTime(a.end_date)}`;
  if (a.jitter) text += `, jitter ${a.jitter} s`;
  return text;
}

/** "2026-12-04T21:00:00+01:00" -> "2026-12-04 21:00:00 +01:00" (the zone as given). */
export function shortTime(iso) {
  if (!iso) return "—";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(.*)$/.exec(String(iso));
  if (!m) return String(iso);
  const zone = m[4] === "Z" || m[4] === "+00:00" ? "UTC" : m[4];
  return `${m[1]} ${m[2]} ${zone}`.trim();
}

/** How far a time is from now: "in 5 min", "3 h ago". */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 1) return "now";
  let text;
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400 * 2) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** Milliseconds for a table cell: "0.4 ms", "12.3 s". */
export function millis(ms) {
  if (ms === null || ms === undefined) return "—";
  const v = Number(ms);
  const a = Math.abs(v);
  if (a < 1000) return `${v.toFixed(a < 1 ? 2 : a < 10 ? 1 : 0)} ms`;
  if (a < 60000) return `${(v / 1000).toFixed(1)} s`;
  return `${(v / 60000).toFixed(1)} min`;
}
