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
    const ends = picked.map((b) => b.dataset.end).sort();
    const first = starts[0];
    const last = ends[ends.length - 1];
    form.querySelector("input[name=start]").value = first;
    // From the first picked start (the next quarter hour in an hour already begun) to the end of
    // the last picked hour, in quarter hours.
    const hours = Math.round(((new Date(last) - new Date(first)) / HOUR) * 4) / 4;
    form.querySelector("input[name=hours]").value = String(Math.max(0.25, hours));
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
