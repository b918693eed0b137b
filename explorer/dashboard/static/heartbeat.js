// One heartbeat per page: if the kernel stops answering (it died, or the server restarted it),
// say so in words and offer a reload, instead of a page that silently stops reacting.
function heartbeat(model) {
  if (window.__explorerHeartbeat) return;
  window.__explorerHeartbeat = true;
  let last = Date.now();
  model.on("msg:custom", (msg) => { if (msg.type === "pong") last = Date.now(); });
  setInterval(() => {
    if (document.hidden) { last = Date.now(); return; }
    try { model.send({ event: "ping" }); } catch (e) { /* the comm is gone: the timeout below tells */ }
    if (Date.now() - last > 12000 && !document.querySelector(".explorer-lost")) {
      const bar = document.createElement("div");
      bar.className = "explorer-lost";
      bar.setAttribute("role", "alert");
      bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:12px 16px;" +
        "background:#fff4e5;border-bottom:2px solid #b26a00;font-size:16px;color:#222";
      bar.textContent = "The dashboard lost its connection to the server (its kernel stopped). ";
      const button = document.createElement("button");
      button.textContent = "Reload the page";
      button.onclick = () => window.location.reload();
      bar.appendChild(button);
      document.body.appendChild(bar);
    }
  }, 4000);
}
