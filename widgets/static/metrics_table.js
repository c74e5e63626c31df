// Metrics overall and per slice, with example counts and the change against the baseline;
// filter by feature, search slices, sort by any column.

function fmt(v) {
  if (v === null || v === undefined) return "–";
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toFixed(4)));
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-metrics");
  const title = el("div", "Metrics by slice", "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const feature = el("select");
  const search = el("input");
  search.type = "search";
  search.placeholder = "filter slices";
  const count = el("span", null, "wb-muted");
  toolbar.append(feature, search, count);
  const table = el("table", null, "wb-table");
  root.append(title, toolbar, table);
  host.appendChild(root);
  const sort = { key: null, ascending: true };

  function fillFeatures() {
    const rows = model.get("rows") || [];
    const names = [...new Set(rows.filter((r) => r.feature).map((r) => r.feature))];
    feature.replaceChildren(el("option", "all slices"), ...names.map((n) => el("option", n)));
    feature.options[0].value = "";
  }

  function draw() {
    const rows = model.get("rows") || [];
    const columns = model.get("columns") || [];
    const better = model.get("higher_is_better") || {};
    const hasBase = rows.some((r) => r.baseline);
    const f = feature.value;
    const q = search.value.trim().toLowerCase();
    let shown = rows.filter((r) => !r.feature || ((!f || r.feature === f) && (!q || r.name.toLowerCase().includes(q))));
    if (sort.key) {
      shown = shown.slice().sort((a, b) => {
        if (!a.feature || !b.feature) return a.feature ? 1 : b.feature ? -1 : 0; // overall first
        const x = sort.key === "count" ? a.count : sort.key === "name" ? a.name : a.metrics[sort.key];
        const y = sort.key === "count" ? b.count : sort.key === "name" ? b.name : b.metrics[sort.key];
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return sort.ascending ? c : -c;
      });
    }
    count.textContent = `${shown.length} of ${rows.length} rows` + (hasBase ? " · Δ: change against the baseline" : "");
    table.replaceChildren();
    // a metric column sorts best first on its first click; the slice names A to Z
    const header = [["name", "slice"], ["count", "examples"], ...columns.map((c) => [c, c])];
    table.appendChild(sortableHeader(header, sort, draw, (key) => key === "name"));
    for (const r of shown) {
      const tr = el("tr");
      const name = el("td", r.name);
      if (!r.feature) name.style.fontWeight = "600";
      tr.append(name, el("td", r.count.toLocaleString(), "wb-num"));
      for (const c of columns) {
        const v = r.metrics[c];
        const td = el("td", fmt(v), "wb-num");
        const b = r.baseline ? r.baseline[c] : undefined;
        if (b !== undefined && b !== null && v !== null && v !== undefined) {
          const d = v - b;
          if (Math.abs(d) > 1e-12) {
            const good = better[c] === undefined ? null : (better[c] ? d > 0 : d < 0);
            const span = el("span", ` Δ${d > 0 ? "+" : ""}${fmt(d)}`, good === null ? "wb-muted" : good ? "wb-delta-good" : "wb-delta-bad");
            td.appendChild(span);
          }
          td.title = `baseline ${fmt(b)}`;
        }
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
  }
  feature.addEventListener("change", draw);
  search.addEventListener("input", draw);
  model.on("change:rows", () => { fillFeatures(); draw(); });
  model.on("change:columns", draw);
  fillFeatures();
  draw();
}

export default { render };
