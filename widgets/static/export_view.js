// Export view: signatures (inputs, dtypes, shapes), checks, metadata, warmup and integrity.

function shape(s) {
  if (!s) return "unknown";
  return "[" + s.map((d) => (d === -1 || d === null ? "None" : String(d))).join(", ") + "]";
}

function render({ model, el: host }) {
  const root = el("div", null, "wb wb-export");
  host.appendChild(root);

  function draw() {
    const r = model.get("report") || {};
    const now = model.get("integrity") || {};
    root.replaceChildren();
    const checks = r.checks || [];
    const ok = checks.length > 0 && checks.every((c) => c.passed);
    const title = el("div", "SavedModel ", "wb-title");
    title.appendChild(el("code", r.saved_model || ""));
    title.appendChild(document.createTextNode(": "));
    title.appendChild(el("span", ok ? "all checks passed" : "checks failed",
                         ok ? "wb-ok wb-export-status" : "wb-bad wb-export-status"));
    root.appendChild(title);
    if (Object.keys(now).length) {
      const line = now.ok
        ? el("div", `integrity now: all ${now.files} files match the manifest` +
             (now.signed ? " (signed)" : " (unsigned)"), "wb-ok wb-integrity-now")
        : el("div", `integrity now: ${now.error || "FAILED"}`, "wb-bad wb-integrity-now");
      root.appendChild(line);
    }

    // signatures
    root.appendChild(el("div", "Signatures", "wb-subtitle"));
    const sigs = Object.entries(r.signatures || {});
    sigs.sort((a, b) => (b[0] === "serving_default") - (a[0] === "serving_default"));
    for (const [name, sig] of sigs) {
      const d = el("details", null, "wb-signature");
      d.open = name === "serving_default";
      const s = el("summary", name + "  ");
      s.appendChild(el("span", sig.method_name, "wb-muted"));
      d.appendChild(s);
      const rows = [];
      for (const side of ["inputs", "outputs"]) {
        for (const [k, t] of Object.entries(sig[side] || {})) {
          rows.push([side === "inputs" ? "input" : "output", k, t.dtype, shape(t.shape)]);
        }
      }
      d.appendChild(table(["", "name", "dtype", "shape"], rows, "wb-signature-table"));
      root.appendChild(d);
    }

    // checks
    root.appendChild(el("div", "Checks", "wb-subtitle"));
    root.appendChild(table(null, checks.map((c) => [
      el("span", c.passed ? "\u2714" : "\u2718", c.passed ? "wb-ok" : "wb-bad"),
      c.name, c.detail]), "wb-checks"));

    // metadata
    const meta = r.metadata || {};
    const approval = meta.approval || {};
    const evaluation = meta.evaluation || {};
    root.appendChild(el("div", "Metadata", "wb-subtitle"));
    const facts = [
      ["run", meta.run_id],
      ["task", r.task + (r.classes && r.classes.length ? ` (${r.classes.join(", ")})` : "")],
      ["blessed", r.blessed ? "yes" : "no"],
      ["override", r.override ? r.override.reason : "none"],
      ["approval", approval.status + (approval.by ? ` by ${approval.by}` : "")],
      ["warmup", r.warmup ? `${r.warmup.records} records, batch sizes ${r.warmup.batch_sizes.join(", ")}` : "–"],
      ["integrity", r.integrity ? `${r.integrity.files} files, ` +
        (r.integrity.signature_checked ? `signed by ${r.integrity.key_fingerprint}` : "unsigned") : "–"],
      ["size", size(r.size_bytes)],
    ];
    const ft = table(null, facts.map(([k, v]) => [k, v === undefined ? "–" : v]), "wb-facts");
    root.appendChild(ft);
    const metrics = Object.entries(evaluation.metrics || {});
    if (metrics.length) {
      const d = el("details");
      d.appendChild(el("summary", "Evaluation metrics"));
      d.appendChild(table(["metric", "value"], metrics.map(([k, v]) =>
        [k, typeof v === "number" ? v.toFixed(4) : v])));
      root.appendChild(d);
    }
    const data = (meta.data || {}).sha256 || {};
    if (Object.keys(data).length) {
      const d = el("details");
      d.appendChild(el("summary", "Data fingerprints (sha256)"));
      d.appendChild(table(["artifact", "sha256"], Object.entries(data).map(([k, v]) =>
        [k, el("span", v, "wb-hash")])));
      root.appendChild(d);
    }
    const pkgs = ((meta.environment || {}).packages) || {};
    if (Object.keys(pkgs).length) {
      const d = el("details");
      d.appendChild(el("summary", "Package versions"));
      d.appendChild(table(["package", "version"], Object.entries(pkgs)));
      root.appendChild(d);
    }
    const spec = r.example_spec || [];
    if (spec.length) {
      const d = el("details");
      d.appendChild(el("summary", "tf.Example features (classify / regress)"));
      d.appendChild(table(["key", "input", "type"], spec.map((s) => [s.key, s.input, s.type])));
      root.appendChild(d);
    }
  }
  model.on("change:report", draw);
  model.on("change:integrity", draw);
  draw();
}

export default { render };
