// Type-ahead for the jurisdiction picker (WAI-ARIA combobox with a listbox popup).
// Without this script the field is a plain text box and the server offers matches to confirm.
(function () {
  "use strict";

  function setup(root) {
    var input = root.querySelector("[role=combobox]");
    var listbox = root.querySelector("[role=listbox]");
    var keyField = root.querySelector("[data-picker-key]");
    var status = root.querySelector("[data-picker-status]");
    var url = root.getAttribute("data-search-url");
    var options = [];
    var active = -1;
    var timer = null;
    var lastQuery = "";
    var pending = null;

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var li = options[index];
      if (!li) { return; }
      input.value = li.getAttribute("data-label");
      keyField.value = li.getAttribute("data-key");
      status.textContent = "Selected " + li.getAttribute("data-label");
      close();
    }

    function render(results) {
      listbox.textContent = "";
      options = results.map(function (r, i) {
        var li = document.createElement("li");
        li.id = input.id + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-key", r.key);
        li.setAttribute("data-label", r.label);
        var name = document.createElement("span");
        name.textContent = r.label;
        var desc = document.createElement("span");
        desc.className = "desc";
        desc.textContent = r.description;
        li.appendChild(name);
        li.appendChild(desc);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        listbox.appendChild(li);
        return li;
      });
      if (options.length) {
        listbox.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = options.length + (options.length === 1 ? " match" : " matches") + ". Use the arrow keys to choose.";
      } else {
        close();
        status.textContent = "No matches.";
      }
      active = -1;
    }

    function search() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(q), { signal: pending.signal, headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (input.value.trim() === q) { render(data.results || []); } })
        .catch(function () { /* aborted or offline: the server still resolves the text */ });
    }

    input.addEventListener("input", function () {
      keyField.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (listbox.hidden && options.length) { listbox.hidden = false; input.setAttribute("aria-expanded", "true"); }
        highlight(Math.min(active + 1, options.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && !listbox.hidden && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  document.querySelectorAll("[data-picker]").forEach(setup);
})();
