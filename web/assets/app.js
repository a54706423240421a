// netlab's live page: plain JavaScript, no libraries, nothing fetched
// from elsewhere. Every request carries the token from the page's address.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const api = (path, opts = {}) => {
  opts.headers = Object.assign({ "Authorization": "Bearer " + token }, opts.headers || {});
  return fetch(path, opts).then(async r => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.statusText);
    return body;
  });
};
const $ = id => document.getElementById(id);
const svgNS = "http://www.w3.org/2000/svg";
const el = (name, attrs, parent) => {
  const e = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
};

let lab = null, pos = {}, selectedNode = null;

// A readable layout without a library: nodes on concentric rings by
// degree (routers and switches inside, hosts outside).
function layout(lab) {
  const deg = {};
  for (const n of lab.nodes) deg[n.name] = 0;
  for (const l of lab.links) { deg[l.a.split(":")[0]]++; deg[l.b.split(":")[0]]++; }
  const inner = lab.nodes.filter(n => deg[n.name] > 1), outer = lab.nodes.filter(n => deg[n.name] <= 1);
  const ring = (list, r) => list.forEach((n, i) => {
    const a = 2 * Math.PI * i / Math.max(list.length, 1);
    pos[n.name] = [400 + r * Math.cos(a), 300 + r * Math.sin(a)];
  });
  ring(inner, inner.length > 1 ? 140 : 0);
  ring(outer, 250);
  lab.segments.forEach((s, i) => { pos["seg:" + s.name] = [400 + 60 * i, 300]; });
}

function drawTopology() {
  const svg = $("topo");
  svg.textContent = "";
  for (const l of lab.links) {
    const [a, b] = [pos[l.a.split(":")[0]], pos[l.b.split(":")[0]]];
    const line = el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "link", "data-link": l.name }, svg);
    el("title", {}, line).textContent = `${l.name}: ${l.a} — ${l.b}`;
  }
  for (const s of lab.segments) {
    const p = pos["seg:" + s.name];
    for (const m of s.members) {
      const q = pos[m.split(":")[0]];
      el("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], class: "link", "data-link": s.name }, svg);
    }
    el("rect", { x: p[0] - 8, y: p[1] - 8, width: 16, height: 16, class: "seg" }, svg);
  }
  for (const n of lab.nodes) {
    const [x, y] = pos[n.name];
    const g = el("g", { class: "node " + n.stack, "data-node": n.name, transform: `translate(${x},${y})` }, svg);
    el("circle", { r: 12 }, g);
    el("text", { y: 26 }, g).textContent = n.name;
    g.addEventListener("click", () => selectNode(n.name));
  }
  const target = $("target");
  target.textContent = "";
  for (const l of lab.links) target.add(new Option(`${l.name} (${l.a} — ${l.b})`, l.name));
}

async function refreshLinks() {
  const imps = await api("/api/impairments");
  const body = $("links").tBodies[0];
  body.textContent = "";
  for (const [ifc, st] of Object.entries(imps).sort()) {
    for (const dir of ["egress", "ingress"]) {
      const c = st.stats[dir] || {};
      const tr = body.insertRow();
      const dropped = ["dropped_loss", "dropped_queue", "dropped_codel", "dropped_schedule", "dropped_outage"].reduce((a, k) => a + (c[k] || 0), 0);
      for (const v of [ifc, dir, st.down ? "DOWN" : (st[dir] ? JSON.stringify(st[dir]) : "-"), c.passed || 0, dropped, c.queue_len || 0]) {
        tr.insertCell().textContent = v;
      }
    }
  }
  for (const line of document.querySelectorAll("line.link")) {
    const l = lab.links.find(k => k.name === line.dataset.link);
    if (!l) continue;
    const st = imps[l.a] || imps[l.b];
    line.classList.toggle("down", !!(st && st.down));
    line.classList.toggle("impaired", !!(st && (st.egress || st.ingress)) && !(st && st.down));
  }
}

async function selectNode(name) {
  selectedNode = name;
  $("node-title").textContent = "Node " + name;
  refreshSockets();
}

async function refreshSockets() {
  if (!selectedNode) return;
  const socks = await api(`/api/nodes/${encodeURIComponent(selectedNode)}/sockets`);
  const body = $("sockets").tBodies[0];
  body.textContent = "";
  for (const s of socks) {
    const tr = body.insertRow();
    const ms = ns => (ns / 1e6).toFixed(1) + " ms";
    for (const v of [s.local, s.remote, s.state, s.cwnd, ms(s.rtt), ms(s.rto), s.retrans]) tr.insertCell().textContent = v ?? "";
  }
}

