// hpdeco dashboard: reads the server's JSON and draws the pages as SVG.
// Safety rule of this file: every name and value from the store reaches the page through
// textContent or setAttribute on a fixed attribute name; never innerHTML. Links are built
// from numbers only.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const body = document.body;
  const POLL_MS = Math.max(100, Number(body.dataset.poll) || 2000);
  const STATE_COLOR = {
    COMPLETE: "#2f6fd0", PRUNED: "#e0892b", FAIL: "#d23f3f", RUNNING: "#1f9a5a", WAITING: "#8a8a8a",
  };
  const STATES = ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];
  const DASHES = [null, "6 3", "2 3", "8 3 2 3", "1 2"]; // runs (folds, executions) 0, 1, 2...

  // -- DOM helpers ---------------------------------------------------------------------------
  function put(node, attrs, kids) {
    for (const key of Object.keys(attrs || {})) {
      const v = attrs[key];
      if (v === null || v === undefined || v === false) continue;
      if (key === "text") node.textContent = String(v);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), v);
      else node.setAttribute(key, String(v));
    }
    for (const kid of (kids || []).flat(4)) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }
  const el = (tag, attrs, ...kids) => put(document.createElement(tag), attrs, kids);
  const sv = (tag, attrs, ...kids) => put(document.createElementNS(SVG, tag), attrs, kids);
  const main = document.getElementById("main");
  const status = document.getElementById("status");

  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      const a = Math.abs(v);
      if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential((digits || 4) - 1);
      return String(Number(v.toPrecision(digits || 4)));
    }
    if (typeof v === "boolean") return v ? "True" : "False";
    return String(v);
  }
  function when(ts) {
    return ts ? new Date(ts * 1000).toLocaleString() : "–";
  }
  function duration(t) {
    if (!t.started_at || !t.finished_at) return null;
    return t.finished_at - t.started_at;
  }
  function fmtDuration(s) {
    if (s === null) return "–";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }

  async function getJSON(url) {
    const answer = await fetch(url, { cache: "no-store" });
    const data = await answer.json();
    if (!answer.ok) throw new Error(data.error || answer.statusText);
    return data;
  }

  // Poll ``step`` every POLL_MS, after each answer (never two requests at once).
  function live(step) {
    let failures = 0;
    async function tick() {
      try {
        if ((await step()) === "done") {
          status.textContent = "finished";
          status.className = "status ok";
          return;
        }
        failures = 0;
        status.textContent = "live · " + new Date().toLocaleTimeString();
        status.className = "status ok";
      } catch (err) {
        failures += 1;
        status.textContent = "not updating: " + err.message + " (retrying)";
        status.className = "status bad";
      }
      setTimeout(tick, POLL_MS * Math.min(failures + 1, 5));
    }
    return tick();
  }

  // -- charts --------------------------------------------------------------------------------
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return out;
  }
  function extent(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) {
      if (v === null || !isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.05, hi + (Math.abs(hi) || 1) * 0.05];
    const pad = (hi - lo) * 0.04;
    return [lo - pad, hi + pad];
  }
  // An SVG chart with axes: returns {svg, plot, x, y} where x and y map data to pixels.
  function frame(opts) {
    const W = opts.width || 560, H = opts.height || 300;
    const m = { l: 58, r: 14, t: 10, b: 38 };
    const [x0, x1] = opts.x, [y0, y1] = opts.y;
    const x = (v) => m.l + ((v - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    const y = (v) => H - m.b - ((v - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
    const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
      "aria-label": opts.label });
    const axes = sv("g", { class: "axes" });
    for (const t of niceTicks(x0, x1, 6)) {
      axes.append(sv("line", { x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, class: "grid" }),
        sv("text", { x: x(t), y: H - m.b + 14, "text-anchor": "middle", text: fmt(t, 3) }));
    }
    for (const t of niceTicks(y0, y1, 5)) {
      axes.append(sv("line", { x1: m.l, x2: W - m.r, y1: y(t), y2: y(t), class: "grid" }),
        sv("text", { x: m.l - 5, y: y(t) + 4, "text-anchor": "end", text: fmt(t, 3) }));
    }
    axes.append(
      sv("text", { x: (m.l + W - m.r) / 2, y: H - 6, "text-anchor": "middle", class: "label",
        text: opts.xLabel }),
      sv("text", { x: 12, y: (m.t + H - m.b) / 2, "text-anchor": "middle", class: "label",
        transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, text: opts.yLabel }));
    const plot = sv("g", { class: "plot" });
    svg.append(axes, plot);
    return { svg, plot, x, y };
  }
  function pathOf(points, x, y) {
    let d = "", pen = false;
    for (const [s, v] of points) {
      if (v === null) { pen = false; continue; }
      d += (pen ? "L" : "M") + x(s).toFixed(1) + " " + y(v).toFixed(1);
      pen = true;
    }
    return d;
  }
  function cross(cx, cy, r, color, title) {
    return sv("path", { d: `M${cx - r} ${cy - r}L${cx + r} ${cy + r}M${cx - r} ${cy + r}L${cx + r} ${cy - r}`,
      stroke: color, "stroke-width": 2, class: "stop" }, sv("title", { text: title }));
  }
  function card(title, ...kids) {
    return el("section", { class: "card" }, el("h2", { text: title }), ...kids);
  }

  // -- the studies page ----------------------------------------------------------------------
  function studiesPage() {
    const list = el("div", { id: "studies" });
    main.replaceChildren(el("h1", { text: "Studies" }), list);
    return live(async () => {
      const data = await getJSON("/api/studies");
      if (!data.studies.length) {
        list.replaceChildren(el("p", { class: "empty", text: "No study in this store yet: run a search." }));
        body.dataset.ready = "1";
        return;
      }
      const head = el("tr", {}, ["study", "objective", "trials", ...STATES.slice(0, 4), "best", "last activity"]
        .map((h) => el("th", { text: h })));
      const rows = data.studies.map((s) => {
        const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
        return el("tr", { class: "study" },
          el("td", {}, el("a", { href: "/study/" + Number(s.id), class: "name", text: s.name })),
          el("td", { text: s.objectives.map((o) => `${o[0]} (${o[1]})`).join(", ") }),
          el("td", { class: "num", text: total }),
          STATES.slice(0, 4).map((st) => el("td", { class: "num", text: s.counts[st] || 0 })),
          el("td", { class: "num", text: s.best ? `${fmt(s.best.value, 6)} (#${s.best.number})` : "–" }),
          el("td", { text: when(s.last_activity) }));
      });
      list.replaceChildren(el("table", { class: "grid-table" }, el("thead", {}, head), el("tbody", {}, rows)));
      body.dataset.ready = "1";
    });
  }

  // -- the study page ------------------------------------------------------------------------
  function studyPage(id) {
    const trials = new Map(); // number -> trial, as last sent
    let study = null, cursor = { number: -1, seq: 0 }, importance = null, importanceAt = -1;
    let metric = null, sortKey = "number", sortDir = 1;
    const title = el("h1", { text: "Study" });
    const summary = el("p", { class: "summary" });
    const history = el("div", { class: "chart-box", id: "history" });
    const curves = el("div", { class: "chart-box", id: "curves" });
    const metricPick = el("select", { id: "metric", onchange: () => { metric = metricPick.value; drawCurves(); } });
    const importanceBox = el("div", { class: "chart-box", id: "importance" });
    const parallel = el("div", { class: "chart-box", id: "parallel" });
    const pareto = el("section", { class: "card", id: "pareto-card", hidden: true });
    const filter = el("input", { id: "filter", type: "search", placeholder: "filter: text in any column",
      oninput: () => drawTable() });
    const stateFilter = el("select", { id: "state-filter", onchange: () => drawTable() },
      el("option", { value: "", text: "every state" }), STATES.map((s) => el("option", { value: s, text: s })));
    const table = el("div", { id: "trials" });
    main.replaceChildren(title, summary,
      el("div", { class: "cards" },
        card("History (best so far)", history),
        card("Learning curves", el("label", {}, "metric ", metricPick), curves,
          el("p", { class: "legend" }, legendItems())),
        card("Parameter importance", importanceBox),
        card("Parallel coordinates (COMPLETE trials)", parallel),
        pareto),
      card("Trials", el("div", { class: "filters" }, filter, " ", stateFilter), table));

    function legendItems() {
      return [STATES.slice(0, 4).map((s) => el("span", { class: "key" },
        el("span", { class: "swatch", "data-state": s }), s.toLowerCase())),
      el("span", { class: "key" }, "× where a pruned trial was stopped; dashes: runs / folds 1, 2, …")];
    }

    const better = (a, b) => (study.direction === "max" ? a > b : a < b);
    const sorted = () => [...trials.values()].sort((a, b) => a.number - b.number);

    function drawSummary() {
      const all = sorted();
      const counts = {};
      for (const t of all) counts[t.state] = (counts[t.state] || 0) + 1;
      let best = null;
      for (const t of all) if (t.state === "COMPLETE" && t.value !== null && (!best || better(t.value, best.value))) best = t;
      document.title = study.name + " · hpdeco";
      title.textContent = study.name;
      put(summary, {}, []).replaceChildren();
      put(summary, {}, [
        el("span", { text: study.objectives.map((o) => `${o[0]} (${o[1]})`).join(", ") }), " · ",
        el("span", { text: `${all.length} trials` }), " ",
        STATES.filter((s) => counts[s]).map((s) => el("span", { class: "badge", "data-state": s, text: `${s} ${counts[s]}` })),
        " · best: ", best ? el("a", { href: `/study/${Number(study.id)}/trial/${Number(best.number)}`,
          text: `${fmt(best.value, 6)} (trial ${best.number})` }) : "none yet"]);
    }

    function drawHistory() {
      const all = sorted().filter((t) => t.value !== null && (t.state === "COMPLETE" || t.state === "PRUNED"));
      if (!all.length) { history.replaceChildren(el("p", { class: "empty", text: "No finished trial with a value yet." })); return; }
      const numbers = sorted().map((t) => t.number);
      const f = frame({ x: [Math.min(...numbers, 0), Math.max(...numbers, 1)], y: extent(all.map((t) => t.value)),
        xLabel: "trial", yLabel: study.objective, label: "optimisation history" });
      let best = null, d = "";
      for (const t of all) {
        const c = STATE_COLOR[t.state];
        const tip = sv("title", { text: `trial ${t.number} ${t.state}: ${fmt(t.value, 6)}` });
        f.plot.append(sv("circle", { cx: f.x(t.number), cy: f.y(t.value), r: 3.2, class: "point",
          fill: t.state === "COMPLETE" ? c : "none", stroke: c, "data-state": t.state }, tip));
        if (t.state !== "COMPLETE") continue;
        if (best === null || better(t.value, best)) best = t.value;
        const px = f.x(t.number).toFixed(1), py = f.y(best).toFixed(1);
        d += d ? `H${px}V${py}` : `M${px} ${py}`;
      }
      if (d) f.plot.append(sv("path", { d, class: "best-line", fill: "none", stroke: "#222", "stroke-width": 1.5 }));
      history.replaceChildren(f.svg);
    }

    function metricsKnown() {
      const names = new Set();
      for (const t of trials.values()) for (const n of Object.keys(t.curves)) names.add(n);
      return [...names].sort((a, b) => (a === study.objective ? -1 : b === study.objective ? 1 : a < b ? -1 : 1));
    }

    function drawCurves() {
      const names = metricsKnown();
      if (!names.length) { curves.replaceChildren(el("p", { class: "empty", text: "No epoch reported yet." })); return; }
      if (metric === null || !names.includes(metric)) metric = names[0];
      if (metricPick.options.length !== names.length) {
        metricPick.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
      }
      metricPick.value = metric;
      const lines = []; // [trial, run, points]
      for (const t of sorted()) {
        if (t.runs) {
          for (const run of Object.keys(t.runs)) if (t.runs[run][metric]) lines.push([t, Number(run), t.runs[run][metric]]);
        } else if (t.curves[metric]) lines.push([t, 0, t.curves[metric]]);
      }
      const steps = [], values = [];
      for (const [, , pts] of lines) for (const [s, v] of pts) { steps.push(s); values.push(v); }
      const f = frame({ x: [Math.min(...steps, 0), Math.max(...steps, 1)], y: extent(values), xLabel: "epoch",
        yLabel: metric, label: "learning curves" });
      for (const [t, run, pts] of lines) {
        const c = STATE_COLOR[t.state];
        const dash = t.runs ? DASHES[run % DASHES.length] : null;
        const what = `trial ${t.number} ${t.state}` + (t.runs ? `, run ${run}` : "");
        f.plot.append(sv("path", { d: pathOf(pts, f.x, f.y), fill: "none", stroke: c, "stroke-width": 1.2,
          "stroke-dasharray": dash, class: "curve", "data-state": t.state, "data-trial": t.number, "data-run": run },
          sv("title", { text: what })));
        const last = pts.filter((p) => p[1] !== null).pop();
        if (t.state === "PRUNED" && last) {
          f.plot.append(cross(f.x(last[0]), f.y(last[1]), 4, c, `trial ${t.number} pruned at epoch ${last[0]}`));
        }
      }
      curves.replaceChildren(f.svg);
    }

    async function loadImportance(complete) {
      // Importance and the Pareto front read every COMPLETE trial: asked again only when
      // that count changed.
      if (complete === importanceAt) return;
      importanceAt = complete;
      importance = await getJSON(`/api/study/${Number(id)}/analysis`);
      drawImportance();
      drawParallel();
      drawPareto();
    }

    function drawImportance() {
      if (!importance) return;
      const items = Object.entries(importance.importance);
      if (!items.length) {
        importanceBox.replaceChildren(el("p", { class: "empty", text: importance.note || "No parameter." }));
        return;
      }
      const W = 560, row = 24, H = items.length * row + 24, left = 170;
      const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "parameter importance" });
      items.forEach(([name, score], i) => {
        const y = 8 + i * row;
        svg.append(
          sv("text", { x: left - 8, y: y + 15, "text-anchor": "end", class: "param", text: name }),
          sv("rect", { x: left, y: y + 3, height: row - 8, width: Math.max(1, score * (W - left - 60)), fill: "#2f6fd0", class: "bar" },
            sv("title", { text: `${name}: ${fmt(score, 3)}` })),
          sv("text", { x: left + Math.max(1, score * (W - left - 60)) + 6, y: y + 15, text: fmt(score, 2) }));
      });
      importanceBox.replaceChildren(svg, el("p", { class: "note", title: importance.method || "",
        text: `from ${importance.complete} COMPLETE trials; 0 = no visible effect, 1 = explains every difference` }));
    }

    function drawParallel() {
      const done = sorted().filter((t) => t.state === "COMPLETE" && t.value !== null);
      if (done.length < 2) { parallel.replaceChildren(el("p", { class: "empty", text: "Needs 2 COMPLETE trials." })); return; }
      let names = [];
      for (const t of done) for (const n of Object.keys(t.params)) if (!names.includes(n)) names.push(n);
      if (importance && importance.importance) {
        const rank = Object.keys(importance.importance);
        names.sort((a, b) => (rank.indexOf(a) + 1 || 1e9) - (rank.indexOf(b) + 1 || 1e9));
      }
      const W = 560, H = 300, top = 34, bottom = 30, left = 40, right = 60;
      const axes = names.map((name) => {
        const vals = done.map((t) => t.params[name]).filter((v) => v !== undefined && v !== null);
        const numeric = vals.every((v) => typeof v === "number");
        const spec = study.space[name] || {};
        const log = numeric && spec.sampling === "log" && vals.every((v) => v > 0);
        if (numeric) {
          const k = (v) => (log ? Math.log(v) : v);
          const [lo, hi] = extent(vals.map(k));
          return { name, pos: (v) => (k(v) - lo) / (hi - lo || 1), ticks: [Math.min(...vals), Math.max(...vals)] };
        }
        const cats = [...new Set(vals.map(String))].sort();
        return { name, pos: (v) => (cats.indexOf(String(v)) + 0.5) / cats.length, ticks: cats };
      });
      const [vlo, vhi] = extent(done.map((t) => t.value));
      axes.push({ name: study.objective, pos: (v) => (v - vlo) / (vhi - vlo || 1), ticks: [vlo, vhi], value: true });
      const gap = (W - left - right) / Math.max(1, axes.length - 1);
      const ax = (i) => left + i * gap;
      const py = (p) => H - bottom - p * (H - top - bottom);
      const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "parallel coordinates" });
      const lines = sv("g", { class: "plot" });
      for (const t of done) {
        let d = "", pen = false;
        axes.forEach((a, i) => {
          const v = a.value ? t.value : t.params[a.name];
          if (v === undefined || v === null) { pen = false; return; }
          d += (pen ? "L" : "M") + ax(i).toFixed(1) + " " + py(a.pos(v)).toFixed(1);
          pen = true;
        });
        let q = (t.value - vlo) / (vhi - vlo || 1);
        if (study.direction === "min") q = 1 - q;
        const color = `hsl(${Math.round(30 + q * 190)}, 70%, ${Math.round(62 - q * 22)}%)`;
        lines.append(sv("path", { d, fill: "none", stroke: color, "stroke-width": 1, opacity: 0.75, class: "pc-line" },
          sv("title", { text: `trial ${t.number}: ${fmt(t.value, 6)}` })));
      }
      svg.append(lines);
      axes.forEach((a, i) => {
        svg.append(sv("line", { x1: ax(i), x2: ax(i), y1: top, y2: H - bottom, class: "axis-line" }),
          sv("text", { x: ax(i), y: 14, "text-anchor": "middle", class: "param", text: a.name }));
        if (typeof a.ticks[0] === "string") {
          a.ticks.forEach((c) => svg.append(sv("text", { x: ax(i) + 4, y: py(a.pos(c)) + 4, class: "tick", text: c })));
        } else {
          svg.append(sv("text", { x: ax(i) + 4, y: H - bottom + 14, class: "tick", text: fmt(a.ticks[0], 3) }),
            sv("text", { x: ax(i) + 4, y: top - 4, class: "tick", text: fmt(a.ticks[1], 3) }));
        }
      });
      parallel.replaceChildren(svg);
    }

    // Several objectives: the first two against each other; the front is the server's (one
    // rule for the whole library, hpdeco.pareto), drawn through its trials.
    function drawPareto() {
      if (study.objectives.length < 2) return;
      pareto.hidden = false;
      const [[n0, d0], [n1, d1]] = study.objectives;
      const pts = sorted().filter((t) => t.state === "COMPLETE" && t.values && t.values[0] !== null && t.values[1] !== null);
      const box = el("div", { class: "chart-box", id: "pareto" });
      const more = study.objectives.length > 2 ? ` (the first two of ${study.objectives.length} objectives)` : "";
      pareto.replaceChildren(el("h2", { text: "Pareto front" + more }), box);
      if (!pts.length) { box.append(el("p", { class: "empty", text: "No COMPLETE trial yet." })); return; }
      const front = new Set((importance && importance.front) || []);
      const f = frame({ x: extent(pts.map((t) => t.values[0])), y: extent(pts.map((t) => t.values[1])),
        xLabel: `${n0} (${d0})`, yLabel: `${n1} (${d1})`, label: "Pareto front" });
      const onFront = pts.filter((t) => front.has(t.number)).sort((a, b) => a.values[0] - b.values[0]);
      f.plot.append(sv("path", { d: pathOf(onFront.map((t) => [t.values[0], t.values[1]]), f.x, f.y),
        fill: "none", stroke: "#d23f3f", "stroke-width": 1.5, class: "front" }));
      for (const t of pts) {
        const on = front.has(t.number), feasible = !(t.violation > 0);
        const color = on ? "#d23f3f" : feasible ? "#9bb3dc" : "#888";
        f.plot.append(sv("circle", { cx: f.x(t.values[0]), cy: f.y(t.values[1]), r: on ? 4.5 : 3,
          fill: feasible ? color : "none", stroke: color, class: on ? "front-point" : "point", "data-trial": t.number },
        sv("title", { text: `trial ${t.number}: ${n0} ${fmt(t.values[0], 6)}, ${n1} ${fmt(t.values[1], 6)}` +
          (on ? " (on the front)" : "") + (feasible ? "" : " (breaks a constraint)") })));
      }
      box.append(f.svg, el("p", { class: "note", text: `${front.size} trials on the front (red); hollow: breaks a constraint` }));
    }

    const columns = () => {
      const names = [];
      for (const t of sorted()) for (const n of Object.keys(t.params)) if (!names.includes(n)) names.push(n);
      const runs = sorted().some((t) => t.runs);
      return [
        { key: "number", head: "#", get: (t) => t.number },
        { key: "state", head: "state", get: (t) => t.state },
        { key: "value", head: "value", get: (t) => t.value },
        ...(runs ? [{ key: "runs", head: "runs", get: (t) => (t.run_values ? Object.keys(t.run_values).length : 1) }] : []),
        { key: "epochs", head: "epochs", get: (t) => t.last_step },
        { key: "duration", head: "duration", get: (t) => duration(t), show: (v) => fmtDuration(v) },
        ...names.map((n) => ({ key: "p:" + n, head: n, get: (t) => t.params[n], param: true })),
        { key: "reason", head: "note", get: (t) => t.reason },
      ];
    };
    function compare(a, b) {
      if (a === b) return 0;
      if (a === null || a === undefined) return 1;
      if (b === null || b === undefined) return -1;
      if (typeof a === "number" && typeof b === "number") return a - b;
      return String(a) < String(b) ? -1 : 1;
    }
    function drawTable() {
      const cols = columns();
      const col = cols.find((c) => c.key === sortKey) || cols[0];
      const words = filter.value.trim().toLowerCase();
      const state = stateFilter.value;
      const rows = sorted().filter((t) => (!state || t.state === state) &&
        (!words || cols.some((c) => String(c.get(t) ?? "").toLowerCase().includes(words))));
      rows.sort((a, b) => sortDir * compare(col.get(a), col.get(b)) || a.number - b.number);
      const head = el("tr", {}, cols.map((c) => el("th", { class: "sortable" + (c.key === sortKey ? (sortDir > 0 ? " asc" : " desc") : ""),
        "data-key": c.key, text: c.head,
        onclick: () => { sortDir = c.key === sortKey ? -sortDir : 1; sortKey = c.key; drawTable(); } })));
      const body = rows.map((t) => el("tr", { "data-trial": t.number, "data-state": t.state }, cols.map((c) => {
        const v = c.get(t);
        if (c.key === "number") return el("td", { class: "num" }, el("a", { href: `/study/${Number(study.id)}/trial/${Number(t.number)}`, text: t.number }));
        if (c.key === "state") return el("td", {}, el("span", { class: "badge", "data-state": t.state, text: t.state }));
        return el("td", { class: typeof v === "number" ? "num" : "", text: c.show ? c.show(v) : fmt(v, 6) });
      })));
      table.replaceChildren(el("p", { class: "note", text: `${rows.length} of ${trials.size} trials` }),
        el("table", { class: "grid-table" }, el("thead", {}, head), el("tbody", {}, body)));
    }

    function drawAll() {
      drawSummary(); drawHistory(); drawCurves(); drawParallel(); drawPareto(); drawTable();
    }

    return live(async () => {
      const data = await getJSON(`/api/study/${Number(id)}?number=${cursor.number}&seq=${cursor.seq}`);
      const first = study === null;
      study = data.study;
      for (const t of data.trials) trials.set(t.number, t);
      cursor = data.cursor;
      if (first || data.trials.length) {
        drawAll();
        body.dataset.trials = String(trials.size);
      }
      const complete = [...trials.values()].filter((t) => t.state === "COMPLETE").length;
      await loadImportance(complete);
      body.dataset.ready = "1";
    });
  }

  // -- the trial page ------------------------------------------------------------------------
  function trialPage(id, number) {
    return live(async () => {
      const data = await getJSON(`/api/study/${Number(id)}/trial/${Number(number)}`);
      const { study, trial } = data;
      document.title = `trial ${trial.number} · ${study.name} · hpdeco`;
      const parts = [
        el("p", { class: "crumbs" }, el("a", { href: `/study/${Number(study.id)}`, text: study.name }), " › trial " + trial.number),
        el("h1", {}, `Trial ${trial.number} `, el("span", { class: "badge", "data-state": trial.state, text: trial.state })),
        el("table", { class: "facts" }, el("tbody", {},
          el("tr", {}, el("th", { text: "value" }), el("td", { text: `${study.objective} = ${fmt(trial.value, 8)}` +
            (trial.value_step !== null && trial.value_step !== undefined ? ` (epoch ${trial.value_step})` : "") })),
          trial.values ? el("tr", {}, el("th", { text: "values" }), el("td", { text: study.objectives.map((o, i) => `${o[0]} = ${fmt(trial.values[i], 8)}`).join(", ") })) : null,
          el("tr", {}, el("th", { text: "started" }), el("td", { text: when(trial.started_at) })),
          el("tr", {}, el("th", { text: "finished" }), el("td", { text: when(trial.finished_at) + ` (${fmtDuration(duration(trial))})` })),
          trial.reason ? el("tr", {}, el("th", { text: "reason" }), el("td", { class: "reason", text: trial.reason })) : null,
          el("tr", {}, el("th", { text: "weights" }), el("td", { class: "weights", text: data.weights ||
            "none kept for this trial" + (data.weights_folder ? ` (the study's kept weights go to ${data.weights_folder})` : "") })))),
        el("h2", { text: "Parameters" }),
        el("table", { class: "grid-table params" }, el("tbody", {}, Object.entries(trial.params).map(([k, v]) =>
          el("tr", {}, el("th", { text: k }), el("td", { text: fmt(v, 8) }))))),
      ];
      const runs = trial.runs ? Object.entries(trial.runs) : [["", trial.curves]];
      for (const [run, metrics] of runs) {
        const names = Object.keys(metrics).sort();
        const steps = [...new Set(names.flatMap((n) => metrics[n].map((p) => p[0])))].sort((a, b) => a - b);
        const at = {};
        for (const n of names) at[n] = new Map(metrics[n]);
        parts.push(el("h2", { text: run === "" ? "Metrics per epoch" : `Run ${run} (value ${fmt((trial.run_values || {})[run], 6)})` }));
        if (!steps.length) { parts.push(el("p", { class: "empty", text: "No epoch reported." })); continue; }
        parts.push(el("table", { class: "grid-table epochs" },
          el("thead", {}, el("tr", {}, el("th", { text: "epoch" }), names.map((n) => el("th", { text: n })))),
          el("tbody", {}, steps.map((s) => el("tr", {}, el("td", { class: "num", text: s }),
            names.map((n) => el("td", { class: "num", text: fmt(at[n].get(s), 6) })))))));
      }
      if (trial.traceback) parts.push(el("h2", { text: "Traceback" }), el("pre", { class: "traceback", text: trial.traceback }));
      main.replaceChildren(...parts);
      body.dataset.ready = "1";
      // A finished trial does not change any more: stop asking.
      return trial.state === "RUNNING" || trial.state === "WAITING" ? "again" : "done";
    });
  }

  const page = body.dataset.page;
  if (page === "studies") studiesPage();
  else if (page === "study") studyPage(Number(body.dataset.study));
  else if (page === "trial") trialPage(Number(body.dataset.study), Number(body.dataset.trial));
})();
