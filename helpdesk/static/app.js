// Small progressive touches; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Filters apply as soon as a choice changes; typing a search still waits for Enter.
  document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.querySelectorAll("select, input[type=date]").forEach((input) => {
      input.addEventListener("change", () => form.requestSubmit());
    });
    // Leave unused filters out of the URL, so bookmarks and shared links stay readable.
    form.addEventListener("submit", () => {
      form.querySelectorAll("input, select").forEach((input) => {
        if (!input.value) input.disabled = true;
      });
    });
  });
  // Ask before actions that cannot be undone.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Ctrl+Enter (Cmd+Enter) in the composer sends the reply.
  document.querySelectorAll("textarea[data-submit-shortcut]").forEach((area) => {
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        area.form.querySelector("[name=reply]").click();
      }
    });
  });
});
