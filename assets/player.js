// The audiobook player: plays an edition's tracks as one book over the Range delivery, with
// chapters, ±30 s, speed, a sleep timer, keyboard shortcuts and Media Session (the phone's
// lock screen); saves the place every 10 s while playing, on pause and when the page is
// hidden, and starts where the reader was.

const player = document.getElementById("player");
const audio = document.getElementById("audio");
const plan = JSON.parse(document.getElementById("plan").textContent);
const data = player.dataset;
const total = Number(data.total);

// Where each track starts in the book.
const starts = [];
let sum = 0;
for (const track of plan.tracks) {
  starts.push(sum);
  sum += track.duration;
}
let current = -1;

const trackAt = (seconds) => {
  let index = 0;
  for (let i = 0; i < starts.length; i += 1) if (seconds >= starts[i]) index = i;
  return index;
};

const bookTime = () => (current < 0 ? 0 : starts[current] + audio.currentTime);

// Moves to `seconds` into the book, loading another track when it lies in one.
const seek = (seconds, play) => {
  seconds = Math.min(Math.max(seconds, 0), Math.max(total - 0.5, 0));
  const index = trackAt(seconds);
  const offset = seconds - starts[index];
  const start = () => {
    audio.currentTime = offset;
    if (play) audio.play().catch(() => {});
  };
  if (index !== current) {
    current = index;
    audio.src = plan.tracks[index].href;
    audio.addEventListener("loadedmetadata", start, { once: true });
    audio.load();
  } else {
    start();
  }
};

const clock = (s) => {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
};

const chapterAt = (seconds) => {
  let found = null;
  for (const chapter of plan.chapters) if (seconds >= chapter.at) found = chapter;
  return found;
};

const show = () => {
  const at = bookTime();
  const chapter = chapterAt(at);
  document.getElementById("chapter-now").textContent = chapter ? chapter.title : "";
  document.getElementById("time-now").textContent = `${clock(at)} / ${clock(total)}`;
  for (const button of document.querySelectorAll(".chapters button")) {
    const here = chapter && Number(button.dataset.at) === chapter.at;
    if (here) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
};

// Saving the place.
let lastSaved = -1;
const save = (leaving) => {
  if (data.saves !== "true" || current < 0 || total <= 0) return;
  const seconds = bookTime();
  if (Math.abs(seconds - lastSaved) < 1) return;
  lastSaved = seconds;
  const url = `/listen/${data.edition}/position`;
  const body = JSON.stringify({ seconds, total, csrf: data.csrf });
  if (leaving && navigator.sendBeacon) {
    navigator.sendBeacon(url, new Blob([body], { type: "application/json" }));
    return;
  }
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": data.csrf },
    body,
    credentials: "same-origin",
  }).catch(() => { lastSaved = -1; });
};
setInterval(() => { if (!audio.paused) save(false); }, 10_000);
audio.addEventListener("pause", () => save(false));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") save(true);
});
window.addEventListener("pagehide", () => save(true));

// The next track when one ends.
audio.addEventListener("ended", () => {
  if (current + 1 < plan.tracks.length) seek(starts[current + 1], true);
  else save(false);
});
audio.addEventListener("timeupdate", show);

// Controls.
const playButton = document.getElementById("play");
const toggle = () => (audio.paused ? audio.play().catch(() => {}) : audio.pause());
playButton.addEventListener("click", toggle);
audio.addEventListener("play", () => { playButton.textContent = playButton.dataset.pause; });
audio.addEventListener("pause", () => { playButton.textContent = playButton.dataset.play; });
document.getElementById("back30").addEventListener("click", () => seek(bookTime() - 30, !audio.paused));
document.getElementById("fwd30").addEventListener("click", () => seek(bookTime() + 30, !audio.paused));
const speed = document.getElementById("speed");
speed.value = localStorage.getItem("folio.player.speed") ?? "1";
const applySpeed = () => {
  audio.playbackRate = Number(speed.value);
  localStorage.setItem("folio.player.speed", speed.value);
};
speed.addEventListener("change", applySpeed);
audio.addEventListener("loadedmetadata", applySpeed);
for (const button of document.querySelectorAll(".chapters button")) {
  button.addEventListener("click", () => seek(Number(button.dataset.at), true));
}

// The sleep timer pauses after the chosen minutes.
let sleeper = null;
document.getElementById("sleep").addEventListener("change", (event) => {
  clearTimeout(sleeper);
  const minutes = Number(event.target.value);
  if (minutes > 0) sleeper = setTimeout(() => audio.pause(), minutes * 60_000);
});

// Keyboard: space or k plays and pauses, ← and → (or j and l) skip 30 s.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === " " || event.key === "k") {
    if (target instanceof HTMLButtonElement || target === audio) return;
    event.preventDefault();
    toggle();
  } else if (event.key === "ArrowLeft" || event.key === "j") {
    event.preventDefault();
    seek(bookTime() - 30, !audio.paused);
  } else if (event.key === "ArrowRight" || event.key === "l") {
    event.preventDefault();
    seek(bookTime() + 30, !audio.paused);
  }
});

// The phone's lock screen.
if ("mediaSession" in navigator) {
  navigator.mediaSession.metadata = new MediaMetadata({
    title: plan.title,
    artist: plan.author,
    artwork: plan.cover ? [{ src: plan.cover, sizes: "480x720", type: "image/jpeg" }] : [],
  });
  navigator.mediaSession.setActionHandler("play", () => audio.play());
  navigator.mediaSession.setActionHandler("pause", () => audio.pause());
  navigator.mediaSession.setActionHandler("seekbackward", () => seek(bookTime() - 30, true));
  navigator.mediaSession.setActionHandler("seekforward", () => seek(bookTime() + 30, true));
}

if (plan.tracks.length > 0) seek(Number(data.start), false);
show();
