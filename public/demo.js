// The demo page: fills the snippet with this Worker's own address. An external file, so the
// page's Content-Security-Policy needs no 'unsafe-inline'.
const snippet = `<script src="${location.origin}/embed.js" async></script>`;
document.getElementById('snippet').textContent = snippet;
document.getElementById('copy-snippet').addEventListener('click', async (event) => {
  await navigator.clipboard?.writeText(snippet);
  event.target.textContent = 'Copied';
});
