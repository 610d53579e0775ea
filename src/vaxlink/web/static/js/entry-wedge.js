// Handheld USB QR scanners ("keyboard wedge") type the chip ID card's QR text, e.g.
// `001085012345||Nguyễn Văn An|14031985|Nam|…|01052021`, as a burst of keystrokes a few
// milliseconds apart and press Enter. Whatever has focus (the ID field, or nothing), a burst that
// contains '|' is sent to the chip-QR identify path instead of landing in the 12-digit ID field.
// People type far slower than 50 ms a key, so their typing is never taken for a scan. Without
// this script, the text typed into the ID field is still read as a scan by the server.
(function () {
  "use strict";
  var form = document.getElementById("wedge-form");
  var field = document.getElementById("wedge-qr");
  var idField = document.getElementById("id-number");
  var status = document.getElementById("wedge-status");
  var hint = document.getElementById("wedge-hint");
  if (!form || !field || !idField) { return; }
  if (hint) { hint.hidden = false; }

  var BURST_GAP_MS = 50;    // a scanner's keys come faster than this (median)
  var KEEP_GAP_MS = 150;    // a longer pause ends the burst
  var MIN_LENGTH = 20;      // a chip QR is far longer than an ID number
  var text = "";
  var gaps = [];
  var last = 0;
  var target = null;        // the field the burst typed into, and its value before the burst
  var before = "";
  var sent = false;

  function editable(el) {
    return el && (el.tagName === "TEXTAREA" ||
      (el.tagName === "INPUT" && /^(text|search|tel|number|email|url|password)$/i.test(el.type)));
  }

  function add(chars, el) {
    var now = performance.now();
    if (!text || now - last > KEEP_GAP_MS) {
      text = ""; gaps = []; target = el; before = el ? el.value : "";
    } else {
      gaps.push(now - last);
    }
    text += chars;
    last = now;
  }

  function median(values) {
    if (!values.length) { return Infinity; }
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    return sorted[Math.floor(sorted.length / 2)];
  }

  function isScan() {
    return text.indexOf("|") >= 0 && text.length >= MIN_LENGTH && median(gaps) <= BURST_GAP_MS &&
      performance.now() - last <= KEEP_GAP_MS;
  }

  // characters typed into a field arrive as input events (also letters such as 'ễ' that a
  // scanner or a test types without a key of their own)
  document.addEventListener("input", function (e) {
    if (e.inputType === "insertText" && typeof e.data === "string") { add(e.data, e.target); }
  }, true);

  document.addEventListener("keydown", function (e) {
    if (sent) { e.preventDefault(); return; }
    if (e.key === "Enter") {
      if (isScan()) {
        e.preventDefault();
        e.stopPropagation();
        if (target && editable(target)) { target.value = before; }
        sent = true;
        field.value = text;
        if (status) { status.hidden = false; }
        form.submit();
      }
      text = "";
      return;
    }
    if (e.key.length !== 1 || e.ctrlKey || e.metaKey || e.altKey || editable(e.target)) { return; }
    // Nothing to type into has focus: keep the character and move the rest of a burst into
    // the ID field (where typed characters arrive as input events).
    e.preventDefault();
    add(e.key, idField);
    idField.focus();
    idField.value += e.key;
  }, true);
})();
