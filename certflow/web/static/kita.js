/* certflow: the Kita lead's self-assessment (templates/web/kita/bereich.html). No inline script: the CSP forbids it.

   - Uploads (forms with data-fortschritt): the file's size is checked before anything is sent (the server
     checks again, and the type); while it is sent, a <progress> element shows how far it is.
   - The upload and answer forms swap their block also for a refusal (413, 422, 403, 409): the German
     message stands at the field. Keyboard focus then goes to the field with the error, or to the message.
*/
(function () {
  "use strict";

  var FRAGMENT_ERRORS = [403, 409, 413, 422];

  function fileInput(form) {
    var elements = form.elements || [];
    for (var i = 0; i < elements.length; i++) {
      if (elements[i].type === "file") { return elements[i]; }
    }
    return null;
  }

  function say(input, text) {
    var slot = document.getElementById(input.id + "-fehler");
    if (!slot) { return; }
    slot.querySelector(".kl-meldung").textContent = text;
    slot.hidden = !text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", slot.id);
      input.focus();
    }
  }

  /* Too big: not sent at all. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.dataset || !form.dataset.fortschritt) { return; }
    var input = fileInput(form);
    if (!input || !input.files || !input.files.length) { return; }
    var limit = parseInt(input.dataset.maxBytes || "0", 10);
    if (limit && input.files[0].size > limit) {
      event.preventDefault();
      say(input, input.dataset.zuGross || "Die Datei ist zu groß.");
      return;
    }
    say(input, "");
    var bar = document.getElementById(form.dataset.fortschritt);
    if (bar) {
      bar.value = 0;
      bar.textContent = "0 %";
      bar.hidden = false;
      var label = document.querySelector("label[for='" + bar.id + "']");
      if (label) { label.hidden = false; }
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target;
    if (!form || !form.dataset || !form.dataset.fortschritt || !event.detail.lengthComputable) { return; }
    var bar = document.getElementById(form.dataset.fortschritt);
    if (bar && event.detail.total) {
      var percent = Math.round(100 * event.detail.loaded / event.detail.total);
      bar.value = percent;
      bar.textContent = percent + " %";
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-kl-fragment") &&
        FRAGMENT_ERRORS.indexOf(event.detail.xhr.status) >= 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  /* A request that failed without an answer (the connection broke): say so at the file field. */
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    if (!form || !form.dataset || !form.dataset.fortschritt) { return; }
    var input = fileInput(form);
    if (input) { say(input, "Das Hochladen ist abgebrochen. Bitte prüfen Sie die Verbindung und versuchen Sie es erneut."); }
  });

  /* The block was replaced (outerHTML): find the new one by the form's target. */
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.detail.elt;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-kl-fragment")) { return; }
    var block = document.querySelector(form.getAttribute("hx-target"));
    if (!block) { return; }
    var target = block.querySelector("[aria-invalid='true']") || block.querySelector("[role='status']");
    if (target) {
      if (!/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) { target.setAttribute("tabindex", "-1"); }
      target.focus();
    }
  });
}());
