// Behaviour every page shares, kept out of the templates so the Content-Security-Policy can
// forbid inline scripts and styles:
//   data-autosubmit      on a form control: submit its form when the value changes;
//   data-confirm="text"  on a form: ask before submitting;
//   data-width="37"      width: 37% (progress and memory bars);
//   data-hue="210"       the --hue custom property (team colours on the timeline).
// Sizes and colours are set through the style object, which the policy allows, on the page
// and on every fragment added later (htmx swaps, live updates).
(() => {
  "use strict";

  const STYLED = "[data-width], [data-hue]";

  function applyStyle(el) {
    if (el.dataset.width !== undefined) el.style.width = `${Number(el.dataset.width) || 0}%`;
    if (el.dataset.hue !== undefined) el.style.setProperty("--hue", String(Number(el.dataset.hue) || 0));
  }

  function applyStyles(root) {
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    if (root.matches(STYLED)) applyStyle(root);
    root.querySelectorAll(STYLED).forEach(applyStyle);
  }

  document.addEventListener("change", (event) => {
    const control = event.target;
    if (!(control instanceof Element) || !control.matches("[data-autosubmit]") || !control.form) return;
    if (control.form.requestSubmit) control.form.requestSubmit();
    else control.form.submit();
  });

  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  function start() {
    applyStyles(document.body);
    new MutationObserver((changes) => {
      changes.forEach((change) => change.addedNodes.forEach(applyStyles));
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
