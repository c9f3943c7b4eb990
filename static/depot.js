// Copy buttons: shown only when this script runs (the text stays selectable without it).
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function enable(root) {
    root.querySelectorAll("button.copy[data-copy-target]").forEach(function (button) {
      button.hidden = false;
    });
    showActiveTabs();
  }

  // On a phone the tab row scrolls sideways: the open tab is brought into the row's view
  // (Insight, last in the row, was off-screen). The row scrolls, never the page.
  function showActiveTabs() {
    document.querySelectorAll("nav.tabs").forEach(function (row) {
      var active = row.querySelector("a.active");
      if (!active || row.scrollWidth <= row.clientWidth) { return; }
      var left = active.offsetLeft - row.offsetLeft;
      var right = left + active.offsetWidth;
      if (left < row.scrollLeft || right > row.scrollLeft + row.clientWidth) {
        row.scrollLeft = Math.max(0, right - row.clientWidth + 24);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    copyText(source.textContent).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      button.setAttribute("aria-live", "polite");
      setTimeout(function () {
        button.textContent = "Copy";
        button.classList.remove("copied");
      }, 1500);
    }, function () {
      button.textContent = "Select and copy";
    });
  });

  // The version menu (a <details>) closes on Escape, focus back on its summary, as a
  // menu does; a click elsewhere closes it too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.version-picker[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) { summary.focus(); }
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.version-picker[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });

  document.addEventListener("DOMContentLoaded", function () { enable(document); });
  // Fragments swapped in by htmx bring their own copy buttons.
  document.addEventListener("htmx:afterSwap", function (event) { enable(event.target.parentNode || document); });
  // A tab swapped in by htmx: focus goes to its panel (it went to <body>), so a keyboard
  // or screen-reader user goes on from what they opened, as after a page load. Only for
  // a swap the focused element asked for (a link clicked or pressed): a part a page
  // loads by itself (the upstream's versions, a poll) takes nobody's focus.
  var askedByFocus = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    var elt = event.detail.elt;
    askedByFocus = !!(elt && active && active !== document.body && elt.contains(active));
  });
  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.getElementById("panel");
    var active = document.activeElement;
    var asked = askedByFocus;
    askedByFocus = false;
    // Only when the swap took focus away (the link clicked was replaced with its tabs).
    if (!asked || !panel || (active && active !== document.body && active.isConnected)) { return; }
    panel.focus({ preventScroll: true });
  });
}());
