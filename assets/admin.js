// The shop keeper's upload: sends the chosen files with a progress bar (the upload streams to
// storage as it arrives), then shows the book's page again with what the files were read to
// say. Without this script the form posts as it is.

for (const form of document.querySelectorAll("form.upload")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const bar = form.querySelector("progress");
    const status = form.querySelector(".upload-status");
    const button = form.querySelector("button[type=submit]");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("accept", "application/json");
    request.setRequestHeader("x-csrf-token", form.dataset.csrf);
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    request.addEventListener("load", () => {
      button.disabled = false;
      if (request.status >= 200 && request.status < 300) {
        bar.value = 100;
        location.reload();
        return;
      }
      let detail = request.statusText;
      try {
        const problem = JSON.parse(request.responseText);
        detail = problem.errors?.map((e) => e.message).join("; ") || problem.detail || detail;
      } catch (_) { /* not JSON: the status says it */ }
      status.textContent = detail;
      bar.hidden = true;
    });
    request.addEventListener("error", () => {
      button.disabled = false;
      bar.hidden = true;
      status.textContent = form.dataset.failed;
    });
    request.send(new FormData(form));
  });
}
