// "Select all on this page" for the approval queue; without JS each row is ticked by hand.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  var label = document.getElementById("select-all-label");
  if (!all) { return; }
  all.hidden = false;
  if (label) { label.hidden = false; }
  var boxes = function () {
    return document.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]');
  };
  all.addEventListener("change", function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
  });
})();
