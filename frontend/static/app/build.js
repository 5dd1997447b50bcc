// The image build form: start from a template, add and remove build arguments.
(() => {
  const templates = JSON.parse(document.getElementById("build-templates").textContent);
  const args = document.getElementById("build-args");
  const picker = document.getElementById("id_template");
  const about = document.getElementById("template-about");
  const text = (tag, value) => {
    const el = document.createElement(tag);
    el.textContent = value;
    return el;
  };
  // A new row is a copy of the page's own row template (images/_arg_row.html).
  const rowTemplate = document.getElementById("arg-row-template");
  const addRow = (name = "", value = "") => {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.querySelector("[name=arg_name]").value = name;
    row.querySelector("[name=arg_value]").value = value;
    args.appendChild(row);
  };
  document.getElementById("add-arg").addEventListener("click", () => addRow());
  args.addEventListener("click", (event) => {
    if (event.target.matches("[data-remove-arg]")) event.target.closest(".arg-row").remove();
  });
  const describe = (t) => {
    about.replaceChildren(text("p", t.description));
    if (t.provenance) {
      const p = t.provenance;
      about.append(text("p", `Source: seed ${p.seed}, ${p.section}.`));
      const quote = text("pre", p.quote);
      quote.className = "small";
      about.append(quote);
      const notes = document.createElement("ul");
      p.notes.forEach((n) => notes.append(text("li", n)));
      about.append(notes);
    }
    about.hidden = false;
  };
  const apply = () => {
    const t = templates.find((x) => x.key === picker.value);
    if (!t) {
      about.hidden = true;
      return;
    }
    document.getElementById("id_dockerfile").value = t.dockerfile;
    const tag = document.getElementById("id_tag");
    if (!tag.value) tag.value = t.tag;
    const path = document.getElementById("id_context_path");
    path.placeholder = t.context_path_hint || "";
    args.replaceChildren();
    const entries = Object.entries(t.build_args);
    (entries.length ? entries : [["", ""]]).forEach(([n, v]) => addRow(n, v));
    describe(t);
  };
  picker.addEventListener("change", apply);
  const current = templates.find((x) => x.key === picker.value);
  if (current) describe(current);
})();
