// Data card: columns, types and missing values of a dataset; sortable and searchable.
function cell(tag, text, cls) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "wb wb-data-card";
  const title = cell("div", "", "wb-title");
  const toolbar = document.createElement("div");
  toolbar.className = "wb-toolbar";
  const search = document.createElement("input");
  search.type = "search";
  search.placeholder = "filter columns";
  const count = cell("span", "", "wb-muted");
  toolbar.append(search, count);
  const table = document.createElement("table");
  table.className = "wb-table";
  root.append(title, toolbar, table);
  el.appendChild(root);

  const columns = [
    ["name", "column", false],
    ["type", "type", false],
    ["missing", "missing", true],
    ["missing_pct", "missing %", true],
  ];
  let sortKey = "name";
  let ascending = true;

  function draw() {
    const card = model.get("card") || {};
    const rows = (card.columns || []).slice();
    title.textContent = `${card.name || "data"}: ${(card.rows || 0).toLocaleString()} rows`;
    const q = search.value.trim().toLowerCase();
    const shown = rows.filter((r) => !q || String(r.name).toLowerCase().includes(q));
    shown.sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      const c = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    count.textContent = `${shown.length} of ${rows.length} columns`;
    table.replaceChildren();
    const head = document.createElement("tr");
    for (const [key, label] of columns) {
      const th = cell("th", label);
      if (key === sortKey) th.className = ascending ? "wb-sorted-asc" : "wb-sorted-desc";
      th.addEventListener("click", () => {
        ascending = key === sortKey ? !ascending : true;
        sortKey = key;
        draw();
      });
      head.appendChild(th);
    }
    table.appendChild(head);
    for (const r of shown) {
      const tr = document.createElement("tr");
      for (const [key, , numeric] of columns) {
        const v = r[key];
        let cls = numeric ? "wb-num" : "";
        if (key === "missing" && v > 0) cls += " wb-warn";
        tr.appendChild(cell("td", numeric ? Number(v).toLocaleString() : String(v), cls));
      }
      table.appendChild(tr);
    }
  }
  search.addEventListener("input", draw);
  model.on("change:card", draw);
  draw();
}

export default { render };
