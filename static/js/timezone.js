// The visitor's time zone, two progressive enhancements of pages that work without JavaScript:
// 1. Show times in the browser's own zone (Intl knows it, the server does not) on a first visit.
// 2. The zone search filters the zone list as the visitor types; without JavaScript the search
//    form sends what was typed and the server finds the zone ("tokyo", "Tokio", "US/Eastern").
(function () {
  "use strict";

  function detectZone() {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    var body = document.body;
    // Only a plain GET without ?tz= is redirected: a POSTed page must keep its form and errors.
    // The server resolves the name (an old alias such as Asia/Calcutta included); a name it
    // does not know leaves the page's zone, and ?tz= then stops a second redirect.
    if (!zone || body.dataset.detectZone !== "1" || body.dataset.zone === zone) return;
    var params = new URLSearchParams(window.location.search);
    params.set("tz", zone);
    window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
  }

  // The same spelling rules as zone_picker.normalise on the server: "St. John’s" → "st johns".
  function normalise(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/\u2212/g, "-")
      .replace(/[.'\u2019\u02bc]/g, "")
      .replace(/[^\p{L}\p{N}+:-]+/gu, " ")
      .trim();
  }

  function enhanceSearch() {
    var search = document.getElementById("tz-find");
    var select = document.getElementById("tz");
    var status = document.getElementById("tz-find-status");
    if (!search || !select || !status) return;
    var zoneForm = select.form;
    // Every option once, with what it is found by; the list is rebuilt from this on each key.
    var all = [];
    Array.prototype.forEach.call(select.children, function (node) {
      var options = node.tagName === "OPTGROUP" ? node.children : [node];
      Array.prototype.forEach.call(options, function (option) {
        var key = option.value;
        var countries = option.dataset.countries || "";
        all.push({
          group: node.tagName === "OPTGROUP" ? node : null,
          option: option,
          city: normalise(key.split("/").pop()),
          country: normalise(countries.split(", ")[0]),
          words: normalise(option.text).split(" "),
          text: normalise(option.text + " " + key + " " + countries),
        });
      });
    });

    // As the server ranks: a city starting with what was typed, then a main country, then a
    // word of the name ("tokio" on a German page), then anything containing it.
    function rank(entry, query) {
      if (entry.city.indexOf(query) === 0) return 0;
      if (entry.country && entry.country.indexOf(query) === 0) return 1;
      return entry.words.some(function (w) { return w.indexOf(query) === 0; }) ? 2 : 3;
    }

    function show(entries) {
      var chosen = select.value;
      select.textContent = "";
      var group = null;
      var copy = null;
      entries.forEach(function (entry) {
        if (!entry.group) {
          select.appendChild(entry.option);
          return;
        }
        if (entry.group !== group) {
          group = entry.group;
          copy = group.cloneNode(false);
          select.appendChild(copy);
        }
        copy.appendChild(entry.option);
      });
      select.value = chosen;
    }

    var timer = null;
    function filter() {
      var query = normalise(search.value);
      var words = query.split(" ").filter(Boolean);
      if (!words.length) {
        show(all);
        select.removeAttribute("size");
        status.textContent = "";
        return;
      }
      var found = all.filter(function (entry) {
        return words.every(function (w) { return entry.text.indexOf(w) !== -1; });
      });
      if (!found.length) {
        show(all);
        select.removeAttribute("size");
        status.textContent = status.dataset.none;
        return;
      }
      show(found);
      // A list box of the matches and their regions' headings; at least two rows, or it is a
      // drop-down.
      var rows = found.length + select.getElementsByTagName("optgroup").length;
      select.size = Math.max(2, Math.min(rows, 8));
      var best = found.slice().sort(function (a, b) { return rank(a, query) - rank(b, query); })[0];
      best.option.selected = true;
      // Announce the count once typing pauses, not at every key.
      clearTimeout(timer);
      timer = setTimeout(function () {
        status.textContent = found.length === 1
          ? status.dataset.one
          : status.dataset.many.replace("%(count)s", String(found.length));
      }, 400);
    }

    search.addEventListener("input", filter);
    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && select.size > 1) {
        event.preventDefault();
        select.focus();
      }
    });
    // Enter or "Find" with matches shows the best (or chosen) match; with none the server tries.
    search.form.addEventListener("submit", function (event) {
      if (select.size > 1) {
        event.preventDefault();
        zoneForm.requestSubmit();
      }
    });
    select.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        zoneForm.requestSubmit();
      } else if (event.key === "Escape" && search.value) {
        search.focus();
      }
    });
    // A list box is chosen from with a click too; a drop-down keeps its "Show times" button,
    // so arrowing through it never reloads the page.
    select.addEventListener("click", function (event) {
      if (select.size > 1 && event.target.tagName === "OPTION") zoneForm.requestSubmit();
    });
    if (search.value) filter();
  }

  detectZone();
  enhanceSearch();
})();
