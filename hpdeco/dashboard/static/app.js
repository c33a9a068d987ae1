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

  // Resolves once the browser has drawn what the page holds now (after the next frame).
  function painted() {
    return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
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
  function lowest(values) {
    let lo = Infinity;
    for (const v of values) if (v < lo) lo = v;
    return lo;
  }
  function highest(values) {
    let hi = -Infinity;
    for (const v of values) if (v > hi) hi = v;
    return hi;
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
  // An SVG chart with axes: returns {svg, plot, x, y, W, H, m} where x and y map data to pixels.
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
    return { svg, plot, x, y, W, H, m };
  }
  const px = (v) => (Math.round(v * 10) / 10).toString(); // one decimal, no trailing zeros
  // A polyline through pixel points; NaN (a missing or non-finite value) lifts the pen.
  function lineD(xs, ys) {
    const parts = [];
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      if (!isFinite(ys[i])) { pen = false; continue; }
      parts.push((pen ? "L" : "M") + px(xs[i]) + " " + px(ys[i]));
      pen = true;
    }
    return parts.join("");
  }
  const dotD = (cx, cy, r) => `M${px(cx - r)} ${px(cy)}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
  const crossD = (cx, cy, r) => `M${px(cx - r)} ${px(cy - r)}l${2 * r} ${2 * r}m0 ${-2 * r}l${-2 * r} ${2 * r}`;

  // Many marks share one <path> per style (one per state, run or colour band), named by
  // their trial numbers in data-trials: a chart of 2,000 trials is a handful of elements,
  // not thousands (laying out tens of thousands of nodes was most of a big study's load).
  function groups() {
    const byKey = new Map();
    return {
      add(key, attrs, d, number) {
        let g = byKey.get(key);
        if (!g) byKey.set(key, (g = { attrs, d: [], trials: [] }));
        g.d.push(d);
        g.trials.push(number);
      },
      paths(order) {
        const keys = [...byKey.keys()].sort((a, b) => (order ? order(a) - order(b) : 0));
        return keys.map((k) => {
          const g = byKey.get(k);
          return sv("path", { ...g.attrs, d: g.d.join(""), "data-trials": g.trials.join(" ") });
        });
      },
    };
  }

  // Pointing at a chart names the nearest mark (a trial's line or point) and a click opens
  // that trial: the marks share paths, so which one is under the pointer is computed here.
  // ``items``: [{xs, ys (pixels), d, color, text, href}].
  function pointable(f, items) {
    const glow = sv("path", { class: "hover", fill: "none", "stroke-width": 2.5 });
    const [lx, ly] = f.labelAt || [f.W - f.m.r, f.H - 6]; // bottom right, clear of the lines
    const label = sv("text", { class: "hover-label", x: lx, y: ly, "text-anchor": "end" });
    f.svg.append(glow, label);
    let pending = 0, at = null;
    function nearest(p) {
      let best = null, bestD = 100; // squared pixels: within 10 px
      for (const it of items) {
        const { xs, ys } = it;
        for (let i = 0; i < xs.length; i++) {
          if (!isFinite(ys[i])) continue;
          let qx = xs[i], qy = ys[i];
          const j = i + 1;
          if (j < xs.length && isFinite(ys[j])) { // the nearest point of segment i..j
            const dx = xs[j] - qx, dy = ys[j] - qy, len = dx * dx + dy * dy;
            const k = len ? Math.max(0, Math.min(1, ((p.x - qx) * dx + (p.y - qy) * dy) / len)) : 0;
            qx += k * dx; qy += k * dy;
          }
          const dist = (p.x - qx) ** 2 + (p.y - qy) ** 2;
          if (dist < bestD) { bestD = dist; best = it; }
        }
      }
      return best;
    }
    function show(it) {
      at = it;
      glow.setAttribute("d", it ? it.d : "");
      glow.setAttribute("stroke", it ? it.color : "none");
      label.textContent = it ? it.text : "";
      f.svg.classList.toggle("pointing", !!(it && it.href));
    }
    f.svg.addEventListener("pointermove", (ev) => {
      const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(f.svg.getScreenCTM().inverse());
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => show(nearest(p)));
    });
    f.svg.addEventListener("pointerleave", () => { cancelAnimationFrame(pending); show(null); });
    f.svg.addEventListener("click", () => { if (at && at.href) location.href = at.href; });
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
  const TABLE_ROWS = 200; // rows put in the table at a time; scrolling near its end adds more
  const STATE_ORDER = (key) => STATES.indexOf(key.split(" ")[0]); // drawn COMPLETE first, RUNNING last

  function studyPage(id) {
    const trials = new Map(); // number -> trial, as last sent
    let study = null, cursor = { number: -1, seq: 0 }, importance = null, importanceAt = -1;
    let metric = null, sortKey = "number", sortDir = 1, tableLimit = TABLE_ROWS;
    const title = el("h1", { text: "Study" });
    const summary = el("p", { class: "summary" });
    const history = el("div", { class: "chart-box", id: "history" });
    const curves = el("div", { class: "chart-box", id: "curves" });
    const metricPick = el("select", { id: "metric", onchange: () => { metric = metricPick.value; drawCurves(); } });
    const importanceBox = el("div", { class: "chart-box", id: "importance" });
    const parallel = el("div", { class: "chart-box", id: "parallel" });
    const pareto = el("section", { class: "card", id: "pareto-card", hidden: true });
    const filter = el("input", { id: "filter", type: "search", placeholder: "filter: text in any column",
      oninput: () => drawTable(true) });
    const stateFilter = el("select", { id: "state-filter", onchange: () => drawTable(true) },
      el("option", { value: "", text: "every state" }), STATES.map((s) => el("option", { value: s, text: s })));
    let tableScroll = 0; // kept from scroll events: reading scrollTop while drawing would lay out the page
    const table = el("div", { id: "trials", onscroll: () => { tableScroll = table.scrollTop; moreRows(); } });
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
      el("span", { class: "key" }, "× where a pruned trial was stopped; dashes: runs / folds 1, 2, …"),
      el("span", { class: "key" }, "point at a line to name its trial, click to open it")];
    }

    const better = (a, b) => (study.direction === "max" ? a > b : a < b);
    let inOrder = null; // the trials by number, sorted once per change (every chart reads it)
    const sorted = () => inOrder || (inOrder = [...trials.values()].sort((a, b) => a.number - b.number));
    const trialHref = (t) => `/study/${Number(study.id)}/trial/${Number(t.number)}`;

    function drawSummary() {
      const all = sorted();
      const counts = {};
      for (const t of all) counts[t.state] = (counts[t.state] || 0) + 1;
      let best = null;
      for (const t of all) if (t.state === "COMPLETE" && t.value !== null && (!best || better(t.value, best.value))) best = t;
      document.title = study.name + " · hpdeco";
      title.textContent = study.name;
      summary.replaceChildren();
      put(summary, {}, [
        el("span", { text: study.objectives.map((o) => `${o[0]} (${o[1]})`).join(", ") }), " · ",
        el("span", { text: `${all.length} trials` }), " ",
        STATES.filter((s) => counts[s]).map((s) => el("span", { class: "badge", "data-state": s, text: `${s} ${counts[s]}` })),
        " · best: ", best ? el("a", { href: trialHref(best), text: `${fmt(best.value, 6)} (trial ${best.number})` }) : "none yet"]);
    }

    function drawHistory() {
      const all = sorted();
      const done = all.filter((t) => t.value !== null && (t.state === "COMPLETE" || t.state === "PRUNED"));
      if (!done.length) { history.replaceChildren(el("p", { class: "empty", text: "No finished trial with a value yet." })); return; }
      const f = frame({ x: [Math.min(0, all[0].number), Math.max(1, all[all.length - 1].number)],
        y: extent(done.map((t) => t.value)), xLabel: "trial", yLabel: study.objective, label: "optimisation history" });
      const dots = groups(), items = [];
      let best = null, d = "";
      for (const t of done) {
        const c = STATE_COLOR[t.state], cx = f.x(t.number), cy = f.y(t.value), dot = dotD(cx, cy, 3.2);
        dots.add(t.state, { class: "point", fill: t.state === "COMPLETE" ? c : "none", stroke: c, "data-state": t.state },
          dot, t.number);
        items.push({ xs: [cx], ys: [cy], d: dot, color: c, href: trialHref(t),
          text: `trial ${t.number} ${t.state}: ${fmt(t.value, 6)}` });
        if (t.state !== "COMPLETE") continue;
        if (best === null || better(t.value, best)) best = t.value;
        d += d ? `H${px(cx)}V${px(f.y(best))}` : `M${px(cx)} ${px(f.y(best))}`;
      }
      f.plot.append(...dots.paths(STATE_ORDER));
      if (d) f.plot.append(sv("path", { d, class: "best-line", fill: "none", stroke: "#222", "stroke-width": 1.5 }));
      pointable(f, items);
      history.replaceChildren(f.svg);
    }

    function metricsKnown() {
      const names = new Set();
      for (const t of trials.values()) for (const n of Object.keys(t.curves)) names.add(n);
      return [...names].sort((a, b) => (a === study.objective ? -1 : b === study.objective ? 1 : a < b ? -1 : 1));
    }

    // Every trial's curve of the chosen metric (each run's, for a trial of several runs), one
    // path per state and run; a × where a pruned trial was stopped.
    function drawCurves() {
      const names = metricsKnown();
      if (!names.length) { curves.replaceChildren(el("p", { class: "empty", text: "No epoch reported yet." })); return; }
      if (metric === null || !names.includes(metric)) metric = names[0];
      if (metricPick.options.length !== names.length) {
        metricPick.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
      }
      metricPick.value = metric;
      const lines = []; // [trial, run, [steps, values]]
      for (const t of sorted()) {
        if (t.runs) {
          for (const run of Object.keys(t.runs)) if (t.runs[run][metric]) lines.push([t, Number(run), t.runs[run][metric]]);
        } else if (t.curves[metric]) lines.push([t, 0, t.curves[metric]]);
      }
      let s0 = 0, s1 = 1;
      const values = [];
      for (const [, , [steps, vals]] of lines) {
        for (const s of steps) { if (s < s0) s0 = s; if (s > s1) s1 = s; }
        for (const v of vals) values.push(v);
      }
      const f = frame({ x: [s0, s1], y: extent(values), xLabel: "epoch", yLabel: metric, label: "learning curves" });
      const paths = groups(), stops = groups(), items = [];
      for (const [t, run, [steps, vals]] of lines) {
        const c = STATE_COLOR[t.state];
        const xs = steps.map(f.x), ys = vals.map((v) => (v === null ? NaN : f.y(v)));
        const d = lineD(xs, ys);
        paths.add(`${t.state} ${run}`, { fill: "none", stroke: c, "stroke-width": 1.2, class: "curve",
          "stroke-dasharray": DASHES[run % DASHES.length], "data-state": t.state, "data-run": run }, d, t.number);
        items.push({ xs, ys, d, color: c, href: trialHref(t),
          text: `trial ${t.number} ${t.state}` + (t.runs ? `, run ${run}` : "") });
        let last = vals.length - 1;
        while (last >= 0 && vals[last] === null) last -= 1;
        if (t.state === "PRUNED" && last >= 0) {
          stops.add("stop", { fill: "none", stroke: c, "stroke-width": 2, class: "stop" },
            crossD(xs[last], ys[last], 4), t.number);
        }
      }
      f.plot.append(...paths.paths(STATE_ORDER), ...stops.paths());
      pointable(f, items);
      curves.replaceChildren(f.svg);
    }

    // Importance and the Pareto front read every COMPLETE trial: asked again only when
    // that count changed.
    async function loadImportance(complete) {
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

    // One line per COMPLETE trial, coloured from worst to best in BANDS shades (one path each,
    // the best drawn last, on top).
    const BANDS = 16;
    function drawParallel() {
      const done = sorted().filter((t) => t.state === "COMPLETE" && t.value !== null);
      if (done.length < 2) { parallel.replaceChildren(el("p", { class: "empty", text: "Needs 2 COMPLETE trials." })); return; }
      const seen = new Set();
      for (const t of done) for (const n of Object.keys(t.params)) seen.add(n);
      const names = [...seen];
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
          return { name, pos: (v) => (k(v) - lo) / (hi - lo || 1), ticks: [lowest(vals), highest(vals)] };
        }
        const cats = [...new Set(vals.map(String))].sort();
        const index = new Map(cats.map((c, i) => [c, i]));
        return { name, pos: (v) => (index.get(String(v)) + 0.5) / cats.length, ticks: cats };
      });
      const [vlo, vhi] = extent(done.map((t) => t.value));
      axes.push({ name: study.objective, pos: (v) => (v - vlo) / (vhi - vlo || 1), ticks: [vlo, vhi], value: true });
      const gap = (W - left - right) / Math.max(1, axes.length - 1);
      const ax = (i) => left + i * gap;
      const py = (p) => H - bottom - p * (H - top - bottom);
      const f = { svg: sv("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": "parallel coordinates" }),
        labelAt: [W - 4, H - 4] };
      const bands = groups(), items = [];
      for (const t of done) {
        const xs = [], ys = [];
        axes.forEach((a, i) => {
          const v = a.value ? t.value : t.params[a.name];
          xs.push(ax(i));
          ys.push(v === undefined || v === null ? NaN : py(a.pos(v)));
        });
        let q = (t.value - vlo) / (vhi - vlo || 1);
        if (study.direction === "min") q = 1 - q;
        const band = Math.min(BANDS - 1, Math.floor(q * BANDS));
        const mid = (band + 0.5) / BANDS;
        const color = `hsl(${Math.round(30 + mid * 190)}, 70%, ${Math.round(62 - mid * 22)}%)`;
        const d = lineD(xs, ys);
        bands.add(String(band), { fill: "none", stroke: color, "stroke-width": 1, opacity: 0.75, class: "pc-line" }, d, t.number);
        items.push({ xs, ys, d, color, href: trialHref(t), text: `trial ${t.number}: ${fmt(t.value, 6)}` });
      }
      f.svg.append(sv("g", { class: "plot" }, bands.paths((k) => Number(k))));
      axes.forEach((a, i) => {
        f.svg.append(sv("line", { x1: ax(i), x2: ax(i), y1: top, y2: H - bottom, class: "axis-line" }),
          sv("text", { x: ax(i), y: 14, "text-anchor": "middle", class: "param", text: a.name }));
        if (typeof a.ticks[0] === "string") {
          a.ticks.forEach((c) => f.svg.append(sv("text", { x: ax(i) + 4, y: py(a.pos(c)) + 4, class: "tick", text: c })));
        } else {
          f.svg.append(sv("text", { x: ax(i) + 4, y: H - bottom + 14, class: "tick", text: fmt(a.ticks[0], 3) }),
            sv("text", { x: ax(i) + 4, y: top - 4, class: "tick", text: fmt(a.ticks[1], 3) }));
        }
      });
      pointable(f, items);
      parallel.replaceChildren(f.svg);
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
      f.plot.append(sv("path", { d: lineD(onFront.map((t) => f.x(t.values[0])), onFront.map((t) => f.y(t.values[1]))),
        fill: "none", stroke: "#d23f3f", "stroke-width": 1.5, class: "front" }));
      const dots = groups(), items = [];
      for (const t of pts) {
        const on = front.has(t.number), feasible = !(t.violation > 0);
        const color = on ? "#d23f3f" : feasible ? "#9bb3dc" : "#888";
        const cx = f.x(t.values[0]), cy = f.y(t.values[1]), dot = dotD(cx, cy, on ? 4.5 : 3);
        dots.add(`${on ? 1 : 0} ${feasible ? 1 : 0}`, { fill: feasible ? color : "none", stroke: color,
          class: on ? "front-point" : "point" }, dot, t.number);
        items.push({ xs: [cx], ys: [cy], d: dot, color, href: trialHref(t),
          text: `trial ${t.number}: ${n0} ${fmt(t.values[0], 6)}, ${n1} ${fmt(t.values[1], 6)}` +
            (on ? " (on the front)" : "") + (feasible ? "" : " (breaks a constraint)") });
      }
      f.plot.append(...dots.paths((k) => Number(k[0])));
      pointable(f, items);
      box.append(f.svg, el("p", { class: "note", text: `${front.size} trials on the front (red); hollow: breaks a constraint` }));
    }

    const columns = () => {
      const seen = new Set(); // parameters, in the order the trials first drew them
      for (const t of sorted()) for (const n of Object.keys(t.params)) seen.add(n);
      const names = [...seen];
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

    // The table sorts and filters every trial but puts TABLE_ROWS rows in the page at a
    // time: more as its end is scrolled into view (thousands of rows are slow to lay out).
    let tableCols = [], tableRows = [], tableBody = null, tableNote = null;
    function rowOf(t) {
      return el("tr", { "data-trial": t.number, "data-state": t.state }, tableCols.map((c) => {
        const v = c.get(t);
        if (c.key === "number") return el("td", { class: "num" }, el("a", { href: trialHref(t), text: t.number }));
        if (c.key === "state") return el("td", {}, el("span", { class: "badge", "data-state": t.state, text: t.state }));
        return el("td", { class: typeof v === "number" ? "num" : "", text: c.show ? c.show(v) : fmt(v, 6) });
      }));
    }
    function noteText() {
      const shown = Math.min(tableLimit, tableRows.length);
      return `${tableRows.length} of ${trials.size} trials` +
        (shown < tableRows.length ? ` (the first ${shown} shown: scroll for more)` : "");
    }
    function drawTable(reset) {
      if (reset) tableLimit = TABLE_ROWS;
      tableCols = columns();
      const col = tableCols.find((c) => c.key === sortKey) || tableCols[0];
      const words = filter.value.trim().toLowerCase();
      const state = stateFilter.value;
      tableRows = sorted().filter((t) => (!state || t.state === state) &&
        (!words || tableCols.some((c) => String(c.get(t) ?? "").toLowerCase().includes(words))));
      tableRows.sort((a, b) => sortDir * compare(col.get(a), col.get(b)) || a.number - b.number);
      const head = el("tr", {}, tableCols.map((c) => el("th", { class: "sortable" + (c.key === sortKey ? (sortDir > 0 ? " asc" : " desc") : ""),
        "data-key": c.key, text: c.head,
        onclick: () => { sortDir = c.key === sortKey ? -sortDir : 1; sortKey = c.key; drawTable(true); } })));
      tableBody = el("tbody", {}, tableRows.slice(0, tableLimit).map(rowOf));
      tableNote = el("p", { class: "note", id: "rows-note", text: noteText() });
      table.replaceChildren(tableNote, el("table", { class: "grid-table" }, el("thead", {}, head), tableBody));
      if (reset) tableScroll = 0;
      else if (tableScroll) table.scrollTop = tableScroll; // a live redraw keeps the reader's place
    }
    function moreRows() {
      if (!tableBody || tableLimit >= tableRows.length) return;
      if (table.scrollTop + table.clientHeight < table.scrollHeight - 400) return;
      tableBody.append(...tableRows.slice(tableLimit, tableLimit + TABLE_ROWS).map(rowOf));
      tableLimit += TABLE_ROWS;
      tableNote.textContent = noteText();
    }

    function drawAll() {
      drawSummary(); drawHistory(); drawCurves(); drawImportance(); drawParallel(); drawPareto(); drawTable(false);
    }
    const completeCount = () => {
      let n = 0;
      for (const t of trials.values()) if (t.state === "COMPLETE") n += 1;
      return n;
    };

    return live(async () => {
      const url = `/api/study/${Number(id)}?number=${cursor.number}&seq=${cursor.seq}`;
      const first = study === null;
      // The first load asks for the analysis at once, beside the trials, and draws once.
      const [data, analysis] = await Promise.all([getJSON(url),
        first ? getJSON(`/api/study/${Number(id)}/analysis`) : null]);
      performance.mark("hpdeco:data");
      study = data.study;
      for (const t of data.trials) trials.set(t.number, t);
      if (data.trials.length) inOrder = null;
      cursor = data.cursor;
      if (analysis) { importance = analysis; importanceAt = completeCount(); }
      if (first || data.trials.length) {
        drawAll();
        body.dataset.trials = String(trials.size);
      }
      await loadImportance(completeCount());
      if (first) {
        performance.mark("hpdeco:drawn");
        await painted();
        performance.mark("hpdeco:painted");
      }
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
        const steps = [...new Set(names.flatMap((n) => metrics[n][0]))].sort((a, b) => a - b);
        const at = {}; // metric -> step -> value (a curve is [steps, values])
        for (const n of names) at[n] = new Map(metrics[n][0].map((step, i) => [step, metrics[n][1][i]]));
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
