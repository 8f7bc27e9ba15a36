// Sluiceway's UI script: confirmations and live updates. The pages work without it.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// An element with data-poll="URL" is replaced by the HTML at URL every two seconds while
// it carries data-live="true"; the answer says whether to go on.
function poll(element) {
  const url = element.getAttribute("data-poll");
  const tick = async () => {
    if (element.getAttribute("data-live") !== "true") {
      return;
    }
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.firstElementChild;
        if (fresh) {
          element.replaceWith(fresh);
          element = fresh;
          if (element.getAttribute("data-live") !== "true") {
            return;
          }
        }
      }
    } catch (error) {
      // the server may be restarting: try again at the next tick
    }
    window.setTimeout(tick, 2000);
  };
  window.setTimeout(tick, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
});
