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
const q = (o) => Object.entries(o).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
const natural = (a, b) => a.localeCompare(b, undefined, { numeric: true });
const nodeOf = end => end.split(":")[0];

let lab = null, live = true, pos = {}, spacing = 40, selectedNode = null;

// ---------------------------------------------------------------------
// Topology: a layered layout that reads like a fabric. A node's layer is
// how many hops it is from the nearest edge node (a host: one neighbour),
// so hosts sit at the bottom, leaves above them, spines above those. Each
// row is ordered by where its neighbours in the row above and below are
// (barycentres), so a leaf's hosts sit under it. Long rows are staggered.
function layout(lab) {
  pos = {};
  const adj = new Map();
  for (const n of lab.nodes) adj.set(n.name, new Set());
  for (const s of lab.segments) adj.set("seg:" + s.name, new Set());
  const join = (a, b) => { adj.get(a).add(b); adj.get(b).add(a); };
  for (const l of lab.links) join(nodeOf(l.a), nodeOf(l.b));
  for (const s of lab.segments) for (const m of s.members) join("seg:" + s.name, nodeOf(m));
  const names = [...adj.keys()].sort(natural);
  const layer = {}, queue = [];
  for (const n of names) if (adj.get(n).size <= 1) { layer[n] = 0; queue.push(n); }
  if (queue.length === 0 && names.length) { layer[names[0]] = 0; queue.push(names[0]); } // a ring
  for (let i = 0; i < queue.length; i++) {
    for (const m of adj.get(queue[i])) if (layer[m] === undefined) { layer[m] = layer[queue[i]] + 1; queue.push(m); }
  }
  for (const n of names) if (layer[n] === undefined) layer[n] = 0;
  const top = Math.max(0, ...names.map(n => layer[n]));
  const rows = Array.from({ length: top + 1 }, () => []);
  for (const n of names) rows[layer[n]].push(n);
  const at = {};
  const place = row => row.forEach((n, i) => { at[n] = (i + 0.5) / row.length; });
  rows.forEach(place);
  const bary = (n, ref) => {
    let s = 0, k = 0;
    for (const m of adj.get(n)) if (layer[m] === ref) { s += at[m]; k++; }
    return k ? s / k : at[n];
  };
  const sweep = (from, to, step) => {
    for (let l = from; l !== to; l += step) {
      const ref = l - step;
      if (ref < 0 || ref > top) continue;
      rows[l].sort((a, b) => bary(a, ref) - bary(b, ref) || natural(a, b));
      place(rows[l]);
    }
  };
  for (let pass = 0; pass < 2; pass++) { sweep(top - 1, -1, -1); sweep(1, top + 1, 1); }
  sweep(top - 1, -1, -1);
  const perRow = 60, gap = 36;
  const width = Math.max(400, gap * Math.min(perRow, Math.max(2, ...rows.map(r => r.length))));
  spacing = Infinity;
  let y = 40;
  for (let l = top; l >= 0; l--) {
    const row = rows[l], stagger = Math.ceil(row.length / perRow);
    row.forEach((n, i) => { pos[n] = [width * (i + 0.5) / row.length, y + 28 * (i % stagger)]; });
    if (row.length > 1) spacing = Math.min(spacing, width / row.length * stagger);
    y += 110 + 28 * (stagger - 1);
  }
  if (!isFinite(spacing)) spacing = gap;
}

