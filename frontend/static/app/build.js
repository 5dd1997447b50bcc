// The image build form: start from a template, add and remove build arguments.
(() => {
  const templates = JSON.parse(document.getElementById("build-templates").textContent);
  const args = document.getElementById("build-args");
  const picker = document.getElementById("id_template");
  const about = document.getElementById("template-about");
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
  // The page renders every template's description and source; show the picked one's.
  const describe = (t) => {
    for (const part of about.querySelectorAll("[data-about]")) part.hidden = part.dataset.about !== t.key;
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
