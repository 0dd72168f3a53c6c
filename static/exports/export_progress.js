// Follow the running exports on the admin's Export page; reload once one
// finishes, to show its download.
setInterval(async () => {
  for (const bar of document.querySelectorAll("progress[data-progress-url]")) {
    const state = await (await fetch(bar.dataset.progressUrl)).json();
    bar.value = state.progress;
    if (state.status === "done" || state.status === "failed") location.reload();
  }
}, 3000);
