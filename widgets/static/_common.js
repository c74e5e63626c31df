// Helpers shared by every widget module; the widget base class puts this file in front of
// each module's own code, so they are in scope there without an import (widgets load offline
// from one string, with no URL to import from).
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// A table: an optional header row, then rows whose cells are text or DOM nodes.
function table(head, rows, cls) {
  const t = el("table", null, cls ? `wb-table ${cls}` : "wb-table");
  const line = (tag, cells) => {
    const tr = el("tr");
    for (const c of cells) {
      const cell = el(tag, c instanceof Node ? null : String(c ?? ""));
      if (c instanceof Node) cell.appendChild(c);
      tr.appendChild(cell);
    }
    return tr;
  };
  if (head) t.appendChild(line("th", head));
  for (const r of rows) t.appendChild(line("td", r));
  return t;
}

// Bytes in B, KB, MB or GB.
function size(n) {
  if (typeof n !== "number") return "–";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n.toFixed(0)) + " " + units[i];
}

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

// A header row whose cells sort the table: `sort` is {key, ascending}, changed in place on a
// click (same column: reverse; another: `firstAscending(key)`), then `redraw` runs.
function sortableHeader(columns, sort, redraw, firstAscending = () => true) {
  const head = el("tr");
  for (const [key, label] of columns) {
    const th = el("th", label);
    if (key === sort.key) th.className = sort.ascending ? "wb-sorted-asc" : "wb-sorted-desc";
    th.addEventListener("click", () => {
      sort.ascending = key === sort.key ? !sort.ascending : firstAscending(key);
      sort.key = key;
      redraw();
    });
    head.appendChild(th);
  }
  return head;
}