// The ladder: one connection's segments as arrows between its two ends,
// time going down; retransmissions red; timers as marks on the left.
const conns = new Map();
let autoPick = true;
function addEvent(node, e) {
  if (!e.local || !e.remote || e.local.startsWith("invalid")) return;
  const key = node + " " + e.local + " → " + e.remote;
  if (!conns.has(key)) {
    conns.set(key, []);
    $("conn").add(new Option(key, key));
    if (conns.size === 1) $("conn").value = key;
  }
  // Until the user picks one, show the first connection opened from its
  // client's side (its first event a SYN sent): the ladder of a handshake.
  if (autoPick && e.kind === "out" && e.flags === "S" && conns.get(key).length === 0) {
    $("conn").value = key;
    autoPick = false;
    scheduleLadder();
  }
  const list = conns.get(key);
  list.push(e);
  if (list.length > 2000) list.shift();
  if ($("conn").value === key) scheduleLadder();
}
let ladderPending = false;
function scheduleLadder() {
  if (ladderPending) return;
  ladderPending = true;
  requestAnimationFrame(() => { ladderPending = false; drawLadder(); });
}
function drawLadder() {
  const svg = $("ladder"), evs = (conns.get($("conn").value) || []).filter(e => e.kind === "in" || e.kind === "out" || e.kind === "timer");
  svg.textContent = "";
  const defs = el("defs", {}, svg);
  const m = el("marker", { id: "head", markerWidth: 8, markerHeight: 8, refX: 8, refY: 4, orient: "auto" }, defs);
  el("path", { d: "M0,0 L8,4 L0,8 z" }, m);
  const left = 120, right = 520, top = 30, rowH = 18, maxRows = 400;
  const shown = evs.slice(0, maxRows);
  $("ladder-more").textContent = evs.length > maxRows ? `(${evs.length - maxRows} more events not drawn)` : "";
  svg.setAttribute("height", top + rowH * (shown.length + 1));
  el("line", { x1: left, y1: top - 10, x2: left, y2: top + rowH * shown.length, stroke: "#000" }, svg);
  el("line", { x1: right, y1: top - 10, x2: right, y2: top + rowH * shown.length, stroke: "#000" }, svg);
  if (shown.length) {
    el("text", { x: left, y: 14, "text-anchor": "middle" }, svg).textContent = shown[0].local;
    el("text", { x: right, y: 14, "text-anchor": "middle" }, svg).textContent = shown[0].remote;
  }
  const t0 = evs.length ? evs[0].t_us : 0;
  shown.forEach((e, i) => {
    const y = top + rowH * i + 8;
    const label = `${e.flags || ""} seq ${e.seq ?? 0}${e.ack !== undefined ? " ack " + e.ack : ""} len ${e.len || 0} win ${e.wnd || 0}${e.opts ? " <" + e.opts + ">" : ""}${e.retrans ? " retransmission" : ""}`;
    if (e.kind === "timer") {
      el("text", { x: 4, y, class: "ladder-label" }, svg).textContent = `${((e.t_us - t0) / 1000).toFixed(1)} ms ${e.timer}`;
      return;
    }
    const [x1, x2] = e.kind === "out" ? [left, right] : [right, left];
    const a = el("line", { x1, y1: y - 6, x2, y2: y + 6, class: "arrow" + (e.retrans ? " retrans" : "") }, svg);
    a.dataset.flags = e.flags || "";
    el("text", { x: (left + right) / 2, y: y - 2, "text-anchor": "middle", class: "ladder-label" }, svg).textContent = label;
    el("text", { x: 4, y, class: "ladder-label" }, svg).textContent = `${((e.t_us - t0) / 1000).toFixed(1)} ms`;
  });
}

function stream() {
  const es = new EventSource("/api/events?token=" + encodeURIComponent(token));
  es.addEventListener("trace", m => { const d = JSON.parse(m.data); addEvent(d.node, d.event); });
  es.addEventListener("dropped", m => { $("dropped").textContent = `(${m.data} events dropped: the page fell behind)`; });
  es.onopen = () => { $("status").textContent = "live"; };
  es.onerror = () => { $("status").textContent = "reconnecting…"; };
}

async function control(body) {
  try {
    await api("/api/impair", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    $("impair-result").textContent = "done";
    refreshLinks();
  } catch (e) {
    $("impair-result").textContent = e.message;
  }
}

$("impair").addEventListener("submit", ev => {
  ev.preventDefault();
  const set = {};
  for (const k of ["delay", "loss", "rate"]) if ($(k).value) set[k] = $(k).value;
  control({ target: $("target").value, set });
});
$("clear").addEventListener("click", () => control({ target: $("target").value, clear: true }));
$("down").addEventListener("click", () => control({ target: $("target").value, down: true }));
$("up").addEventListener("click", () => control({ target: $("target").value, down: false }));
$("conn").addEventListener("change", () => { autoPick = false; drawLadder(); });
$("search").addEventListener("input", () => {
  const q = $("search").value.trim();
  for (const g of document.querySelectorAll("g.node")) g.classList.toggle("dim", q !== "" && !g.dataset.node.includes(q));
});

(async () => {
  lab = await api("/api/lab");
  $("title").textContent = "netlab: " + lab.name;
  layout(lab);
  drawTopology();
  stream();
  setInterval(() => { refreshLinks().catch(() => {}); refreshSockets().catch(() => {}); }, 1000);
  refreshLinks().catch(e => { $("status").textContent = e.message; });
})();
