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
// it carries data-live="true"; the answer says whether to go on. One that also carries
// data-refresh-when-done="SELECTOR" then takes that part of the page afresh from the
// server (a connection's job history shows the run that just ended), without a reload.
async function refresh(selector) {
  const old = selector ? document.querySelector(selector) : null;
  if (!old) {
    return;
  }
  const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
  if (response.ok) {
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector(selector);
    if (fresh) {
      old.replaceWith(document.importNode(fresh, true));
    }
  }
}

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
            await refresh(element.getAttribute("data-refresh-when-done"));
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

// The wizard's schedule: the next five runs follow what is typed.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-schedule]").forEach((box) => {
    const url = box.getAttribute("data-schedule");
    let timer = null;
    const refresh = async () => {
      const query = new URLSearchParams();
      box.querySelectorAll("input, select").forEach((input) => {
        if (input.name && input.name !== "preview") {
          query.set(input.name, input.value);
        }
      });
      const response = await fetch(`${url}?${query}`, { credentials: "same-origin" });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const target = box.querySelector("#schedule-runs");
        if (target && holder.firstElementChild) {
          target.replaceWith(holder.firstElementChild);
        }
      }
    };
    box.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    });
    box.addEventListener("change", refresh);
  });
});

// A schema's oneOf: only the chosen alternative's inputs are shown (without the script, all
// are, and the server reads the chosen one's).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-alternatives]").forEach((select) => {
    const forms = document.getElementById(select.getAttribute("data-alternatives"));
    if (!forms) {
      return;
    }
    const show = () => {
      forms.querySelectorAll(":scope > fieldset.alternative").forEach((fieldset) => {
        fieldset.hidden = fieldset.getAttribute("data-alternative") !== select.value;
      });
    };
    select.addEventListener("change", show);
    show();
  });
});
