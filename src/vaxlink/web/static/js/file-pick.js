// A file control in the page's language: the browser's own (which says "Choose File" in the
// browser's language) is visually hidden behind a label; this shows the chosen file's name in
// place of the "no file chosen" text. Without scripts the control still works.
"use strict";
document.querySelectorAll(".file-pick").forEach((pick) => {
  const input = pick.querySelector("input[type=file]");
  const none = pick.querySelector("[id$=-none]");
  const name = pick.querySelector("[id$=-name]");
  if (!input || !none || !name) return;
  const show = () => {
    const files = Array.from(input.files || []);
    name.textContent = files.map((f) => f.name).join(", ");
    name.hidden = files.length === 0;
    none.hidden = files.length > 0;
  };
  input.addEventListener("change", show);
  show();
});
