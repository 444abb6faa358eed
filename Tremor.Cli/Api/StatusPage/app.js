// The status page: polls GET /v1/status with the API's bearer token and shows flows, connectors (rates from the
// difference between two snapshots), plugins and cluster nodes. Every value from the API is set as text, never HTML.
"use strict";

const tokenKey = "tremor-api-token";
const statusUrl = new URL("../v1/status", document.baseURI);
const params = new URLSearchParams(location.search);
const intervalMs = Math.max(250, 1000 * (Number(params.get("interval")) || 1));
let previous = null; // the last snapshot: its uptime and each connector's totals
let timer = null;

function takeTokenFromFragment() {
  // #token=... lets a script or a bookmark open the page logged in; the fragment never reaches the server, and it is
  // removed from the address bar at once so it does not linger in history.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) {
    sessionStorage.setItem(tokenKey, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function show(id, visible) {
  document.getElementById(id).hidden = !visible;
}

function problem(text) {
  const p = document.getElementById("problem");
  p.textContent = text || "";
  p.hidden = !text;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, build) {
  const body = document.querySelector(`#${tableId} tbody`);
  const rows = items.map(item => {
    const tr = document.createElement("tr");
    build(tr, item);
    return tr;
  });
  body.replaceChildren(...rows);
}

function rate(now, before, seconds) {
  if (before === undefined || seconds <= 0 || now < before) return null; // first sample, or a redeployed connector
  return (now - before) / seconds;
}

function formatRate(r) {
  if (r === null) return "–";
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

function render(status) {
  document.getElementById("version").textContent = status.version ? `version ${status.version}` : "";
  document.getElementById("updated").textContent = `updated ${new Date(status.time).toLocaleTimeString()}`;

  const seconds = previous ? (status.uptime_ms - previous.uptime) / 1000 : 0;
  const totals = new Map();

  fill("flows", status.flows, (tr, f) => {
    tr.dataset.flow = f.name;
    cell(tr, f.name);
    cell(tr, f.state, `state state-${f.state}`);
    cell(tr, f.connectors.join(", "));
    cell(tr, f.pipelines.join(", "));
  });

  fill("connectors", status.connectors, (tr, c) => {
    const before = previous ? previous.totals.get(c.alias) : undefined;
    totals.set(c.alias, { in: c.events_in, out: c.events_out });
    tr.dataset.connector = c.alias;
    cell(tr, c.alias);
    cell(tr, c.type);
    cell(tr, c.plugin ?? "");
    cell(tr, c.state, `state state-${c.state}`);
    cell(tr, formatRate(rate(c.events_in, before?.in, seconds)), "num rate-in");
    cell(tr, formatRate(rate(c.events_out, before?.out, seconds)), "num rate-out");
    cell(tr, c.events_in, "num");
    cell(tr, c.events_out, "num");
    cell(tr, c.errors, "num");
    cell(tr, c.dropped, "num");
    cell(tr, c.restarts, "num");
    cell(tr, c.circuit_breaker_open ? "open" : "closed", c.circuit_breaker_open ? "breaker-open" : "");
    cell(tr, c.last_error ?? "", "error");
  });

  fill("plugins", status.plugins, (tr, p) => {
    tr.dataset.plugin = p.name;
    cell(tr, p.name);
    cell(tr, p.version);
    cell(tr, p.kind);
    cell(tr, p.status, `state state-${p.status}`);
    cell(tr, p.provides.map(x => x.replace(/^connector:/, "")).join(", "));
    cell(tr, p.reason ?? "", "error");
  });

  const cluster = status.cluster;
  show("cluster-section", cluster !== null && cluster !== undefined);
  if (cluster) {
    document.getElementById("cluster-note").textContent = cluster.error ?? `coordinator ${cluster.coordinator}`;
    fill("nodes", cluster.nodes ?? [], (tr, n) => {
      cell(tr, n.address);
      cell(tr, n.status, `state state-${n.status}`);
      cell(tr, n.reachable ? "yes" : "no", n.reachable ? "" : "unreachable");
      cell(tr, n.roles.join(", "));
      cell(tr, n.flows.join(", "));
    });
  }

  previous = { uptime: status.uptime_ms, totals };
}

function askForToken(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(tokenKey);
  show("status", false);
  show("login", true);
  problem(message);
  document.getElementById("token").focus();
}

async function poll() {
  const token = sessionStorage.getItem(tokenKey);
  if (!token) {
    askForToken("");
    return;
  }
  try {
    const response = await fetch(statusUrl, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
    if (response.status === 401) {
      askForToken("The API refused that token. Give the token from tremor.api.token or the token file tremor wrote (its start line names it).");
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(`${response.status} ${body.error ?? response.statusText}`);
    }
    render(await response.json());
    problem("");
    show("status", true);
  } catch (e) {
    // The last snapshot stays on screen; the page keeps trying.
    problem(`Cannot read ${statusUrl.pathname}: ${e.message}. Retrying every ${intervalMs / 1000} s.`);
  }
  timer = setTimeout(poll, intervalMs);
}

document.getElementById("login").addEventListener("submit", event => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(tokenKey, token);
  document.getElementById("token").value = "";
  show("login", false);
  problem("");
  previous = null;
  poll();
});

takeTokenFromFragment();
poll();
