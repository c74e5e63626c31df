// Progress of a statistics pass: rows done of rows in total.
function render({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "wb wb-progress";
  const text = document.createElement("span");
  const meter = document.createElement("span");
  meter.className = "wb-meter";
  const fill = document.createElement("span");
  fill.className = "wb-fill";
  meter.appendChild(fill);
  root.append(text, document.createTextNode(" "), meter);
  host.appendChild(root);

  function draw() {
    const done = model.get("done");
    const total = model.get("total");
    const pct = total ? Math.min(100, (100 * done) / total) : (done ? 100 : 0);
    text.textContent = total
      ? `${model.get("label")}: ${done.toLocaleString()} of ${total.toLocaleString()} rows (${pct.toFixed(0)}%)`
      : `${model.get("label")}: ${done.toLocaleString()} rows`;
    fill.style.width = `${(240 * pct) / 100}px`;
  }
  for (const k of ["done", "total", "label"]) model.on(`change:${k}`, draw);
  draw();
}

export default { render };
