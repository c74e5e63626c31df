// Schema editor: required-ness, ranges, value domains and drift/skew thresholds per feature.
// Save sends the edited rows to Python, which writes schema.pbtxt; read-only in view mode.

function numberInput(value, disabled, step) {
  const i = el("input");
  i.type = "number";
  i.step = step;
  i.value = value === null || value === undefined ? "" : String(value);
  i.disabled = disabled;
  return i;
}

function parseNumber(text) {
  const t = text.trim();
  return t === "" ? null : Number(t);
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-schema");
  const title = el("div", null, "wb-title");
  const toolbar = el("div", null, "wb-toolbar");
  const search = el("input");
  search.type = "search";
  search.placeholder = "filter features";
  const save = el("button", "Save schema");
  const reset = el("button", "Discard edits");
  const status = el("span", null, "wb-muted wb-status");
  toolbar.append(search, save, reset, status);
  const table = el("table", null, "wb-table");
  root.append(title, toolbar, table);
  host.appendChild(root);

  let edits = {};

  function current(row) {
    return Object.assign({}, row, edits[row.name] || {});
  }

  function edit(name, patch) {
    edits[name] = Object.assign(edits[name] || {}, patch);
    draw();
  }

  function draw() {
    const rows = model.get("rows") || [];
    const editable = model.get("editable");
    const dirty = Object.keys(edits).length;
    title.textContent = `Schema: ${rows.length} features` +
      (model.get("source") ? ` · ${model.get("source")}` : "");
    save.disabled = !editable || !dirty;
    reset.disabled = !editable || !dirty;
    save.style.display = editable ? "" : "none";
    reset.style.display = editable ? "" : "none";
    const msg = model.get("status");
    status.textContent = msg || (editable
      ? (dirty ? `${dirty} feature(s) edited; save writes ${model.get("path")}` : `saves to ${model.get("path")}`)
      : "read-only (a finished run)");
    const q = search.value.trim().toLowerCase();
    table.replaceChildren();
    const head = el("tr");
    for (const h of ["feature", "type", "required", "min", "max", "values", "drift threshold",
      "skew threshold", "environments"]) head.appendChild(el("th", h));
    table.appendChild(head);
    for (const base of rows) {
      if (q && !base.name.toLowerCase().includes(q)) continue;
      const r = current(base);
      const tr = el("tr", null, edits[base.name] ? "wb-dirty" : "");
      tr.append(el("td", r.name), el("td", r.type));
      const req = el("input");
      req.type = "checkbox";
      req.checked = !!r.required;
      req.disabled = !editable;
      req.addEventListener("change", () => edit(r.name, { required: req.checked }));
      const reqTd = el("td");
      reqTd.appendChild(req);
      tr.appendChild(reqTd);
      const numeric = (r.type === "INT" || r.type === "FLOAT") && (r.domain === "" || r.domain === "range");
      for (const side of ["min", "max"]) {
        const td = el("td");
        if (numeric) {
          const i = numberInput(r[side], !editable, r.type === "INT" ? "1" : "any");
          i.addEventListener("change", () => edit(r.name, { [side]: parseNumber(i.value) }));
          td.appendChild(i);
        } else {
          td.textContent = "–";
        }
        tr.appendChild(td);
      }
      const valuesTd = el("td");
      if (r.domain === "values") {
        const ta = el("textarea");
        ta.value = (r.values || []).join(", ");
        ta.disabled = !editable;
        ta.title = "comma-separated values";
        ta.addEventListener("change", () => edit(r.name, {
          values: ta.value.split(",").map((v) => v.trim()).filter((v) => v !== ""),
        }));
        valuesTd.appendChild(ta);
      } else {
        valuesTd.textContent = r.domain === "bool" ? "0 / 1" : "–";
      }
      tr.appendChild(valuesTd);
      for (const key of ["drift", "skew"]) {
        const td = el("td");
        const i = numberInput(r[key], !editable, "0.01");
        i.min = "0";
        i.max = "1";
        i.title = r[`${key}_metric`] === "L_INFTY" ? "L-infinity distance" : "Jensen-Shannon divergence";
        i.addEventListener("change", () => edit(r.name, {
          [key]: parseNumber(i.value), [`${key}_metric`]: r[`${key}_metric`],
        }));
        td.append(i, el("span", r[`${key}_metric`] === "L_INFTY" ? " L∞" : " JSD", "wb-muted"));
        tr.appendChild(td);
      }
      tr.appendChild(el("td", (r.environments || []).join(", ") || "–"));
      table.appendChild(tr);
    }
  }

  save.addEventListener("click", () => {
    const rows = (model.get("rows") || []).filter((r) => edits[r.name]).map(current);
    model.send({ event: "save", rows });
    status.textContent = "saving…";
  });
  reset.addEventListener("click", () => { edits = {}; model.set("status", ""); model.save_changes(); draw(); });
  search.addEventListener("input", draw);
  model.on("change:rows", () => { edits = {}; draw(); });
  model.on("change:status", draw);
  model.on("change:editable", draw);
  draw();
}

export default { render };
