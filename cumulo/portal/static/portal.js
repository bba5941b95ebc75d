// Cumulo portal: progressive enhancement only. Pages work without it (links and forms);
// with it: the user menu, the service combobox (WAI-ARIA combobox with listbox popup),
// reveal and copy of secrets (revealing fetches the credentials API, which logs it),
// and confirmation dialogs.
"use strict";

(function () {
  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }
  const bound = new WeakSet();
  function once(element) { if (bound.has(element)) return false; bound.add(element); return true; }

  function toast(text) {
    const box = $("#toast");
    if (!box) return;
    box.textContent = text;
    box.classList.add("show");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.classList.remove("show"); }, 1800);
  }

  // --- user menu (disclosure) -------------------------------------------------------
  function initUserMenu() {
    const button = $("#user-menu-button");
    const panel = $("#user-menu");
    if (!button || !panel) return;
    function setOpen(open) {
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open) { const first = $(".menuitem", panel); if (first) first.focus(); }
    }
    button.addEventListener("click", function () { setOpen(panel.hidden); });
    document.addEventListener("click", function (event) {
      if (!panel.hidden && !panel.contains(event.target) && !button.contains(event.target)) setOpen(false);
    });
    panel.addEventListener("keydown", function (event) {
      const items = $$(".menuitem, .chip", panel);
      const index = items.indexOf(document.activeElement);
      if (event.key === "Escape") { setOpen(false); button.focus(); }
      else if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
      else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    });
  }

  // --- copy ----------------------------------------------------------------------------
  async function writeClipboard(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (error) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      let done = false;
      try { done = document.execCommand("copy"); } catch (ignored) { done = false; }
      area.remove();
      return done;
    }
  }

  function initCopy(root) {
    $$("[data-copy]", root).forEach(function (button) {
      if (!once(button)) return;
      button.addEventListener("click", async function () {
        const target = document.getElementById(button.dataset.copy);
        if (!target) return;
        const service = button.closest(".service");
        const labels = service ? service.dataset : {};
        let text = target.textContent;
        // A masked secret: it alone is revealed and copied (fetched, and so logged);
        // every other secret of the page stays masked.
        if (service && holdsSecret(target, service)) {
          try { text = secretOf(target, await fetchCredentials(service)); }
          catch (error) { toast(labels.labelFailed || "Copy failed"); return; }
          if (target.dataset.masked === undefined) target.dataset.masked = target.textContent;
          target.textContent = text;
        }
        if (await writeClipboard(text)) {
          button.setAttribute("data-copied", "");
          setTimeout(function () { button.removeAttribute("data-copied"); }, 1500);
          toast(labels.labelCopied || "Copied");
        } else {
          toast(labels.labelFailed || "Copy failed");
        }
      });
    });
  }

  // --- secrets: masked until revealed ---------------------------------------------------
  function holdsSecret(element, service) {
    return element.textContent.indexOf(service.dataset.mask) >= 0;
  }

  async function fetchCredentials(service) {
    if (!service.credentials) {
      const response = await fetch(service.dataset.credentialsUrl, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
      });
      if (!response.ok) throw new Error("credentials: HTTP " + response.status);
      service.credentials = await response.json();
    }
    return service.credentials;
  }

  // The unmasked text of one field that holds a secret (a value or a snippet).
  function secretOf(element, creds) {
    if (element.dataset.secret === "password") return creds.openstack.password;
    if (element.dataset.secret === "s3") return creds.s3.secret_access_key;
    if (element.dataset.snippet) return creds.snippets[element.dataset.snippet];
    return element.textContent;
  }

  async function reveal(service, show) {
    const fields = $$("[data-secret], [data-snippet]", service);
    if (show) {
      const creds = await fetchCredentials(service);
      fields.forEach(function (element) {
        if (element.dataset.masked === undefined) element.dataset.masked = element.textContent;
        element.textContent = secretOf(element, creds);
      });
    } else {
      fields.forEach(function (element) {
        if (element.dataset.masked !== undefined) element.textContent = element.dataset.masked;
      });
    }
    service.revealed = show;
    $$("[data-reveal]", service).forEach(function (button) {
      button.setAttribute("aria-pressed", String(show));
      if (!button.dataset.labelShow) button.dataset.labelShow = button.textContent;
      button.textContent = show ? service.dataset.labelHide : button.dataset.labelShow;
    });
  }

  function initService(root) {
    const service = $(".service", root) || (root.classList && root.classList.contains("service") ? root : null);
    if (!service) return;
    $$("[data-reveal]", service).forEach(function (button) {
      if (!once(button)) return;
      button.addEventListener("click", function () { reveal(service, !service.revealed); });
    });
    initCopy(service);
    initDialogs(service);
  }

  // --- dialogs and confirmations ----------------------------------------------------------
  function initDialogs(root) {
    $$("[data-open-dialog]", root).forEach(function (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      if (!dialog || typeof dialog.showModal !== "function" || !once(opener)) return;
      opener.addEventListener("click", function (event) {
        event.preventDefault();
        dialog.showModal();
        const cancel = $("[data-close-dialog]", dialog);
        if (cancel) cancel.focus();
      });
      $$("[data-close-dialog]", dialog).forEach(function (closer) {
        closer.addEventListener("click", function () { dialog.close(); opener.focus(); });
      });
    });
  }

  function initConfirms(root) {
    $$("form[data-confirm]", root).forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // --- the service combobox ---------------------------------------------------------------
  function initCombobox() {
    const box = $("[data-combobox]");
    if (!box) return;
    const input = $("[role=combobox]", box);
    const list = $("[role=listbox]", box);
    const empty = $(".listbox-empty", box);
    const options = $$("[role=option]", list);
    const panel = $("#service-panel");
    let active = -1;

    function visible() { return options.filter(function (o) { return !o.hidden; }); }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      setActive(-1);
    }
    function setActive(index) {
      const shown = visible();
      options.forEach(function (o) { o.classList.remove("active"); });
      active = index;
      if (index >= 0 && index < shown.length) {
        shown[index].classList.add("active");
        input.setAttribute("aria-activedescendant", shown[index].id);
        shown[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function filter() {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      options.forEach(function (o) {
        const text = o.dataset.search;
        o.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
      const shown = visible();
      empty.hidden = shown.length > 0;
      setActive(shown.length ? 0 : -1);
    }
    async function select(option) {
      options.forEach(function (o) { o.setAttribute("aria-selected", String(o === option)); });
      input.value = option.dataset.label;
      close();
      const id = option.dataset.id;
      const response = await fetch(box.dataset.fragmentUrl + encodeURIComponent(id), { credentials: "same-origin" });
      if (!response.ok) { toast("HTTP " + response.status); return; }
      panel.innerHTML = await response.text();
      initService(panel);
      history.replaceState(null, "", "/credentials?service=" + encodeURIComponent(id) + "#service-keys");
    }

    input.addEventListener("focus", function () { options.forEach(function (o) { o.hidden = false; }); empty.hidden = true; open(); });
    input.addEventListener("click", function () { open(); });
    input.addEventListener("input", function () { open(); filter(); });
    input.addEventListener("keydown", function (event) {
      const shown = visible();
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) open();
        setActive(Math.min(active + 1, shown.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        setActive(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0 && shown[active]) { event.preventDefault(); select(shown[active]); }
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    options.forEach(function (o) {
      o.addEventListener("mousedown", function (event) { event.preventDefault(); });
      o.addEventListener("click", function () { select(o); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initUserMenu();
    initCombobox();
    initCopy(document.querySelector(".page"));
    initService(document);
    initDialogs(document);
    initConfirms(document);
  });
})();
