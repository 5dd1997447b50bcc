// Timeline: clicking free slots picks cards and the window for the booking form below.
(function () {
  "use strict";
  const HOUR = 3600 * 1000;

  function update(form) {
    const picked = Array.from(document.querySelectorAll(".slot.free.selected .pick"));
    const devices = new Set(picked.map((b) => b.dataset.device));
    form.querySelectorAll("input[name=cards]").forEach((box) => {
      box.checked = devices.has(box.value);
    });
    if (!picked.length) return;
    const starts = picked.map((b) => b.dataset.start).sort();
    const first = starts[0];
    const last = starts[starts.length - 1];
    form.querySelector("input[name=start]").value = first;
    const hours = (new Date(last) - new Date(first)) / HOUR + 1;
    form.querySelector("input[name=hours]").value = String(Math.max(1, Math.round(hours)));
  }

  document.addEventListener("click", (event) => {
    const pick = event.target.closest("button.pick");
    const form = document.getElementById("book-form");
    if (!pick || !form) return;
    pick.closest("td").classList.toggle("selected");
    update(form);
    const purpose = form.querySelector("input[name=purpose]");
    if (purpose && !purpose.value) purpose.focus({ preventScroll: true });
  });
})();
