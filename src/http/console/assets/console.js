// Roster console: copy buttons. Served from the binary; no inline script (CSP: script-src 'self').
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) return;
  var text = source.value !== undefined ? source.value : source.textContent;
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
    done();
  }
});

// Tables filtered by a select: <select data-filter-table="ID"> shows the rows of table ID whose
// data-action equals the chosen value (all rows for an empty value).
document.addEventListener("change", function (event) {
  var select = event.target.closest("[data-filter-table]");
  if (!select) return;
  var table = document.getElementById(select.getAttribute("data-filter-table"));
  if (!table) return;
  table.querySelectorAll("tr[data-action]").forEach(function (row) {
    row.hidden = select.value !== "" && row.getAttribute("data-action") !== select.value;
  });
});
