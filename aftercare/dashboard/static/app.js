// Aftercare dashboard: small conveniences on top of plain HTML forms. Every page works
// without this file; the server checks everything again.
//
// - <textarea data-sms-counter="ID"> shows characters and SMS segments in element #ID
//   (created after the textarea when there is none). Optional attributes:
//   data-sms-max-segments="2", data-sms-text="{units} / {limit} ...", data-sms-too-long,
//   data-sms-ucs2 (names the characters that force the shorter UCS-2 segments).
// - <form data-confirm="Question?"> (or a submit button with data-confirm) asks first.
// - The navigation's current tab is scrolled into sight when the tabs overflow.
(function () {
  "use strict";

  // GSM 03.38, the same tables as messages/gsm7.py (a browser test compares the two).
  var BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  var SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  var MULTI = { "GSM-7": 153, "UCS-2": 67 };

  function smsCost(text) {
    var units = 0;
    var others = []; // characters outside GSM-7, each once, in order (whole code points)
    for (var i = 0; i < text.length; i++) {
      var char = text.charAt(i);
      if (EXTENSION.indexOf(char) >= 0) {
        units += 2;
      } else if (BASIC.indexOf(char) >= 0) {
        units += 1;
      } else {
        var point = String.fromCodePoint(text.codePointAt(i));
        if (others.indexOf(point) < 0) {
          others.push(point);
        }
        i += point.length - 1;
      }
    }
    var gsm7 = others.length === 0;
    var encoding = gsm7 ? "GSM-7" : "UCS-2";
    if (!gsm7) {
      units = text.length; // UTF-16 code units, as the network counts them
    }
    var segments = 0;
    if (units > 0) {
      segments = units <= SINGLE[encoding] ? 1 : Math.ceil(units / MULTI[encoding]);
    }
    var limit = segments <= 1 ? SINGLE[encoding] : MULTI[encoding] * segments;
    return { encoding: encoding, units: units, segments: segments, limit: limit, others: others };
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function counterFor(textarea) {
    var id = textarea.getAttribute("data-sms-counter");
    var output = id ? document.getElementById(id) : null;
    if (!output) {
      output = document.createElement("p");
      output.id = id || (textarea.id || "sms") + "-counter";
      textarea.insertAdjacentElement("afterend", output);
    }
    output.classList.add("sms-counter");
    output.setAttribute("aria-live", "polite");
    var describedBy = (textarea.getAttribute("aria-describedby") || "").split(/\s+/);
    if (describedBy.indexOf(output.id) < 0) {
      describedBy.push(output.id);
      textarea.setAttribute("aria-describedby", describedBy.join(" ").trim());
    }
    return output;
  }

  function watchSms(textarea) {
    var output = counterFor(textarea);
    var maxSegments = parseInt(textarea.getAttribute("data-sms-max-segments") || "0", 10);
    var label =
      textarea.getAttribute("data-sms-text") ||
      "{units} / {limit} characters · {segments} SMS · {encoding}";
    var tooLong =
      textarea.getAttribute("data-sms-too-long") || "Too long for {max} SMS. Please shorten it.";
    var ucs2 =
      textarea.getAttribute("data-sms-ucs2") || "{chars}: these characters make each SMS shorter.";
    function note(className, message) {
      var line = document.createElement("span");
      line.className = className;
      line.textContent = message;
      output.appendChild(line);
    }
    function update() {
      var cost = smsCost(textarea.value);
      var over = maxSegments > 0 && cost.segments > maxSegments;
      output.textContent = fill(label, cost);
      if (cost.others.length > 0) {
        note("sms-counter-note", fill(ucs2, { chars: cost.others.slice(0, 5).join(" ") }));
      }
      if (over) {
        note("sms-counter-warning", fill(tooLong, { max: maxSegments }));
      }
      output.classList.toggle("is-over", over);
      output.setAttribute("data-segments", String(cost.segments));
      output.setAttribute("data-encoding", cost.encoding);
    }
    textarea.addEventListener("input", update);
    update();
  }

  function confirmSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var submitter = event.submitter;
    var question =
      (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }

  // On a phone the navigation scrolls sideways: keep the current page's tab in sight.
  function showCurrentTab() {
    var current = document.querySelector(".nav [aria-current='page']");
    if (!current) {
      return;
    }
    var list = current.closest("ul");
    var item = current.getBoundingClientRect();
    var box = list.getBoundingClientRect();
    if (item.right > box.right || item.left < box.left) {
      list.scrollLeft += item.left - box.left - (box.width - item.width) / 2;
    }
  }

  function start() {
    showCurrentTab();
    var areas = document.querySelectorAll("textarea[data-sms-counter]");
    for (var i = 0; i < areas.length; i++) {
      watchSms(areas[i]);
    }
    document.addEventListener("submit", confirmSubmit);
  }

  window.aftercare = { smsCost: smsCost };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
