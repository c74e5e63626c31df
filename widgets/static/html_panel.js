// A document panel: Python renders the (escaped) HTML; the view shows it and keeps it in step.
function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-panel");
  const draw = () => { root.innerHTML = model.get("html") || ""; };
  model.on("change:html", draw);
  draw();
  host.appendChild(root);
}

export default { render };
