// Anomalies view: what validation found, with severity, expected and found; filterable.

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-anomalies");
  const title = el("div", null, "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const search = el("input");
  search.type = "search";
  search.placeholder = "filter anomalies";
  const severity = el("select");
  for (const [v, t] of [["", "all severities"], ["ERROR", "errors"], ["WARNING", "warnings"]]) {
    const o = el("option", t);
    o.value = v;
    severity.appendChild(o);
  }
  const count = el("span", null, "wb-muted");
  toolbar.append(search, severity, count);
  const table = el("table", null, "wb-table");
  root.append(title, toolbar, table);
  host.appendChild(root);

  function draw() {
    const rows = model.get("rows") || [];
    const errors = rows.filter((r) => r.severity === "ERROR").length;
    const warnings = rows.filter((r) => r.severity === "WARNING").length;
    title.replaceChildren();
    if (!rows.length) {
      title.appendChild(el("span", "✔ No anomalies: the data matches the schema.", "wb-ok"));
      toolbar.style.display = "none";
      table.replaceChildren();
      return;
    }
    toolbar.style.display = "";
    title.appendChild(el("span", `Anomalies: ${errors} error(s), ${warnings} warning(s)`,
      errors ? "wb-bad" : "wb-warn"));
    const q = search.value.trim().toLowerCase();
    const sev = severity.value;
    const shown = rows.filter((r) => (!sev || r.severity === sev) && (!q ||
      `${r.feature} ${r.type} ${r.short} ${r.description}`.toLowerCase().includes(q)));
    count.textContent = `${shown.length} of ${rows.length}`;
    table.replaceChildren();
    const head = el("tr");
    for (const h of ["feature", "severity", "anomaly", "expected", "found", "details"]) head.appendChild(el("th", h));
    table.appendChild(head);
    for (const r of shown) {
      const tr = el("tr");
      const name = el("td", r.feature);
      if (r.dataset && r.dataset !== "data") name.appendChild(el("span", ` (${r.dataset})`, "wb-muted"));
      const what = el("td", r.short);
      what.appendChild(el("div", r.type, "wb-muted"));
      tr.append(name, el("td", r.severity, r.severity === "ERROR" ? "wb-bad" : "wb-warn"), what,
        el("td", r.expected || ""), el("td", r.found || ""), el("td", r.description));
      table.appendChild(tr);
    }
  }
  search.addEventListener("input", draw);
  severity.addEventListener("change", draw);
  model.on("change:rows", draw);
  draw();
}

export default { render };
