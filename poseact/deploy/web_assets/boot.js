// Loaded before app.js as a classic script (no inline code: a strict Content Security
// Policy allows it): when app.js itself cannot be fetched or run, say so on the page
// instead of "Loading…" forever. app.js reports everything after it has started.
window.addEventListener(
  "error",
  (event) => {
    const target = event.target;
    if (!target || target.tagName !== "SCRIPT" || !/app\.js$/.test(target.src || "")) return;
    const box = document.getElementById("error");
    if (!box) return;
    box.textContent =
      "Error: the page's script app.js could not be loaded; build the site again, or" +
      " use a browser with JavaScript modules and WebAssembly.";
    box.hidden = false;
    const status = document.getElementById("status");
    if (status) status.textContent = "";
  },
  true,
);
