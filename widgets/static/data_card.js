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
  const table = el("table", null, "wb-table");
  root.append(title, toolbar, table);
  host.appendChild(root);

  const columns = [
    ["name", "column", false],
    ["type", "type", false],
    ["missing", "missing", true],
    ["missing_pct", "missing %", true],
  ];
  const sort = { key: "name", ascending: true };

  function draw() {
    const card = model.get("card") || {};
    const rows = (card.columns || []).slice();
    title.textContent = `${card.name || "data"}: ${(card.rows || 0).toLocaleString()} rows`;
    const q = search.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || String(r.name).toLowerCase().includes(q));
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
        const v = r[key];
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
