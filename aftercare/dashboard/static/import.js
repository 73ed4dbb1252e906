// CSV import: while a file is checked or imported, ask the server how far it got, move the
// progress bar, and reload the page once the run has ended. Without this script the page
// refreshes itself (a <noscript> meta refresh) and has a Refresh link.
//
// <section data-import-progress="/app/import/TOKEN/progress"> holds a <progress>, an
// element with data-progress-text and one with data-progress-percent.
(function () {
  "use strict";

  var POLL_MS = 700;
  var RETRY_MS = 3000;

  function start() {
    var box = document.querySelector("[data-import-progress]");
    if (!box) {
      return;
    }
    var url = box.getAttribute("data-import-progress");
    var bar = box.querySelector("progress");
    var words = box.querySelector("[data-progress-text]");
    var percent = box.querySelector("[data-progress-percent]");

    function show(status) {
      if (bar) {
        bar.value = status.percent;
        bar.textContent = status.percent + "%";
      }
      if (words && words.textContent !== status.text) {
        words.textContent = status.text;
      }
      if (percent) {
        percent.textContent = status.percent + "%";
      }
    }

    function poll() {
      // "manual": a signed-out session answers with a redirect; the reload then shows it.
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store", redirect: "manual" })
        .then(function (response) {
          if (!response.ok) {
            window.location.reload();
            return null;
          }
          return response.json();
        })
        .then(function (status) {
          if (!status) {
            return;
          }
          show(status);
          if (status.finished) {
            window.location.reload();
          } else {
            window.setTimeout(poll, POLL_MS);
          }
        })
        .catch(function () {
          window.setTimeout(poll, RETRY_MS);
        });
    }

    window.setTimeout(poll, POLL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
