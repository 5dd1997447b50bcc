// The top bar's menu button (narrow screens): opens and closes the navigation and the
// signed-in user's links; Escape closes it and gives the focus back to the button.
(() => {
  const button = document.querySelector(".topbar .menu-toggle");
  const bar = button && button.closest(".topbar");
  if (!bar) return;
  const setOpen = (open) => {
    bar.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => setOpen(!bar.classList.contains("menu-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bar.classList.contains("menu-open")) {
      setOpen(false);
      button.focus();
    }
  });
})();