// The view: a viewBox the wheel zooms and a drag pans.
let vb = { x: 0, y: 0, w: 800, h: 600 };
function setView(v) {
  vb = v;
  const svg = $("topo");
  svg.setAttribute("viewBox", `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
  const ppu = svg.clientWidth / vb.w; // screen pixels per unit
  svg.classList.toggle("small", spacing * ppu < 34);
}
function fit() {
  const svg = $("topo"), pts = Object.values(pos);
  if (!pts.length) return;
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const x0 = Math.min(...xs) - 40, x1 = Math.max(...xs) + 40, y0 = Math.min(...ys) - 30, y1 = Math.max(...ys) + 40;
  const aspect = (svg.clientHeight || 520) / (svg.clientWidth || 800);
  let w = Math.max(x1 - x0, 700), h = y1 - y0; // a few nodes are not drawn huge
  if (h / w > aspect) w = h / aspect; else h = w * aspect;
  setView({ x: (x0 + x1 - w) / 2, y: (y0 + y1 - h) / 2, w, h });
}
function zoomAt(cx, cy, f) {
  setView({ x: cx - (cx - vb.x) * f, y: cy - (cy - vb.y) * f, w: vb.w * f, h: vb.h * f });
}
function svgPoint(ev) {
  const r = $("topo").getBoundingClientRect();
  return [vb.x + (ev.clientX - r.left) / r.width * vb.w, vb.y + (ev.clientY - r.top) / r.height * vb.h];
}
function panZoom() {
  const svg = $("topo");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.addEventListener("wheel", ev => {
    ev.preventDefault();
    const [x, y] = svgPoint(ev);
    zoomAt(x, y, ev.deltaY > 0 ? 1.2 : 1 / 1.2);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", ev => { drag = { x: ev.clientX, y: ev.clientY, vb: { ...vb } }; svg.classList.add("panning"); });
  window.addEventListener("pointermove", ev => {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    setView({ ...drag.vb, x: drag.vb.x - (ev.clientX - drag.x) / r.width * vb.w, y: drag.vb.y - (ev.clientY - drag.y) / r.height * vb.h });
  });
  window.addEventListener("pointerup", () => { drag = null; svg.classList.remove("panning"); });
  $("fit").addEventListener("click", fit);
}

function drawTopology() {
  const world = $("topo-world");
  world.textContent = "";
  for (const l of lab.links) {
    const [a, b] = [pos[nodeOf(l.a)], pos[nodeOf(l.b)]];
    const line = el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], class: "link", "data-link": l.name }, world);
    el("title", {}, line).textContent = `${l.name}: ${l.a} — ${l.b}`;
  }
  for (const s of lab.segments) {
    const p = pos["seg:" + s.name];
    for (const m of s.members) {
      const q = pos[nodeOf(m)];
      el("line", { x1: p[0], y1: p[1], x2: q[0], y2: q[1], class: "link", "data-link": s.name }, world);
    }
    el("rect", { x: p[0] - 8, y: p[1] - 8, width: 16, height: 16, class: "seg" }, world);
  }
  for (const n of lab.nodes) {
    const [x, y] = pos[n.name];
    const g = el("g", { class: "node " + n.stack, "data-node": n.name, transform: `translate(${x},${y})` }, world);
    el("circle", { r: 10 }, g);
    el("text", { y: 24 }, g).textContent = n.name;
    el("title", {}, g).textContent = `${n.name} (${n.kind}, ${n.stack} stack)`;
    g.addEventListener("click", () => selectNode(n.name));
    g.addEventListener("pointerdown", ev => ev.stopPropagation());
  }
  $("topo-info").textContent = `${lab.nodes.length} nodes, ${lab.links.length} links`;
  const target = $("target");
  target.textContent = "";
  for (const l of lab.links) target.add(new Option(`${l.name} (${l.a} — ${l.b})`, l.name));
}

function search(go) {
  const text = $("search").value.trim().toLowerCase();
  let first = null, n = 0;
  for (const g of document.querySelectorAll("g.node")) {
    const hit = text !== "" && g.dataset.node.toLowerCase().includes(text);
    g.classList.toggle("match", hit);
    g.classList.toggle("dim", text !== "" && !hit);
    if (hit) { n++; first = first || g.dataset.node; }
  }
  $("topo-info").textContent = text ? `${n} of ${lab.nodes.length} nodes match` : `${lab.nodes.length} nodes, ${lab.links.length} links`;
  if (go && first) {
    const [x, y] = pos[first], w = Math.min(vb.w, 400), h = w * vb.h / vb.w;
    setView({ x: x - w / 2, y: y - h / 2, w, h });
    selectNode(first);
  }
}

// The links table: every interface of a small lab; of a big one (a few
// hundred rows would help nobody and weigh on the page), the selected
// node's and those with the most drops, then the most bytes, or those the
// filter names. Rows are kept and only cells whose text changed are
// written: the page shares the lab's processors.
const maxLinkRows = 40;
let linkStats = {};
async function refreshLinks() {
  linkStats = await api("/api/impairments");
  showLinks();
  const byName = new Map(lab.links.map(l => [l.name, l]));
  for (const line of document.querySelectorAll("line.link")) {
    const l = byName.get(line.dataset.link);
    if (!l) continue;
    const st = linkStats[l.a] || linkStats[l.b];
    line.classList.toggle("down", !!(st && st.down));
    line.classList.toggle("impaired", !!(st && (st.egress || st.ingress)) && !(st && st.down));
  }
}
function showLinks() {
  const filter = $("links-filter").value.trim().toLowerCase();
  let rows = [];
  for (const [ifc, st] of Object.entries(linkStats)) {
    for (const dir of ["egress", "ingress"]) {
      const c = st.stats[dir] || {};
      const drops = ["loss", "queue", "codel", "schedule", "outage"].reduce((n, k) => n + (c["dropped_" + k] || 0), 0);
      rows.push({ ifc, dir, st, c, drops, mine: selectedNode !== null && nodeOf(ifc) === selectedNode });
    }
  }
  const total = rows.length;
  if (filter) rows = rows.filter(r => r.ifc.toLowerCase().includes(filter));
  if (rows.length > maxLinkRows) {
    rows.sort((a, b) => (b.mine - a.mine) || (b.drops - a.drops) || ((b.c.passed_bytes || 0) - (a.c.passed_bytes || 0)));
    rows = rows.slice(0, maxLinkRows);
  }
  rows.sort((a, b) => natural(a.ifc, b.ifc) || a.dir.localeCompare(b.dir));
  $("links-info").textContent = rows.length < total
    ? `${rows.length} of ${total}: ${filter ? "those the filter names" : "the selected node's, then the most drops, then the most bytes"}`
    : "";
  const body = $("links").tBodies[0];
  while (body.rows.length > rows.length) body.deleteRow(-1);
  while (body.rows.length < rows.length) {
    const tr = body.insertRow();
    for (let i = 0; i < 7; i++) tr.insertCell();
  }
  rows.forEach((r, i) => {
    const tr = body.rows[i], c = r.c;
    tr.dataset.iface = r.ifc;
    tr.dataset.dir = r.dir;
    // Drops by reason: "loss 3, queue 1".
    const dropped = ["loss", "queue", "codel", "schedule", "outage"].filter(k => c["dropped_" + k]).map(k => `${k} ${c["dropped_" + k]}`).join(", ") || "0";
    const queue = c.queue_len ? `${c.queue_len} (${c.queue_bytes} B)` : "0";
    [r.ifc, r.dir, r.st.down ? "DOWN" : (r.st[r.dir + "_text"] || "-"), c.passed || 0, c.passed_bytes || 0, dropped, queue].forEach((v, k) => {
      const text = String(v);
      if (tr.cells[k].textContent !== text) tr.cells[k].textContent = text;
    });
  });
}

// Nodes: alive when their agent answers for them.
const nodeState = {};
async function refreshNodes() {
  const states = await api("/api/nodes");
  for (const s of states) {
    nodeState[s.name] = s;
    const g = document.querySelector(`g.node[data-node="${CSS.escape(s.name)}"]`);
    if (g) { g.classList.toggle("dead", !s.alive); g.dataset.alive = s.alive; }
  }
  if (selectedNode) showNodeState();
}

function showNodeState() {
  const s = nodeState[selectedNode];
  if (!live) { $("node-state").textContent = `run ${lab.run} (over)`; return; }
  if (!s) { $("node-state").textContent = ""; return; }
  $("node-state").textContent = s.alive
    ? `alive · routes: ${(s.status.routes || []).join("; ") || "none"}`
    : `not answering: ${s.error}`;
}

function selectNode(name) {
  selectedNode = name;
  for (const g of document.querySelectorAll("g.node")) g.classList.toggle("selected", g.dataset.node === name);
  $("node-title").textContent = "Node " + name;
  const node = lab.nodes.find(n => n.name === name);
  const body = $("ifaces").tBodies[0];
  body.textContent = "";
  for (const i of node.interfaces) {
    const end = name + ":" + i.name;
    let link = "", peer = "";
    for (const l of lab.links) {
      if (l.a === end) { link = l.name; peer = l.b; }
      if (l.b === end) { link = l.name; peer = l.a; }
    }
    for (const s of lab.segments) if (s.members.includes(end)) { link = s.name; peer = s.members.filter(m => m !== end).join(", "); }
    const tr = body.insertRow();
    const label = i.written && i.written !== i.name ? `${i.name} (${i.written})` : i.name;
    for (const v of [label, i.ipv4, link, peer]) tr.insertCell().textContent = v || "";
  }
  showNodeState();
  refreshSockets();
  showLinks();
}

async function refreshSockets() {
  if (!selectedNode || !live) return;
  const socks = await api(`/api/nodes/${encodeURIComponent(selectedNode)}/sockets`);
  const body = $("sockets").tBodies[0];
  body.textContent = "";
  for (const s of socks) {
    const tr = body.insertRow();
    const ms = ns => (ns / 1e6).toFixed(1) + " ms";
    for (const v of [s.local, s.remote, s.state, s.cwnd, ms(s.rtt), ms(s.rto), s.retrans]) tr.insertCell().textContent = v ?? "";
  }
}

// ---------------------------------------------------------------------
// Connections: the events of each, from the live stream and from what the
// node's trace recorded; one is shown as a ladder and three plots.
const conns = new Map(); // "node|local->remote" → {node, conn, label, events}
let autoPick = true, shownKey = null;
const keyOf = (node, conn) => node + "|" + conn;
function ensureConn(node, conn, label) {
  const key = keyOf(node, conn);
  if (!conns.has(key)) {
    conns.set(key, { node, conn, label: label || `${node}: ${conn.replace("->", " → ")}`, events: [], series: null, loaded: false });
    if (shownKey === null) shownKey = key;
    listSoon();
  }
  return conns.get(key);
}
// The connection list is written in one go, at most every 2 s, and at
// once when the user opens it: a big lab opens hundreds of connections in
// a second, and an option added alone makes the browser restyle the list
// each time (a second of the renderer when 100 connections open).
let listTimer = null;
function listSoon() {
  if (listTimer === null) listTimer = setTimeout(listConns, 2000);
}
function listConns() {
  clearTimeout(listTimer);
  listTimer = null;
  const sel = $("conn");
  if (sel.options.length < conns.size) {
    const more = document.createDocumentFragment();
    let i = 0;
    for (const [key, c] of conns) if (i++ >= sel.options.length) more.appendChild(new Option(c.label, key));
    sel.appendChild(more);
  }
  if (shownKey !== null && sel.value !== shownKey) sel.value = shownKey;
}
// opened is a state event of the whole lab's stream: a connection opens
// (or changes state). Until the user picks one, the page shows the first
// connection opened from its client's side: the ladder of a handshake.
function opened(node, e) {
  if (!e.local || !e.remote || e.local.startsWith("invalid")) return;
  const c = ensureConn(node, e.local + "->" + e.remote);
  if (autoPick && e.state === "SYN-SENT" && e.old_state === "CLOSED") {
    autoPick = false;
    pick(keyOf(c.node, c.conn));
  }
}

// addEvent is an event of the shown connection's own stream.
function addEvent(node, e) {
  if (!e.local || !e.remote || e.local.startsWith("invalid")) return;
  const c = ensureConn(node, e.local + "->" + e.remote);
  const last = c.events[c.events.length - 1];
  if (last && e.t_us <= last.t_us) {
    // Not newer than what the page holds: a duplicate of the recorded
    // history the stream overlapped (it comes in batches, and may come
    // after the history was read) ...
    const same = JSON.stringify(e);
    for (let i = c.events.length - 1; i >= 0 && c.events[i].t_us >= e.t_us; i--) {
      if (c.events[i].t_us === e.t_us && JSON.stringify(c.events[i]) === same) return;
    }
    // ... or, older, the 4-tuple opening anew (the node's stack started
    // again, its clock with it).
    if (e.t_us < last.t_us) {
      if (!(e.kind === "state" && e.old_state === "CLOSED")) return;
      c.events = [];
    }
  }
  c.events.push(e);
  if (c.events.length > 50000) c.events.splice(0, 10000);
  if (shownKey === keyOf(c.node, c.conn)) { seriesStale = true; redraw(); }
}
function current() { return conns.get(shownKey); }

// pick shows a connection: its own stream is subscribed first, then what
// its trace recorded is read, so that no event falls between the two.
let connStream = null;
async function pick(key) {
  shownKey = key;
  listConns();
  const c = conns.get(key);
  cursor = null; following = true; replaying = false;
  redraw();
  if (live) await follow(c);
  await loadHistory(c);
  await loadSeries(c);
  redraw();
}

// loadHistory reads what the node's trace recorded of c and puts the
// stream's events it does not have yet after it. It is tried again every
// second until it works: a connection just opened may not be recorded yet.
async function loadHistory(c) {
  try {
    const r = await fetch("/api/conn/events?" + q({ node: c.node, conn: c.conn }), { headers: { "Authorization": "Bearer " + token } });
    if (!r.ok) throw new Error(r.statusText);
    const hist = await r.json();
    if (!hist.length) return;
    c.omitted = +(r.headers.get("X-Netlab-Omitted") || 0);
    c.head = +(r.headers.get("X-Netlab-Head") || 0);
    // The stream's events the trace did not have yet go after it.
    const lastHist = hist[hist.length - 1].t_us;
    const atLast = new Set(hist.filter(e => e.t_us === lastHist).map(e => JSON.stringify(e)));
    c.events = hist.concat(c.events.filter(e => e.t_us > lastHist || (e.t_us === lastHist && !atLast.has(JSON.stringify(e)))));
    c.loaded = true;
  } catch (e) { /* not recorded yet: the stream's events are all there is, until the next try */ }
}

let seriesStale = false, seriesBusy = false;
async function loadSeries(c) {
  if (seriesBusy) return;
  seriesBusy = true;
  try {
    c.series = await api("/api/conn/series?" + q({ node: c.node, conn: c.conn }));
    c.seriesGen = (c.seriesGen || 0) + 1;
    seriesStale = false;
  } catch (e) {
    c.series = null;
  } finally { seriesBusy = false; }
}

// loadConns lists the connections the traces recorded: of the selected
// node, or of every node in a replay or a small lab (reading every trace
// of a big running lab would weigh on it).
async function loadConns() {
  const nodeQ = selectedNode && (live || lab.nodes.length > 20) ? "?" + q({ node: selectedNode }) : "";
  if (live && !nodeQ && lab.nodes.length > 20) { $("status").textContent = "select a node to list its recorded connections"; return; }
  const list = await api("/api/conns" + nodeQ);
  for (const ci of list) ensureConn(ci.node, ci.conn, `${ci.node}: ${ci.label}`);
  listConns(); // the user asked for them
  if (!live && autoPick && list.length) {
    autoPick = false;
    const first = list.find(ci => ci.syn && ci.bytes_sent > 0) || list[0];
    pick(keyOf(first.node, first.conn));
  }
}

// ---------------------------------------------------------------------
// Time: the view follows the stream, or stops at a cursor (pause, the
// slider), or plays the connection again from its start (replay).
let cursor = null, following = true, replaying = false, lastFrame = 0;
function t0Of(c) { return c.series ? c.series.t0_us : (c.events.length ? c.events[0].t_us : 0); }
function endOf(c) { return c.events.length ? (c.events[c.events.length - 1].t_us - t0Of(c)) / 1e6 : 0; }
function now(c) { return cursor === null ? endOf(c) : cursor; }

function setPaused(p) {
  following = !p;
  if (!p) { cursor = null; replaying = false; }
  else if (cursor === null) { const c = current(); cursor = c ? endOf(c) : 0; }
  $("pause").textContent = following ? "pause" : "live";
  status();
  redraw();
}
function status() {
  if (!live) $("status").textContent = `replay of run ${lab.run}` + (cursor !== null ? ` at ${cursor.toFixed(3)} s` : "");
  else if (following) $("status").textContent = "live";
  else $("status").textContent = replaying ? "replaying" : `paused at ${(cursor || 0).toFixed(3)} s`;
}
function frame(ts) {
  if (!replaying) return;
  const c = current();
  const dt = lastFrame ? (ts - lastFrame) / 1000 : 0;
  lastFrame = ts;
  cursor = Math.min(endOf(c), (cursor || 0) + dt * Number($("speed").value));
  redraw();
  status();
  if (cursor >= endOf(c)) { replaying = false; status(); return; }
  requestAnimationFrame(frame);
}

// redraw draws the shown connection again: at the next frame when the
// user moves in time, at most four times a second while following the
// stream (a busy connection sends thousands of events a second, and the
// browser shares the lab's processors).
// Following the stream, the plots are drawn when their data comes (once a
// second) and the ladder at most once a second.
let pending = false, lastDraw = 0, plotsKey = "";
function redraw() {
  if (pending) return;
  pending = true;
  const wait = following && live ? Math.max(0, lastDraw + 1000 - performance.now()) : 0;
  setTimeout(() => requestAnimationFrame(() => {
    pending = false;
    lastDraw = performance.now();
    const c = current();
    if (!c) return;
    const end = endOf(c), t = now(c);
    $("scrub").max = end.toFixed(3);
    $("scrub").value = t.toFixed(3);
    $("cursor-label").textContent = `${(t * 1000).toFixed(1)} ms of ${(end * 1000).toFixed(1)} ms`;
    drawLadder(c, t);
    // Live, the plots go as far as their data; stopped, to the cursor.
    const tp = following && live ? (c.series ? c.series.seq.End || t : t) : t;
    const key = `${keyOf(c.node, c.conn)}|${c.seriesGen || 0}|${following && live ? "live" : t}`;
    if (key !== plotsKey) { plotsKey = key; drawPlots(c, tp); }
  }), wait);
}

// setAttrs writes the attributes whose value changed (null removes one);
// setText the text, if it changed.
function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null) { if (e.hasAttribute(k)) e.removeAttribute(k); continue; }
    const s = String(v);
    if (e.getAttribute(k) !== s) e.setAttribute(k, s);
  }
}
function setText(e, text) { if (e.textContent !== text) e.textContent = text; }
// ladderFrame is what the ladder keeps from one drawing to the next: the
// arrowhead, the two ends' lines and names, and its rows.
let ladder = null;
function ladderFrame(svg) {
  if (ladder) return ladder;
  svg.textContent = "";
  const defs = el("defs", {}, svg);
  const m = el("marker", { id: "head", markerWidth: 8, markerHeight: 8, refX: 8, refY: 4, orient: "auto" }, defs);
  el("path", { d: "M0,0 L8,4 L0,8 z" }, m);
  ladder = {
    lineL: el("line", { stroke: "#000" }, svg), lineR: el("line", { stroke: "#000" }, svg),
    headL: el("text", { y: 14, "text-anchor": "middle" }, svg), headR: el("text", { y: 14, "text-anchor": "middle" }, svg),
    body: el("g", {}, svg), rows: [],
  };
  return ladder;
}

// The ladder: one connection's segments as arrows between its two ends,
// time going down, up to the cursor; retransmissions red, segments the
// impairment dropped stopped with a cross, timers as dashed lines.
let ladderBoxHeight = 0; // fixed by the style sheet: read once
function drawLadder(c, t) {
  const svg = $("ladder"), t0 = t0Of(c);
  // The rows up to the cursor, counted from the end: a busy connection
  // holds tens of thousands of events, of which a screenful is drawn.
  const isRow = e => e.kind === "in" || e.kind === "out" || e.kind === "timer" || e.kind === "drop" || e.kind === "lost";
  const limit = t0 + Math.round(t * 1e6);
  let end = c.events.length;
  while (end > 0 && c.events[end - 1].t_us > limit) end--;
  // Following a live connection that is still open, the ladder shows its
  // latest events (a screenful); otherwise the 400 up to the cursor.
  const last = c.events[c.events.length - 1];
  const open = last && !["TIME-WAIT", "CLOSED", "LAST-ACK", "CLOSING"].includes(last.state);
  // Live, the rows that fit the box (no scrolling, which would make the
  // browser lay the page out again each time); else 400 to scroll.
  const left = 150, right = 560, top = 30, rowH = 18, tail = following && live && open;
  ladderBoxHeight = ladderBoxHeight || $("ladder-box").clientHeight;
  const maxRows = tail ? Math.max(10, Math.floor((ladderBoxHeight - top) / rowH) - 1) : 400;
  const shown = [];
  let before = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (!isRow(c.events[i])) continue;
    if (shown.length < maxRows) shown.push(c.events[i]); else before++;
  }
  shown.reverse();
  setText($("ladder-more"), (before ? `(the ${before} events before these are not drawn: pause or scrub back to see them) ` : "") +
    (c.omitted ? `(${c.omitted} recorded events after the first ${c.head} were not loaded: netlab trace ${c.node} --replay has them all)` : ""));
  const f = ladderFrame(svg);
  setAttrs(svg, { height: top + rowH * (shown.length + 1) });
  setAttrs(f.lineL, { x1: left, y1: top - 10, x2: left, y2: top + rowH * shown.length });
  setAttrs(f.lineR, { x1: right, y1: top - 10, x2: right, y2: top + rowH * shown.length });
  const [local, remote] = c.conn.split("->");
  // Sequence numbers relative to each end's ISN, as tcpdump prints them.
  // (Found from the SYNs among the first events, and kept.)
  if (c.isnFrom !== c.events[0] || c.isnL === undefined || c.isnR === undefined) {
    c.isnFrom = c.events[0];
    c.isnL = c.isnR = undefined;
    for (const e of c.events.slice(0, 500)) {
      if (e.flags && e.flags.startsWith("S")) {
        if (e.kind === "out" && c.isnL === undefined) c.isnL = e.seq;
        if (e.kind === "in" && c.isnR === undefined) c.isnR = e.seq;
      }
      if (c.isnL !== undefined && c.isnR !== undefined) break;
    }
  }
  const isnL = c.isnL, isnR = c.isnR;
  const rel = (v, isn) => isn === undefined || v === undefined ? v : (v - isn) >>> 0;
  setAttrs(f.headL, { x: left });
  setText(f.headL, `${c.node} ${local}`);
  setAttrs(f.headR, { x: right });
  setText(f.headR, remote);
  // Each row is a group of four (a label at the left, a line, a cross for
  // a drop, a label over the line), kept from one drawing to the next:
  // only what changed is written (live, each second moves every row).
  while (f.rows.length < shown.length) {
    const g = el("g", {});
    f.rows.push({ g, when: el("text", {}, g), line: el("line", {}, g), x: el("path", {}, g), seg: el("text", { "text-anchor": "middle" }, g) });
  }
  f.rows.forEach((r, i) => {
    if (i >= shown.length) { if (r.g.parentNode) r.g.remove(); return; }
    if (!r.g.parentNode) f.body.appendChild(r.g);
    const e = shown[i], y = top + rowH * i + 8;
    const when = `${((e.t_us - t0) / 1000).toFixed(1)} ms`;
    const [sIsn, aIsn] = e.kind === "in" || (e.kind === "drop" && e.dir === "ingress") ? [isnR, isnL] : [isnL, isnR];
    const seg = `${e.flags || ""} seq ${rel(e.seq ?? 0, sIsn)}${e.ack !== undefined ? " ack " + rel(e.ack, aIsn) : ""} len ${e.len || 0} win ${e.wnd || 0}`;
    if (e.kind === "timer" || e.kind === "lost") {
      const what = e.kind === "timer" ? `${e.timer} timer fired` : `${e.len} events lost`;
      setAttrs(r.line, { x1: left, y1: y, x2: right, y2: y, class: "timer-line", "data-flags": null, "data-reason": null });
      setAttrs(r.when, { x: 4, y: y + 3, class: "timer-label", "data-timer": e.timer || "lost" });
      setText(r.when, `${when} ${what}`);
      setAttrs(r.x, { d: "", class: "" });
      setAttrs(r.seg, { class: "" });
      setText(r.seg, "");
      return;
    }
    setAttrs(r.when, { x: 4, y, class: "ladder-label", "data-timer": null });
    setText(r.when, when);
    setAttrs(r.seg, { x: (left + right) / 2, y: y - 2 });
    if (e.kind === "drop") {
      const [x1, x2] = e.dir === "ingress" ? [right, left + 40] : [left, (left + right) / 2];
      setAttrs(r.line, { x1, y1: y - 6, x2, y2: y + 6, class: "arrow drop", "data-flags": e.flags || "", "data-reason": e.reason || "" });
      setAttrs(r.x, { d: `M${x2 - 5},${y + 1} l10,10 m0,-10 l-10,10`, class: "drop-x" });
      setAttrs(r.seg, { class: "ladder-label drop" });
      setText(r.seg, `${seg} dropped (${e.reason || "?"}) on ${e.ifname || "?"} ${e.dir || ""}`);
      return;
    }
    const [x1, x2] = e.kind === "out" ? [left, right] : [right, left];
    setAttrs(r.line, { x1, y1: y - 6, x2, y2: y + 6, class: "arrow" + (e.retrans ? " retrans" : ""), "data-flags": e.flags || "", "data-reason": null });
    setAttrs(r.x, { d: "", class: "" });
    setAttrs(r.seg, { class: "ladder-label" });
    setText(r.seg, `${seg}${e.opts ? " <" + e.opts + ">" : ""}${e.retrans ? " retransmission" : ""}`);
  });
  if (following && live && !tail) $("ladder-box").scrollTop = top + rowH * (shown.length + 1); // the end
}

// ---------------------------------------------------------------------
// Plots: the series `netlab plot` draws, up to the cursor.
const nice = (max) => {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max))), f = max / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
};
function plot(svg, title, unit, t, items) {
  svg.textContent = "";
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  const L = 60, R = W - 12, T = 18, B = H - 24;
  const xmax = nice(Math.max(t, 0.001));
  let ymax = 0;
  const upTo = pts => (pts || []).filter(p => p.T <= t + 1e-9);
  for (const it of items) if (!it.unscaled) for (const p of upTo(it.pts)) ymax = Math.max(ymax, it.bars ? p.End : p.V);
  ymax = nice(ymax * 1.05);
  const X = v => L + (R - L) * v / xmax, Y = v => B - (B - T) * v / ymax;
  // What lies above the scale (the advertised window) is cut at the top.
  const clip = "clip-" + svg.id;
  el("rect", { x: L, y: T, width: R - L, height: B - T }, el("clipPath", { id: clip }, el("defs", {}, svg)));
  const area = el("g", { "clip-path": `url(#${clip})` }, svg);
  el("text", { x: L, y: 12, class: "title" }, svg).textContent = title;
  el("line", { x1: L, y1: B, x2: R, y2: B, class: "axis" }, svg);
  el("line", { x1: L, y1: T, x2: L, y2: B, class: "axis" }, svg);
  for (let i = 0; i <= 4; i++) {
    el("text", { x: X(xmax * i / 4), y: B + 12, "text-anchor": "middle", class: "tick" }, svg).textContent = `${+(xmax * i / 4).toPrecision(3)} s`;
    el("text", { x: L - 4, y: Y(ymax * i / 4) + 3, "text-anchor": "end", class: "tick" }, svg).textContent = `${+(ymax * i / 4).toPrecision(3)}${unit}`;
  }
  let lx = L + 8;
  for (const it of items) {
    const pts = upTo(it.pts);
    // Thousands of segments or samples are one path each, not thousands
    // of elements: the browser shares the lab's processors.
    if (it.bars) {
      for (const [name, list, color] of [[it.name, pts.filter(p => !p.Retrans), it.color], [it.name + " retransmitted", pts.filter(p => p.Retrans), "#c00"]]) {
        const path = el("path", { d: list.map(s => `M${X(s.T).toFixed(1)},${Y(s.Start).toFixed(1)}V${Y(s.End).toFixed(1)}`).join(""), stroke: color, "stroke-width": 2, class: "bars" }, area);
        path.dataset.series = name;
        path.dataset.count = list.length;
      }
    } else if (it.dots) {
      const path = el("path", { d: pts.map(p => `M${X(p.T).toFixed(1)},${Y(p.V).toFixed(1)}h0`).join(""), stroke: it.color, "stroke-width": 2 * (it.r || 1.5), "stroke-linecap": "round", class: "dots" }, area);
      path.dataset.series = it.name;
      path.dataset.count = pts.length;
    } else if (pts.length) {
      let d = `M${X(pts[0].T)},${Y(pts[0].V)}`;
      for (let i = 1; i < pts.length; i++) d += ` H${X(pts[i].T)} V${Y(pts[i].V)}`;
      d += ` H${X(Math.min(t, it.end ?? t))}`;
      const path = el("path", { d, stroke: it.color, class: "line" }, area);
      path.dataset.series = it.name;
      path.dataset.points = pts.length;
    }
    el("text", { x: lx, y: T + 10, fill: it.color, class: "tick" }, svg).textContent = it.name;
    lx += 8 + 6 * it.name.length;
  }
  el("line", { x1: X(t), y1: T, x2: X(t), y2: B, class: "cursor" }, svg);
}
function drawPlots(c, t) {
  const s = c.series;
  if (!s) {
    for (const id of ["plot-seq", "plot-cwnd", "plot-rtt"]) $(id).textContent = "";
    return;
  }
  const seq = s.seq, cw = s.cwnd, rtt = s.rtt, thin = s.thinned ? " — thinned to 1000 points a line (netlab plot draws all)" : "";
  plot($("plot-seq"), `time–sequence (${seq.Dir === 2 ? "received" : "sent"} data)${thin}`, " B", t, [
    { name: "segments", pts: seq.Segments, bars: true, color: "#1f4e79" },
    { name: "ACK", pts: seq.ACKs, color: "#38761d", end: seq.End },
    { name: "window", pts: seq.Window, color: "#b45f06", end: seq.End, unscaled: true },
  ]);
  plot($("plot-cwnd"), "congestion window", " B", t, [
    { name: "cwnd", pts: cw.Cwnd, color: "#1f4e79", end: cw.End },
    { name: "ssthresh", pts: cw.Ssthresh, color: "#c00", end: cw.End },
    { name: "in flight", pts: cw.InFlight, color: "#6aa84f", end: cw.End },
  ]);
  plot($("plot-rtt"), "RTT and RTO", " ms", t, [
    { name: "srtt", pts: rtt.SRTT, color: "#1f4e79", end: rtt.End },
    { name: "rto", pts: rtt.RTO, color: "#c00", end: rtt.End },
    { name: "samples", pts: rtt.Samples, dots: true, color: "#888" },
    { name: "rto fired", pts: rtt.Firings, dots: true, r: 4, color: "#c00" },
  ]);
}

// ---------------------------------------------------------------------
// stream follows the state changes of every connection of the lab: its
// connections as they open and close, never their segments.
function stream() {
  const es = new EventSource("/api/events?" + q({ kind: "state", token }));
  es.addEventListener("trace", m => { for (const d of JSON.parse(m.data)) opened(d.node, d.event); });
  es.addEventListener("ready", () => { document.body.dataset.stream = "ready"; status(); });
  es.onopen = () => status();
  es.onerror = () => { document.body.dataset.stream = ""; $("status").textContent = "reconnecting…"; };
}

// follow streams every event of connection c (and only c), resolving
// once the agent has subscribed it.
function follow(c) {
  if (connStream) connStream.close();
  $("dropped").textContent = "";
  return new Promise(resolve => {
    const es = new EventSource("/api/events?" + q({ node: c.node, conn: c.conn, token }));
    connStream = es;
    es.addEventListener("trace", m => { for (const d of JSON.parse(m.data)) addEvent(d.node, d.event); });
    es.addEventListener("ready", () => resolve());
    es.addEventListener("dropped", m => { $("dropped").textContent = `(${m.data} events dropped: the page fell behind)`; });
    es.onerror = () => resolve();
  });
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
$("conn").addEventListener("change", () => { autoPick = false; pick($("conn").value); });
for (const ev of ["pointerdown", "focus"]) $("conn").addEventListener(ev, listConns);
$("conns-reload").addEventListener("click", () => loadConns().catch(e => { $("status").textContent = e.message; }));
$("search").addEventListener("input", () => search(false));
$("links-filter").addEventListener("input", showLinks);
$("search").addEventListener("keydown", ev => { if (ev.key === "Enter") search(true); });
$("pause").addEventListener("click", () => setPaused(following));
$("scrub").addEventListener("input", () => { replaying = false; setPaused(true); cursor = Number($("scrub").value); status(); redraw(); });
$("replay").addEventListener("click", () => {
  if (!current()) return;
  setPaused(true);
  cursor = 0; replaying = true; lastFrame = 0;
  status();
  requestAnimationFrame(frame);
});

(async () => {
  lab = await api("/api/lab");
  live = lab.live;
  document.body.classList.toggle("replay", !live);
  $("title").textContent = "netlab: " + lab.name + (live ? "" : ` (run ${lab.run})`);
  layout(lab);
  drawTopology();
  panZoom();
  fit();
  window.addEventListener("resize", fit);
  if (!live) {
    status();
    $("pause").disabled = true;
    await loadConns();
    return;
  }
  stream();
  // Every node's agent is asked for its links' counters and its state:
  // in a big lab less often, so that the page never weighs on the lab.
  const every = (min, perNode) => Math.max(min, lab.nodes.length * perNode) * 1000;
  // The plots of a connection followed live are asked for every 2 s:
  // each time, the server computes them from the whole recorded trace.
  let second = 0;
  setInterval(() => {
    second++;
    refreshSockets().catch(() => {});
    const c = current();
    if (c && !c.loaded) loadHistory(c).then(redraw);
    if (c && following && seriesStale && second % 2 === 0) loadSeries(c).then(redraw);
  }, 1000);
  setInterval(() => refreshLinks().catch(() => {}), every(1, 0.05));
  setInterval(() => refreshNodes().catch(() => {}), every(3, 0.05));
  refreshNodes().catch(() => {});
  refreshLinks().catch(e => { $("status").textContent = e.message; });
  if (lab.nodes.length <= 20) loadConns().catch(() => {});
})();
