/* certflow: the coordinator's pages. Everything works without this file; it adds:
 * - the audit packets' ZIP fetched in the page, with a busy indicator, the time and the bytes received so far,
 *   then saved under its name (a plain download link without JavaScript);
 * - "Link kopieren" for a new calendar subscription (where the browser allows the clipboard);
 * - the list's filter errors (HTTP 422) shown in place when htmx swaps the table.
 * No inline scripts anywhere: the Content-Security-Policy forbids them. */
(function () {
  "use strict";

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toLocaleString("de-DE", { maximumFractionDigits: 1, minimumFractionDigits: 1 }) + " MB";
  }

  function packets(link) {
    var status = document.getElementById("pakete-status");
    if (!status || !window.fetch || !window.ReadableStream || !window.Blob || !window.URL || !URL.createObjectURL) {
      return; /* the plain download link stays */
    }
    var progress = document.createElement("span");
    progress.className = "kb-fortschritt";
    progress.setAttribute("aria-hidden", "true"); /* updated every second: not read out each time */
    status.parentNode.insertBefore(progress, status.nextSibling);

    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (link.getAttribute("aria-disabled") === "true") {
        return;
      }
      var count = link.getAttribute("data-anzahl");
      var started = Date.now();
      var received = 0;
      link.setAttribute("aria-disabled", "true");
      link.classList.add("kb-beschaeftigt");
      status.textContent = "Die " + count + " Auditpakete werden erstellt und heruntergeladen. Bitte warten …";
      var tick = function () {
        var seconds = Math.round((Date.now() - started) / 1000);
        progress.textContent = seconds + " s, " + megabytes(received) + " empfangen";
      };
      tick();
      var timer = window.setInterval(tick, 1000);
      fetch(link.href, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) {
          throw new Error("der Server antwortet mit Fehler " + response.status);
        }
        var reader = response.body.getReader();
        var parts = [];
        var pump = function () {
          return reader.read().then(function (chunk) {
            if (chunk.done) {
              return new Blob(parts, { type: "application/zip" });
            }
            parts.push(chunk.value);
            received += chunk.value.length;
            return pump();
          });
        };
        return pump();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = link.getAttribute("data-dateiname") || "auditpakete.zip";
        document.body.appendChild(save);
        save.click();
        save.remove();
        window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        status.textContent = "Fertig: die Auditpakete (" + megabytes(blob.size) + ") sind heruntergeladen als " +
          save.download + ".";
      }).catch(function (error) {
        status.textContent = "Die Auditpakete konnten nicht heruntergeladen werden: " + error.message +
          ". Bitte später noch einmal versuchen.";
      }).then(function () {
        window.clearInterval(timer);
        progress.textContent = "";
        link.removeAttribute("aria-disabled");
        link.classList.remove("kb-beschaeftigt");
      });
    });
  }

  function copyButton(button) {
    var field = document.getElementById(button.getAttribute("data-kopiere"));
    var status = document.getElementById(button.getAttribute("data-kopiere") + "-status");
    if (!field) {
      return;
    }
    field.addEventListener("focus", function () { field.select(); });
    if (!navigator.clipboard || !window.isSecureContext) {
      return; /* no clipboard here: the field is selected on focus, copy with Strg+C */
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) { status.textContent = "Link kopiert."; }
      }, function () {
        field.select();
        if (status) { status.textContent = "Kopieren nicht möglich: bitte mit Strg+C kopieren."; }
      });
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 422 && target && target.id === "fz-liste") {
      event.detail.shouldSwap = true; /* the fragment names the bad filter */
      event.detail.isError = false;
    }
  });

  function start() {
    var link = document.getElementById("pakete-zip");
    if (link) {
      packets(link);
    }
    document.querySelectorAll("[data-kopiere]").forEach(copyButton);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
