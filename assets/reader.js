// The EPUB reader's page: restores the reader's place in the chapter, saves it as they read
// (debounced, and when the page is hidden), and keeps their text size and theme.

const reader = document.getElementById("reader");
const chapter = document.getElementById("chapter");

const data = reader.dataset;
const start = Number(data.start);
const size = Number(data.size);
const total = Number(data.total);

// Text size and theme are this browser's choice, kept between visits.
const root = document.documentElement;
const sizes = [0.85, 0.95, 1.05, 1.2, 1.35, 1.5, 1.7];
let step = Number(localStorage.getItem("folio.reader.size") ?? 2);
const applySize = () => {
  step = Math.min(Math.max(step, 0), sizes.length - 1);
  root.style.setProperty("--reader-size", `${sizes[step]}rem`);
  localStorage.setItem("folio.reader.size", String(step));
};
document.getElementById("font-smaller").addEventListener("click", () => { step -= 1; applySize(); });
document.getElementById("font-larger").addEventListener("click", () => { step += 1; applySize(); });
applySize();

const themeButton = document.getElementById("theme");
const applyTheme = (dark) => {
  root.dataset.theme = dark ? "dark" : "light";
  themeButton.setAttribute("aria-pressed", String(dark));
  localStorage.setItem("folio.reader.theme", dark ? "dark" : "light");
};
const storedTheme = localStorage.getItem("folio.reader.theme");
applyTheme(storedTheme ? storedTheme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches);
themeButton.addEventListener("click", () => applyTheme(root.dataset.theme !== "dark"));

// How far through the chapter the top of the screen is, 0 to 1.
const within = () => {
  const top = chapter.getBoundingClientRect().top + window.scrollY;
  const height = chapter.scrollHeight - window.innerHeight;
  if (height <= 0) return 0;
  return Math.min(Math.max((window.scrollY - top) / height, 0), 1);
};

const restore = () => {
  const at = Number(data.within);
  if (!(at > 0)) return;
  const top = chapter.getBoundingClientRect().top + window.scrollY;
  window.scrollTo(0, top + at * Math.max(chapter.scrollHeight - window.innerHeight, 0));
};

const percent = () => (total > 0 ? Math.min((start + within() * size) / total, 1) : 0);

let lastSaved = null;
const save = (beacon) => {
  if (data.saves !== "true") return;
  const body = JSON.stringify({ percent: percent(), chapter: Number(data.chapter) });
  if (body === lastSaved) return;
  lastSaved = body;
  fetch(`/read/${data.edition}/position`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": data.csrf },
    body,
    keepalive: beacon,
    credentials: "same-origin",
  }).catch(() => { lastSaved = null; });
};

let timer = null;
window.addEventListener("scroll", () => {
  clearTimeout(timer);
  timer = setTimeout(() => save(false), 1500);
}, { passive: true });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") save(true);
});

// Once the chapter's pictures have their sizes, the place can be found again.
if (document.readyState === "complete") {
  restore();
  save(false);
} else {
  window.addEventListener("load", () => { restore(); save(false); });
}
