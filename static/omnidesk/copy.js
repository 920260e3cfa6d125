// "Copy" buttons: data-copy names the field whose text goes to the clipboard; the button says it worked.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (e) {
    document.execCommand("copy"); // older browsers, or a page without clipboard permission
  }
  const label = button.textContent;
  button.textContent = "✓ " + label;
  window.setTimeout(() => { button.textContent = label; }, 2000);
});
