// Progressive enhancement only: every flow works without this file.
// Choosing an agreement in the dropdown opens it without pressing Go.
document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
  s.addEventListener("change", function () { s.form.submit(); });
});
