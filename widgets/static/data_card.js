// Data card: columns, types and missing values of a dataset; sortable and searchable.
function render({ model, el: host }) {
  const root = el("div", null, "wb wb-data-card");
  const title = el("div", "", "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const search = document.createElement("input");
  search.type = "search";
  search.placeholder = "filter columns";
  const count = el("span", "", "wb-muted");
  toolbar.append(search, count);
  const summary = el("div", null, "wb-card-summary");
  const table = el("table", null, "wb-table");
  const reading = el("div", null, "wb-card-reading");
  root.append(title, summary, toolbar, table, reading);
  host.appendChild(root);

  const columns = [
    ["name", "column", false],
    ["original", "header in the file", false],
    ["type", "type", false],
    ["role", "role", false],
    ["missing", "missing", true],
    ["missing_pct", "missing %", true],
    ["role_reason", "why", false],
  ];

  // Sentences first: label, positive class, split, what was left out and why, warnings.
  function drawSummary(card) {
    summary.replaceChildren();
    const line = (text, cls) => summary.appendChild(el("div", text, cls));
    if (card.label) line(`Label: ${card.label}${card.task ? ` (${card.task})` : ""}.`);
    const p = card.positive_class;
    if (p) line(`Positive class: ${p.value}, because ${p.why} (set ${p.parameter} to choose another).`);
    const s = card.split || {};
    if (s.by === "time" || s.by === "key") line(`Split by ${s.by}: ${s.column}.`);
    for (const d of card.dropped_columns || []) {
      line(`Not a feature: ${d.original} (${d.role}: ${d.reason}; change it with feature_roles).`);
    }
    for (const d of card.dropped_rows || []) line(`Left out: ${d.rows.toLocaleString()} rows with ${d.why}.`);
    for (const [name, d] of Object.entries(card.datetime || {})) {
      line(`${name}: ${d.min} to ${d.max} (${d.unit}).`);
    }
    for (const w of card.warnings || []) line(`Warning: ${w}`, "wb-warn");
  }

  function drawReading(card) {
    reading.replaceChildren();
    const decisions = ((card.reading || {}).dialect || {}).decisions || [];
    if (!decisions.length) return;
    reading.appendChild(el("div", "How the file was read (each setting is a stage-01 parameter of the same name)", "wb-subtitle"));
    reading.appendChild(table(["setting", "value", "how", "evidence"],
      decisions.map((d) => [d.field, Array.isArray(d.value) ? d.value.join(" ") : d.value, d.how, d.evidence || ""])));
  }
  const sort = { key: "name", ascending: true };

  function draw() {
    const card = model.get("card") || {};
    drawSummary(card);
    drawReading(card);
    const rows = (card.columns || []).slice();
    title.textContent = `${card.name || "data"}: ${(card.rows || 0).toLocaleString()} rows`;
    const q = search.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || `${r.name} ${r.original || ""}`.toLowerCase().includes(q));
    shown.sort((a, b) => {
      const x = a[sort.key], y = b[sort.key];
      const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.ascending ? c : -c;
    });
    count.textContent = `${shown.length} of ${rows.length} columns`;
    table.replaceChildren();
    table.appendChild(sortableHeader(columns, sort, draw));
    for (const r of shown) {
      const tr = el("tr");
      for (const [key, , numeric] of columns) {
        const v = r[key] ?? "";
        let cls = numeric ? "wb-num" : "";
        if (key === "missing" && v > 0) cls += " wb-warn";
        tr.appendChild(el("td", numeric ? Number(v).toLocaleString() : String(v), cls));
      }
      table.appendChild(tr);
    }
  }
  search.addEventListener("input", draw);
  model.on("change:card", draw);
  draw();
}

export default { render };
