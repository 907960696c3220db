/* harden report tables: sort, filter, search and fold passes, offline.
 *
 * Progressive enhancement of every <table data-harden-table>: without this script the table
 * still shows every row. No network, no innerHTML: cell text comes from scanned servers, so
 * this script only moves existing nodes and writes text with textContent.
 * Its selectors and data attributes are a contract with the browser tests (README, "Report pages").
 */
(function () {
  "use strict";

  var ORDER = {
    status: ["fail", "error", "warn", "manual", "waived", "pass", "skip"],
    severity: ["critical", "high", "medium", "low", "info"],
  };
  var FILTERS = ["status", "severity", "area"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function sortKey(cell) {
    if (!cell) return "";
    var explicit = cell.getAttribute("data-sort");
    return explicit !== null ? explicit : cell.textContent.trim();
  }

  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && isFinite(x) && isFinite(y)) return x - y;
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  function ordered(attr, values) {
    var known = ORDER[attr] || [];
    return values.slice().sort(function (a, b) {
      var i = known.indexOf(a), j = known.indexOf(b);
      if (i < 0 && j < 0) return a.localeCompare(b);
      if (i < 0) return 1;
      if (j < 0) return -1;
      return i - j;
    });
  }

  function enhance(table, number) {
    if (table.getAttribute("data-harden-ready")) return;
    var body = table.tBodies[0];
    var headRow = table.tHead && table.tHead.rows.length === 1 ? table.tHead.rows[0] : null;
    if (!body || !headRow) return;
    var rows = Array.prototype.slice.call(body.rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var state = { query: "", showPasses: false, filters: {} };
    var id = "harden-t" + number;

    var controls = el("div", { "class": "harden-controls", role: "group", "aria-label": "Filter this table" });
    var search = el("input", { type: "search", "data-harden-search": "", id: id + "-search",
                               placeholder: "text in any column", autocomplete: "off" });
    var searchLabel = el("label", { "for": id + "-search" }, "Search");
    controls.appendChild(searchLabel);
    controls.appendChild(search);

    FILTERS.forEach(function (attr) {
      var seen = {};
      rows.forEach(function (row) {
        var value = row.getAttribute("data-" + attr);
        if (value) seen[value] = (seen[value] || 0) + 1;
      });
      var values = ordered(attr, Object.keys(seen));
      if (values.length < 2) return;
      var select = el("select", { "data-harden-filter": attr, id: id + "-" + attr });
      select.appendChild(el("option", { value: "" }, "all"));
      values.forEach(function (value) {
        select.appendChild(el("option", { value: value }, value + " (" + seen[value] + ")"));
      });
      var label = el("label", { "for": id + "-" + attr }, attr.charAt(0).toUpperCase() + attr.slice(1));
      controls.appendChild(label);
      controls.appendChild(select);
      select.addEventListener("change", function () {
        state.filters[attr] = select.value;
        apply();
      });
    });

    var passes = rows.filter(function (row) { return row.getAttribute("data-status") === "pass"; }).length;
    if (passes) {
      // Passes fold away unless there is nothing else to show.
      state.showPasses = passes === rows.length;
      var box = el("input", { type: "checkbox", "data-harden-show-passes": "", id: id + "-passes" });
      box.checked = state.showPasses;
      var boxLabel = el("label", { "for": id + "-passes" }, "show passing checks (" + passes + ")");
      controls.appendChild(box);
      controls.appendChild(boxLabel);
      box.addEventListener("change", function () {
        state.showPasses = box.checked;
        apply();
      });
    }
    var count = el("span", { "data-harden-count": "", "aria-live": "polite" });
    controls.appendChild(count);
    search.addEventListener("input", function () {
      state.query = search.value.trim().toLowerCase();
      apply();
    });
    table.parentNode.insertBefore(controls, table);

    function apply() {
      var shown = 0;
      rows.forEach(function (row, i) {
        var status = row.getAttribute("data-status");
        var visible = true;
        FILTERS.forEach(function (attr) {
          var wanted = state.filters[attr];
          if (wanted && row.getAttribute("data-" + attr) !== wanted) visible = false;
        });
        if (status === "pass" && !state.showPasses && state.filters.status !== "pass") visible = false;
        if (state.query && texts[i].indexOf(state.query) < 0) visible = false;
        if (visible) {
          row.removeAttribute("hidden");
          shown += 1;
        } else {
          row.setAttribute("hidden", "");
        }
      });
      count.textContent = "showing " + shown + " of " + rows.length + " rows";
    }

    var headers = Array.prototype.slice.call(headRow.cells);
    headers.forEach(function (th, column) {
      if (th.hasAttribute("data-nosort")) return;
      var button = el("button", { type: "button", "class": "harden-sort" });
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var direction = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        headers.forEach(function (other) {
          if (other !== th) other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", direction);
        var sign = direction === "ascending" ? 1 : -1;
        var indexed = rows.map(function (row, i) { return [row, i]; });
        indexed.sort(function (a, b) {
          var result = compare(sortKey(a[0].cells[column]), sortKey(b[0].cells[column]));
          return result !== 0 ? sign * result : a[1] - b[1];
        });
        indexed.forEach(function (pair) { body.appendChild(pair[0]); });
      });
    });

    // A link to a row (#f-…) that a filter hides: show it.
    function reveal() {
      var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
      if (target && target.parentNode === body && target.hasAttribute("hidden")) {
        if (target.getAttribute("data-status") === "pass") {
          state.showPasses = true;
          var box = controls.querySelector("[data-harden-show-passes]");
          if (box) box.checked = true;
        }
        apply();
        target.removeAttribute("hidden");
        target.scrollIntoView();
      }
    }
    window.addEventListener("hashchange", reveal);
    apply();
    reveal();
    table.setAttribute("data-harden-ready", "1");
  }

  function start() {
    var tables = document.querySelectorAll("table[data-harden-table]");
    for (var i = 0; i < tables.length; i += 1) enhance(tables[i], i);
  }

  // Printing shows the whole evidence of long cells.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.slice.call(document.querySelectorAll("details.harden-long:not([open])"));
    opened.forEach(function (d) { d.setAttribute("open", ""); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.removeAttribute("open"); });
    opened = [];
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
