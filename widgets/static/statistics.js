// Statistics view: numeric and categorical features with summaries and histograms; search,
// sort, and two datasets overlaid (pick them in the toolbar).
const COLORS = ["#4c78a8", "#f58518"];

function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return x.toLocaleString();
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  return x.toLocaleString(undefined, { maximumFractionDigits: 3 });
}

// Histograms of up to two datasets on one axis, as shares of each dataset's rows.
function histogram(series, logScale) {
  const w = 180, h = 44;
  const svg = svgEl("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const all = series.flatMap((s) => s.buckets);
  if (!all.length) return svg;
  const lo = Math.min(...all.map((b) => b[0]));
  const hi = Math.max(...all.map((b) => b[1]));
  const span = hi - lo || 1;
  const shares = series.map((s) => {
    const total = s.buckets.reduce((t, b) => t + b[2], 0) || 1;
    return s.buckets.map((b) => [b[0], b[1], b[2] / total]);
  });
  const scale = (v) => (logScale ? Math.log10(1 + 1000 * v) / Math.log10(1001) : v);
  const peak = Math.max(...shares.flat().map((b) => scale(b[2]))) || 1;
  shares.forEach((buckets, k) => {
    for (const [a, b, v] of buckets) {
      const x = ((a - lo) / span) * (w - 2) + 1;
      const bw = Math.max(1.5, ((b - a) / span) * (w - 2) - 1);
      const bh = v > 0 ? Math.max(1, (scale(v) / peak) * (h - 2)) : 0;
      const attrs = { x, y: h - bh, width: bw, height: bh };
      if (k === 0) Object.assign(attrs, { fill: COLORS[0], "fill-opacity": 0.75 });
      else Object.assign(attrs, { fill: "none", stroke: COLORS[1], "stroke-width": 1.5 });
      const rect = svgEl("rect", attrs);
      const title = svgEl("title", {});
      title.textContent = `${fmt(a)} – ${fmt(b)}: ${(100 * v).toFixed(1)}%`;
      rect.appendChild(title);
      svg.appendChild(rect);
    }
  });
  return svg;
}

// Bars of the most frequent values (shares), second dataset as outlines.
function valueBars(series) {
  const w = 180, rowH = 11;
  const labels = series[0] ? series[0].bars.map((b) => b[0]).slice(0, 6) : [];
  const h = Math.max(rowH, labels.length * rowH);
  const svg = svgEl("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const peak = Math.max(...series.flatMap((s) => s.bars.map((b) => b[1])), 1e-9);
  labels.forEach((label, i) => {
    series.forEach((s, k) => {
      const found = s.bars.find((b) => b[0] === label);
      const v = found ? found[1] : 0;
      const bw = (v / peak) * (w - 70);
      const attrs = { x: 70, y: i * rowH + 1 + k * 4, width: Math.max(bw, 0.5), height: k ? 4 : 8 };
      Object.assign(attrs, k === 0 ? { fill: COLORS[0], "fill-opacity": 0.75 } : { fill: COLORS[1] });
      svg.appendChild(svgEl("rect", attrs));
    });
    const t = svgEl("text", { x: 66, y: i * rowH + 9, "text-anchor": "end", "font-size": 9, fill: "currentColor" });
    t.textContent = label.length > 12 ? label.slice(0, 11) + "…" : label;
    svg.appendChild(t);
  });
  return svg;
}

const NUMERIC = [
  ["missing_pct", "missing %"], ["mean", "mean"], ["std", "std dev"], ["zeros_pct", "zeros %"],
  ["min", "min"], ["median", "median"], ["max", "max"],
];
const CATEGORICAL = [
  ["missing_pct", "missing %"], ["unique", "unique"], ["top", "top value"], ["avg_length", "avg length"],
];

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-stats");
  const title = el("div", null, "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const search = el("input");
  search.type = "search";
  search.placeholder = "filter features";
  const first = el("select");
  const second = el("select");
  const sort = el("select");
  for (const [v, t] of [["order", "data order"], ["name", "name"], ["missing_pct", "missing %"],
    ["flagged", "anomalies first"]]) {
    const o = el("option", t);
    o.value = v;
    sort.appendChild(o);
  }
  const logBox = el("input");
  logBox.type = "checkbox";
  const logLabel = el("label", " log scale");
  logLabel.prepend(logBox);
  const count = el("span", null, "wb-muted");
  toolbar.append(search, el("span", "show", "wb-muted"), first, el("span", "vs", "wb-muted"),
    second, el("span", "sort", "wb-muted"), sort, logLabel, count);
  const body = el("div");
  root.append(title, toolbar, body);
  host.appendChild(root);

  function fillSelects() {
    const names = (model.get("data") || {}).datasets || [];
    const filled = first.options.length > 0;
    const [was1, was2] = [first.value, second.value];
    first.replaceChildren();
    second.replaceChildren();
    names.forEach((n) => { const o = el("option", n); o.value = n; first.appendChild(o); });
    const none = el("option", "(none)");
    none.value = "";
    second.appendChild(none);
    names.forEach((n) => { const o = el("option", n); o.value = n; second.appendChild(o); });
    if (filled) {
      first.value = names.includes(was1) ? was1 : names[0] || "";
      second.value = names.includes(was2) ? was2 : "";
    } else {
      first.value = names[0] || "";
      second.value = names[1] || "";
    }
  }

  function cellValue(stats, key) {
    if (!stats) return "";
    if (key === "top") return stats.top && stats.top.length ? stats.top[0][0] : "–";
    return fmt(stats[key]);
  }

  function table(features, columns, kind, shown, logScale) {
    const t = el("table", null, "wb-table");
    const head = el("tr");
    for (const h of ["feature", "type", ...columns.map((c) => c[1]), "distribution"]) head.appendChild(el("th", h));
    t.appendChild(head);
    const flagged = model.get("flagged") || {};
    for (const f of features) {
      const tr = el("tr");
      const name = el("td", f.name);
      if (flagged[f.name]) {
        const mark = el("span", "⚠", "wb-flag" + (flagged[f.name] === "WARNING" ? " wb-warning" : ""));
        mark.title = `${flagged[f.name]}: see the anomalies below`;
        name.appendChild(mark);
      }
      tr.append(name, el("td", f.type));
      for (const [key] of columns) {
        const td = el("td", null, key === "top" ? "" : "wb-num");
        shown.forEach((d, k) => {
          const line = el("div", cellValue(f.stats[d], key), k ? "wb-second wb-c1" : "");
          td.appendChild(line);
        });
        tr.appendChild(td);
      }
      const chart = el("td");
      const series = shown.filter((d) => f.stats[d]).map((d) => ({
        buckets: f.stats[d].hist || [], bars: f.stats[d].bars || [],
      }));
      chart.appendChild(kind === "numeric" ? histogram(series, logScale) : valueBars(series));
      tr.appendChild(chart);
      t.appendChild(tr);
    }
    return t;
  }

  function draw() {
    const data = model.get("data") || {};
    const flagged = model.get("flagged") || {};
    const shown = [first.value, second.value].filter((d, i, a) => d && a.indexOf(d) === i);
    title.replaceChildren(el("span", `${model.get("title")}: `));
    shown.forEach((d, k) => {
      const n = (data.examples || {})[d];
      const s = el("span", `■ ${d}${n !== undefined ? ` (${n.toLocaleString()} rows)` : ""}  `, `wb-c${k}`);
      title.appendChild(s);
    });
    const q = search.value.trim().toLowerCase();
    let features = (data.features || []).filter((f) => !q || f.name.toLowerCase().includes(q));
    const key = sort.value;
    if (key === "name") features.sort((a, b) => a.name.localeCompare(b.name));
    if (key === "missing_pct") {
      const m = (f) => Math.max(...Object.values(f.stats).map((s) => s.missing_pct || 0));
      features.sort((a, b) => m(b) - m(a));
    }
    if (key === "flagged") features.sort((a, b) => (flagged[b.name] ? 1 : 0) - (flagged[a.name] ? 1 : 0));
    count.textContent = `${features.length} of ${(data.features || []).length} features`;
    body.replaceChildren();
    for (const [kind, columns, label] of [["numeric", NUMERIC, "Numeric features"],
      ["categorical", CATEGORICAL, "Categorical features"]]) {
      const rows = features.filter((f) => f.kind === kind);
      if (!rows.length) continue;
      body.appendChild(el("div", `${label} (${rows.length})`, "wb-section"));
      body.appendChild(table(rows, columns, kind, shown, logBox.checked));
    }
  }

  fillSelects();
  for (const c of [search, first, second, sort, logBox]) c.addEventListener("input", draw);
  for (const c of [first, second, sort]) c.addEventListener("change", draw);
  model.on("change:data", () => { fillSelects(); draw(); });
  model.on("change:flagged", draw);
  draw();
}

export default { render };
