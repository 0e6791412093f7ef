/* certflow: the auditor's review page (templates/web/auditor/review.html). No inline script: the CSP forbids it. */
(function () {
  "use strict";

  /* The comment forms post with htmx; a refusal (403, 409) or bad input (422) comes back as the thread with the
     German message at the field, and is swapped in like a success. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (form && form.classList && form.classList.contains("kommentar-form") && [403, 409, 422].indexOf(event.detail.xhr.status) >= 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  /* After a thread is swapped in, keyboard focus goes to its text field (or its message), not to the page top. */
  document.addEventListener("htmx:afterSwap", function (event) {
    var fresh = event.target && event.target.closest ? event.target.closest(".faden") : null;
    if (!fresh) { return; }
    var field = fresh.querySelector("textarea[aria-invalid='true']") || fresh.querySelector("[role='status']") ||
      fresh.querySelector("textarea");
    if (field) {
      if (field.tagName !== "TEXTAREA") { field.setAttribute("tabindex", "-1"); }
      field.focus();
    }
  });

  /* The sign-off renders the audit packet (seconds): show that it is busy and keep the button from a second click. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("mit-warten")) { return; }
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    var busy = form.querySelector(".pruef-warten");
    if (busy) { busy.hidden = false; }
    var button = form.querySelector("button[type='submit']");
    if (button) { button.setAttribute("aria-disabled", "true"); button.classList.add("wartet"); }
  });
}());
