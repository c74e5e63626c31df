// "Download report": asks Python to build the run's report, receives its bytes as a message
// buffer and hands them to the browser as a file (a Blob URL: nothing leaves the page).
function render({ model, el: host }) {
  const root = el("div", undefined, "wb wb-report-download wb-toolbar");
  const button = el("button", "Download the report (HTML)", "wb-button wb-report-button");
  const status = el("span", undefined, "wb-muted wb-report-status");
  let url = null;
  const link = el("a", undefined, "wb-report-link");
  link.style.display = "none";
  root.append(button, link, status);
  host.appendChild(root);

  button.addEventListener("click", () => {
    button.disabled = true;
    model.send({ event: "build" });
  });
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.event !== "report" || !buffers || !buffers.length) return;
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/html" }));
    link.href = url;
    link.download = msg.name;
    link.textContent = msg.name;
    link.style.display = "";
    link.click();
  });
  function draw() {
    const state = model.get("state");
    root.dataset.state = state || "";
    button.disabled = state === "building";
    status.textContent = state === "building" ? "building the report…" : model.get("message") || "";
    status.className = state === "error" ? "wb-bad wb-report-status" : "wb-muted wb-report-status";
  }
  model.on("change:state", draw);
  model.on("change:message", draw);
  draw();
}

export default { render };
